// Ticket volume over time (split by sentiment), intents and sentiments; customer
// satisfaction and SLA attainment; draft acceptance
// and edit rates over time and by intent; this month's LLM usage and cost against the
// budgets, per feature and per profile.
// Charts are plain SVG.
import { useEffect, useState } from "react";

import { ApiError, api, unwrap, type Schemas } from "../api/client";
import { AskBox, Cards } from "../components/AskData";
import { SatisfactionReport, SlaReport } from "../components/Satisfaction";
import { intentName, useI18n, type Key } from "../i18n";

type Analytics = Schemas["DraftAnalyticsOut"];
type TicketReport = Schemas["TicketAnalyticsOut"];
type Count = Schemas["CountOut"];
type Period = Schemas["PeriodIn"];

const percent = (rate?: number) => (rate === undefined ? "–" : `${Math.round(rate * 100)}%`);

/** Stacked bars per period: unchanged, lightly edited and heavily edited approvals, rejected. */
export function RatesChart({ rows, label }: { rows: Schemas["PeriodRatesOut"][]; label: string }) {
  const width = 640;
  const height = 180;
  const max = Math.max(1, ...rows.map((row) => row.rates.drafts));
  const bar = rows.length ? Math.min(48, (width - 40) / rows.length - 6) : 0;
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height + 24}`} className="chart">
      {rows.map((row, index) => {
        const x = 30 + index * (bar + 6);
        const approved = row.rates.approved;
        const parts = [
          { value: approved * (row.rates.unchanged_rate ?? 0), className: "unchanged" },
          { value: approved * (row.rates.light_edit_rate ?? 0), className: "light" },
          { value: approved * (row.rates.heavy_edit_rate ?? 0), className: "heavy" },
          { value: row.rates.rejected, className: "rejected" },
        ];
        let y = height;
        return (
          <g key={row.start}>
            {parts.map((part) => {
              const h = (part.value / max) * (height - 10);
              y -= h;
              return <rect key={part.className} x={x} y={y} width={bar} height={h} className={part.className} />;
            })}
            <text x={x + bar / 2} y={height + 16} textAnchor="middle" className="tick">
              {row.start.slice(5, 10)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The sentiments in the order they stack, bottom up. */
const SENTIMENT_ORDER = ["negative", "neutral", "positive", "unknown"];

/** Stacked bars per period: tickets opened, split by sentiment. */
export function VolumeChart({ rows, label }: { rows: Schemas["PeriodVolumeOut"][]; label: string }) {
  const width = 640;
  const height = 180;
  const max = Math.max(1, ...rows.map((row) => row.tickets));
  const bar = rows.length ? Math.max(2, Math.min(48, (width - 40) / rows.length - 4)) : 0;
  const every = Math.max(1, Math.ceil(rows.length / 12));
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height + 24}`} className="chart">
      <text x={4} y={12} className="tick">
        {max}
      </text>
      {rows.map((row, index) => {
        const x = 30 + index * (bar + 4);
        const parts = [...row.by_sentiment].sort(
          (a, b) => SENTIMENT_ORDER.indexOf(a.key) - SENTIMENT_ORDER.indexOf(b.key),
        );
        let y = height;
        return (
          <g key={row.start}>
            <title>{`${row.start.slice(0, 10)}: ${row.tickets}`}</title>
            {parts.map((part) => {
              const h = (part.count / max) * (height - 10);
              y -= h;
              return <rect key={part.key} x={x} y={y} width={bar} height={h} className={`sentiment-fill-${part.key}`} />;
            })}
            {index % every === 0 && (
              <text x={x + bar / 2} y={height + 16} textAnchor="middle" className="tick">
                {row.start.slice(5, 10)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** Horizontal bars of counts, largest first. */
export function CountBars({ counts, label, name }: { counts: Count[]; label: string; name: (key: string) => string }) {
  const max = Math.max(1, ...counts.map((c) => c.count));
  return (
    <table className="bars" aria-label={label}>
      <tbody>
        {counts.map((c) => (
          <tr key={c.key}>
            <th scope="row">{name(c.key)}</th>
            <td>
              <span className="bar" style={{ width: `${(c.count / max) * 100}%` }} />
            </td>
            <td className="count">{c.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const money = (amount: number) => amount.toLocaleString(undefined, { maximumFractionDigits: 4 });

/** The month's LLM calls, failures, tokens and cost per feature or profile. */
export function UsageTable({ title, rows, name }: { title: string; rows: Schemas["UsageGroupOut"][]; name: (key: string) => string }) {
  const { t } = useI18n();
  if (rows.length === 0) return null;
  return (
    <table aria-label={title}>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th />
          <th>{t("analytics.calls")}</th>
          <th>{t("analytics.failedCalls")}</th>
          <th>{t("analytics.tokens")}</th>
          <th>{t("analytics.cost")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <td translate="no">{name(row.key)}</td>
            <td>{row.calls}</td>
            <td>{row.failed_calls}</td>
            <td>{row.total_tokens.toLocaleString()}</td>
            <td>{money(row.cost)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The month's LLM tokens per day as bars, each titled with its calls and cost. */
export function UsageByDay({ rows, label }: { rows: Schemas["UsageGroupOut"][]; label: string }) {
  const { t } = useI18n();
  if (rows.length === 0) return null;
  const width = 640;
  const height = 120;
  const max = Math.max(1, ...rows.map((row) => row.total_tokens));
  const step = (width - 40) / Math.max(rows.length, 1);
  const bar = Math.max(2, Math.min(32, step - 4));
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height + 32}`} className="chart">
      {rows.map((row, index) => {
        const x = 30 + index * step;
        const tall = (row.total_tokens / max) * height;
        return (
          <g key={row.key}>
            <rect x={x} y={8 + height - tall} width={bar} height={tall} className="usage-bar">
              <title>
                {`${row.key}: ${row.total_tokens.toLocaleString()} ${t("analytics.tokens")} · ${t("analytics.calls")} ${row.calls} · ${t("analytics.cost")} ${money(row.cost)}`}
              </title>
            </rect>
            {(index === 0 || index === rows.length - 1 || rows.length <= 8) && (
              <text x={x + bar / 2} y={height + 24} textAnchor="middle" className="tick">
                {row.key.slice(5)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

export function AnalyticsPage() {
  const { t, language } = useI18n();
  const [period, setPeriod] = useState<Period>("day");
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [usage, setUsage] = useState<Schemas["UsageOut"] | null>(null);
  const [byProfile, setByProfile] = useState<Schemas["UsageGroupOut"][]>([]);
  const [byDay, setByDay] = useState<Schemas["UsageGroupOut"][]>([]);
  const [tickets, setTickets] = useState<TicketReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pinned, setPinned] = useState(0);

  useEffect(() => {
    Promise.all([
      api.GET("/v1/analytics/drafts", { params: { query: { period } } }),
      api.GET("/v1/usage", { params: { query: { group_by: "feature" } } }),
      api.GET("/v1/analytics/tickets", { params: { query: { period } } }),
      api.GET("/v1/usage", { params: { query: { group_by: "profile" } } }),
      api.GET("/v1/usage", { params: { query: { group_by: "day" } } }),
    ])
      .then(([drafts, used, opened, profiles, days]) => {
        setAnalytics(unwrap(drafts));
        setUsage(unwrap(used));
        setByProfile(unwrap(profiles).groups ?? []);
        setByDay(unwrap(days).groups ?? []);
        setTickets(unwrap(opened));
        setError(null);
      })
      .catch((caught) => setError(caught instanceof ApiError ? caught.message : String(caught)));
  }, [period]);

  return (
    <section className="analytics" aria-label={t("analytics.title")}>
      <h1>{t("nav.analytics")}</h1>
      <AskBox onPinned={() => setPinned((n) => n + 1)} />
      <Cards version={pinned} />
      <label>
        {t("analytics.period")}
        <select value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
          <option value="day">{t("analytics.day")}</option>
          <option value="week">{t("analytics.week")}</option>
          <option value="month">{t("analytics.month")}</option>
        </select>
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      {tickets && (
        <>
          <h2>{t("analytics.tickets")}</h2>
          <p>
            <strong>{tickets.tickets}</strong> {t("analytics.ticketsOpened")}
          </p>
          <VolumeChart rows={tickets.by_period} label={t("analytics.volumeChart")} />
          <p className="legend small">
            {SENTIMENT_ORDER.map((key) => (
              <span key={key}>
                <span className={`swatch sentiment-fill-${key}`} /> {t(`sentiment.${key}` as Key)}{" "}
              </span>
            ))}
          </p>
          <div className="columns">
            <div>
              <h3>{t("inbox.intent")}</h3>
              <CountBars counts={tickets.by_intent} label={t("analytics.byIntent")} name={(key) => intentName(language, key)} />
            </div>
            <div>
              <h3>{t("inbox.sentiment")}</h3>
              <CountBars
                counts={tickets.by_sentiment}
                label={t("analytics.bySentiment")}
                name={(key) => t(`sentiment.${key}` as Key) ?? key}
              />
            </div>
            <div>
              <h3>{t("analytics.channel")}</h3>
              <CountBars counts={tickets.by_channel} label={t("analytics.byChannel")} name={(key) => t(`channel.${key}` as Key) ?? key} />
            </div>
          </div>
        </>
      )}
      <SatisfactionReport period={period} />
      <SlaReport period={period} />
      <h2>{t("analytics.title")}</h2>
      {analytics && (
        <>
          <dl className="totals">
            <dt>{t("analytics.drafts")}</dt>
            <dd>{analytics.totals.drafts}</dd>
            <dt>{t("analytics.acceptance")}</dt>
            <dd>{percent(analytics.totals.acceptance_rate)}</dd>
            <dt>{t("analytics.unchanged")}</dt>
            <dd>{percent(analytics.totals.unchanged_rate)}</dd>
            <dt>{t("analytics.heavy")}</dt>
            <dd>{percent(analytics.totals.heavy_edit_rate)}</dd>
          </dl>
          <RatesChart rows={analytics.by_period} label={t("analytics.chart")} />
          <p className="legend small">
            <span className="swatch unchanged" /> {t("analytics.unchanged")} <span className="swatch light" /> {t("analytics.light")}{" "}
            <span className="swatch heavy" /> {t("analytics.heavy")} <span className="swatch rejected" /> {t("analytics.rejected")}
          </p>
          <table>
            <thead>
              <tr>
                <th>{t("inbox.intent")}</th>
                <th>{t("analytics.drafts")}</th>
                <th>{t("analytics.acceptance")}</th>
                <th>{t("analytics.heavy")}</th>
              </tr>
            </thead>
            <tbody>
              {analytics.by_intent.map((row) => (
                <tr key={row.intent}>
                  <td>{intentName(language, row.intent)}</td>
                  <td>{row.rates.drafts}</td>
                  <td>{percent(row.rates.acceptance_rate)}</td>
                  <td>{percent(row.rates.heavy_edit_rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {usage && (
        <>
          <p className="muted">
            {t("analytics.usage")} {usage.month}: {usage.total_tokens.toLocaleString()}
            {usage.monthly_token_budget ? ` / ${usage.monthly_token_budget.toLocaleString()}` : ""} {t("analytics.tokens")} · {t("analytics.cost")}{" "}
            {money(usage.cost)}
            {usage.monthly_cost_budget != null ? ` / ${money(usage.monthly_cost_budget)}` : ""} · LLM {usage.llm_drafts} ·{" "}
            {t("analytics.extractive")} {usage.extractive_drafts}
          </p>
          {byDay.length > 0 && <h3>{t("analytics.usageByDay")}</h3>}
          <UsageByDay rows={byDay} label={t("analytics.usageByDay")} />
          <UsageTable title={t("analytics.byFeature")} rows={usage.groups ?? []} name={(key) => t(`models.feature.${key}` as Key)} />
          <UsageTable title={t("analytics.byProfile")} rows={byProfile} name={(key) => key} />
        </>
      )}
    </section>
  );
}
