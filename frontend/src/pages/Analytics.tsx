// Draft acceptance and edit rates over time and by intent, rejection reasons, and this
// month's LLM usage against the budget. Charts are plain SVG.
import { useEffect, useState } from "react";

import { ApiError, api, unwrap, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

type Analytics = Schemas["DraftAnalyticsOut"];
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

export function AnalyticsPage() {
  const { t } = useI18n();
  const [period, setPeriod] = useState<Period>("day");
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [usage, setUsage] = useState<Schemas["UsageOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([api.GET("/v1/analytics/drafts", { params: { query: { period } } }), api.GET("/v1/usage")])
      .then(([drafts, used]) => {
        setAnalytics(unwrap(drafts));
        setUsage(unwrap(used));
        setError(null);
      })
      .catch((caught) => setError(caught instanceof ApiError ? caught.message : String(caught)));
  }, [period]);

  return (
    <section className="analytics" aria-label={t("analytics.title")}>
      <h1>{t("analytics.title")}</h1>
      <label>
        {t("analytics.period")}
        <select value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
          <option value="day">{t("analytics.day")}</option>
          <option value="week">{t("analytics.week")}</option>
          <option value="month">{t("analytics.month")}</option>
        </select>
      </label>
      {error && <p role="alert" className="error">{error}</p>}
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
                  <td>{row.intent}</td>
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
        <p className="muted">
          {t("analytics.usage")} {usage.month}: {usage.total_tokens.toLocaleString()}
          {usage.monthly_token_budget ? ` / ${usage.monthly_token_budget.toLocaleString()}` : ""} tokens · LLM {usage.llm_drafts} ·{" "}
          {t("analytics.extractive")} {usage.extractive_drafts}
        </p>
      )}
    </section>
  );
}
