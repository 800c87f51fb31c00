// Customer satisfaction and service levels in the console: the ticket's survey in the
// sidebar, the survey settings, and the analytics sections (satisfaction by period, by
// AI-drafted or typed replies, by agent and intent; SLA attainment per target).
import { useEffect, useState, type FormEvent } from "react";

import { ApiError, api, errorText, unwrap, type Schemas } from "../api/client";
import { intentName, useI18n, type Key } from "../i18n";

type Survey = Schemas["SurveyOut"];
type Scores = Schemas["ScoresOut"];
type Attainment = Schemas["AttainmentOut"];

const percent = (rate?: number) => (rate === undefined ? "–" : `${Math.round(rate * 100)}%`);

/** A rating as the customer chose it: "4 / 5", or good or bad. */
export function ratingLabel(survey: Pick<Survey, "scale" | "rating">, t: (key: Key) => string): string {
  if (survey.rating === undefined) return "–";
  if (survey.scale === "two") return survey.rating === 2 ? t("csat.good") : t("csat.bad");
  return `${survey.rating} / 5`;
}

/** The ticket's survey: where it stands, the rating and comment; nothing without one. */
export function TicketSurvey({ ticketId, status }: { ticketId: string; status: string }) {
  const { t, language } = useI18n();
  const [survey, setSurvey] = useState<Survey | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .GET("/v1/tickets/{id}/csat", { params: { path: { id: ticketId } } })
      .then((found) => {
        if (!live) return;
        setSurvey(unwrap(found));
        setError(null);
      })
      .catch((caught) => {
        if (!live) return;
        // No survey (yet) is no error; anything else is said.
        setSurvey(null);
        setError(caught instanceof ApiError && caught.code === "not_found" ? null : errorText(caught));
      });
    return () => {
      live = false;
    };
  }, [ticketId, status]);
  if (error) {
    return (
      <p role="alert" className="error small">
        {t("csat.title")}: {error}
      </p>
    );
  }
  if (!survey) return null;
  const when = (at?: string) => (at ? new Date(at).toLocaleString(language) : "");
  return (
    <section className="card survey" aria-labelledby="survey-title">
      <h2 id="survey-title">{t("csat.title")}</h2>
      {survey.rating !== undefined ? (
        <>
          <p className={survey.satisfied ? "csat-good" : "csat-bad"}>
            <strong>{ratingLabel(survey, t)}</strong> {survey.satisfied ? t("csat.satisfied") : t("csat.unsatisfied")}
          </p>
          {survey.comment && (
            <blockquote translate="no" lang={survey.language}>
              {survey.comment}
            </blockquote>
          )}
          <p className="muted small">{when(survey.changed_at ?? survey.rated_at)}</p>
        </>
      ) : (
        <p className="muted">{t(`csat.stage.${survey.stage}` as Key)}</p>
      )}
      {survey.mail_error && (
        <p className="error small" translate="no">
          {survey.mail_error}
        </p>
      )}
      <p className="muted small">
        {survey.ai_drafted ? t("csat.aiDrafted") : t("csat.typed")}
        {survey.intent ? ` · ${intentName(language, survey.intent)}` : ""}
      </p>
    </section>
  );
}

/** The tenant's survey settings (admins save them). */
export function SurveySettings() {
  const { t } = useI18n();
  const [form, setForm] = useState<Schemas["CsatSettingsIn"]>({ enabled: false, scale: "five", delay_minutes: 0, link_days: 14 });
  const [publicUrl, setPublicUrl] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api
      .GET("/v1/settings/csat")
      .then((found) => {
        const settings = unwrap(found);
        setForm({ enabled: settings.enabled, scale: settings.scale, delay_minutes: settings.delay_minutes, link_days: settings.link_days });
        setPublicUrl(settings.public_url);
      })
      .catch((caught) => setError(errorText(caught)));
  }, []);
  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      unwrap(await api.PUT("/v1/settings/csat", { body: form }));
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <form className="card" onSubmit={save} aria-labelledby="csat-settings-title">
      <h2 id="csat-settings-title">{t("csat.settings")}</h2>
      <p className="muted">{t("csat.settingsHelp")}</p>
      <label className="check">
        <input type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} />
        {t("csat.enabled")}
      </label>
      <label>
        {t("csat.scale")}
        <select value={form.scale} onChange={(e) => setForm({ ...form, scale: e.target.value as Schemas["CsatScale"] })}>
          <option value="five">{t("csat.scale.five")}</option>
          <option value="two">{t("csat.scale.two")}</option>
        </select>
      </label>
      <label>
        {t("csat.delay")}
        <input type="number" min={0} max={10080} value={form.delay_minutes} onChange={(e) => setForm({ ...form, delay_minutes: Number(e.target.value) })} />
      </label>
      <label>
        {t("csat.linkDays")}
        <input type="number" min={1} max={90} value={form.link_days} onChange={(e) => setForm({ ...form, link_days: Number(e.target.value) })} />
      </label>
      {publicUrl && (
        <p className="muted small">
          {t("csat.links")} <code translate="no">{publicUrl}/survey/…</code>
        </p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {saved && <p role="status" className="muted">{t("settings.saved")}</p>}
      <button type="submit" className="primary">{t("csat.save")}</button>
    </form>
  );
}

/** Satisfaction per period as bars (the share satisfied), each titled with its responses. */
function SatisfactionChart({ rows, label }: { rows: Schemas["PeriodScoresOut"][]; label: string }) {
  const width = 640;
  const height = 120;
  const step = (width - 40) / Math.max(rows.length, 1);
  const bar = Math.max(2, Math.min(32, step - 4));
  const every = Math.max(1, Math.ceil(rows.length / 12));
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height + 28}`} className="chart">
      <text x={2} y={14} className="tick">
        100%
      </text>
      <line x1={28} x2={width} y1={8} y2={8} className="grid" />
      {rows.map((row, index) => {
        const x = 30 + index * step;
        const share = row.scores.satisfaction;
        const tall = (share ?? 0) * height;
        return (
          <g key={row.start}>
            <title>{`${row.start.slice(0, 10)}: ${percent(share)} (${row.scores.responses} / ${row.scores.requested})`}</title>
            {share !== undefined && <rect x={x} y={8 + height - tall} width={bar} height={tall} className="csat-bar" />}
            {index % every === 0 && (
              <text x={x + bar / 2} y={height + 24} textAnchor="middle" className="tick">
                {row.start.slice(5, 10)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

function ScoresTable({
  caption,
  rows,
  name,
  names,
}: {
  caption: string;
  rows: Schemas["ScoresGroupOut"][];
  name: (key: string) => string;
  /** The row names are the tenant's (people), kept as written. */
  names?: boolean;
}) {
  const { t } = useI18n();
  if (rows.length === 0) return null;
  return (
    <table aria-label={caption}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th />
          <th>{t("csat.score")}</th>
          <th>{t("csat.responses")}</th>
          <th>{t("csat.average")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <th scope="row" translate={names ? "no" : undefined}>
              {name(row.key)}
            </th>
            <td>{percent(row.scores.satisfaction)}</td>
            <td>
              {row.scores.responses} / {row.scores.requested}
            </td>
            <td>{row.scores.average?.toFixed(1) ?? "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Totals({ scores }: { scores: Scores }) {
  const { t } = useI18n();
  return (
    <dl className="totals">
      <dt>{t("csat.score")}</dt>
      <dd>{percent(scores.satisfaction)}</dd>
      <dt>{t("csat.responses")}</dt>
      <dd>
        {scores.responses} / {scores.requested}
      </dd>
      <dt>{t("csat.responseRate")}</dt>
      <dd>{percent(scores.response_rate)}</dd>
      <dt>{t("csat.average")}</dt>
      <dd>{scores.average?.toFixed(2) ?? "–"}</dd>
    </dl>
  );
}

/** The satisfaction section of the analytics page. */
export function SatisfactionReport({ period }: { period: Schemas["PeriodIn"] }) {
  const { t, language } = useI18n();
  const [report, setReport] = useState<Schemas["CsatAnalyticsOut"] | null>(null);
  const [people, setPeople] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .GET("/v1/analytics/csat", { params: { query: { period } } })
      .then((found) => {
        setReport(unwrap(found));
        setError(null);
      })
      .catch((caught) => setError(errorText(caught)));
  }, [period]);
  useEffect(() => {
    api.GET("/v1/assignees").then((found) => setPeople(Object.fromEntries((found.data ?? []).map((p) => [p.id, p.name ?? p.email]))));
  }, []);
  return (
    <section aria-labelledby="csat-report-title">
      <h2 id="csat-report-title">{t("csat.report")}</h2>
      {error && <p role="alert" className="error">{error}</p>}
      {report && report.totals.requested === 0 && <p className="muted">{t("csat.none")}</p>}
      {report && report.totals.requested > 0 && (
        <>
          <Totals scores={report.totals} />
          <SatisfactionChart rows={report.by_period} label={t("csat.chart")} />
          <div className="columns">
            <ScoresTable caption={t("csat.byReply")} rows={report.by_reply} name={(key) => (key === "ai_drafted" ? t("csat.aiDrafted") : t("csat.typed"))} />
            <ScoresTable caption={t("csat.byAgent")} names rows={report.by_agent} name={(key) => people[key] ?? (key === "unassigned" ? t("csat.unassigned") : key)} />
            <ScoresTable caption={t("csat.byIntent")} rows={report.by_intent} name={(key) => intentName(language, key)} />
          </div>
        </>
      )}
    </section>
  );
}

const KINDS = ["first_reply", "next_reply", "resolution", "all"] as const;

function AttainmentCell({ value }: { value: Attainment }) {
  const { t } = useI18n();
  return (
    <td title={`${t("slaReport.met")} ${value.met} · ${t("slaReport.breached")} ${value.breached} · ${t("slaReport.running")} ${value.running}`}>
      {percent(value.attainment)}
      <span className="muted small">
        {" "}
        ({value.met}/{value.met + value.breached})
      </span>
    </td>
  );
}

/** SLA attainment per target kind, in total and by priority and policy. */
export function SlaReport({ period }: { period: Schemas["PeriodIn"] }) {
  const { t } = useI18n();
  const [report, setReport] = useState<Schemas["SlaAnalyticsOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .GET("/v1/analytics/sla", { params: { query: { period } } })
      .then((found) => {
        setReport(unwrap(found));
        setError(null);
      })
      .catch((caught) => setError(errorText(caught)));
  }, [period]);
  const rows = report
    ? [
        { key: "all", label: t("slaReport.all"), targets: report.totals },
        ...report.by_priority.map((g) => ({ key: `priority-${g.key}`, label: t(`priority.${g.key}` as Key) ?? g.key, targets: g.targets })),
        ...report.by_policy.map((g) => ({ key: `policy-${g.key}`, label: g.key, targets: g.targets, tenant: true })),
      ]
    : [];
  return (
    <section aria-labelledby="sla-report-title">
      <h2 id="sla-report-title">{t("slaReport.title")}</h2>
      {error && <p role="alert" className="error">{error}</p>}
      {report && report.tickets === 0 && <p className="muted">{t("slaReport.none")}</p>}
      {report && report.tickets > 0 && (
        <table aria-label={t("slaReport.title")}>
          <thead>
            <tr>
              <th />
              {KINDS.map((kind) => (
                <th key={kind}>{t(`sla.kind.${kind}` as Key)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key}>
                <th scope="row" translate={"tenant" in row ? "no" : undefined}>
                  {row.label}
                </th>
                {KINDS.map((kind) => (
                  <AttainmentCell key={kind} value={row.targets[kind]} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
