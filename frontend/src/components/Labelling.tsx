// Labelling the tenant's customer messages with its intents by its LLM: the latest job
// with a progress bar, what it counted and the month's cost of labelling; start one
// (scope and size), cancel it, or resume one stopped by a spent budget.
import { useCallback, useEffect, useState } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n, type Key } from "../i18n";

type Job = Schemas["LabellingOut"];
type Only = Schemas["LabellingOnly"];

/** How often the job refreshes while it runs. */
const POLL_MS = 1500;
const SCOPES: Only[] = ["unlabeled", "other", "low_confidence", "all"];

/** The latest job's progress and counts. */
export function LabellingProgress({ job }: { job: Job }) {
  const { t } = useI18n();
  const done = job.labelled + job.invalid + job.skipped;
  return (
    <div className="labelling-job">
      <p>
        <span className={`badge labelling-${job.status}`}>{t(`labelling.status.${job.status}` as Key)}</span>{" "}
        <progress max={Math.max(job.total, 1)} value={Math.min(done, job.total)} aria-label={t("labelling.progress")} />{" "}
        {done} / {job.total}
      </p>
      <p className="small">
        {t("labelling.labelled")} {job.labelled} · {t("labelling.invalid")} {job.invalid} · {t("labelling.skipped")} {job.skipped} ·{" "}
        {(job.prompt_tokens + job.completion_tokens).toLocaleString()} {t("analytics.tokens")}
      </p>
      {job.error && <p className="error small">{job.error}</p>}
    </div>
  );
}

export function Labelling() {
  const { t } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  const [cost, setCost] = useState<number | null>(null);
  const [only, setOnly] = useState<Only>("unlabeled");
  const [max, setMax] = useState("500");
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const [jobs, usage] = await Promise.all([
      api.GET("/v1/intents/labelling"),
      api.GET("/v1/usage", { params: { query: { group_by: "feature" } } }),
    ]);
    setJob(unwrap(jobs).data[0] ?? null);
    const label = unwrap(usage).groups?.find((group) => group.key === "label");
    setCost(label ? label.cost : null);
  }, []);

  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);

  const open = job?.status === "queued" || job?.status === "running";
  useEffect(() => {
    if (!open) return;
    const timer = window.setInterval(() => void load().catch(() => {}), POLL_MS);
    return () => window.clearInterval(timer);
  }, [open, load]);

  const act = async (call: () => Promise<Job>) => {
    try {
      setJob(await call());
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const start = () =>
    act(async () =>
      unwrap(await api.POST("/v1/intents/labelling", { body: { scope: { only }, max_messages: Number(max) || 0 } })),
    );
  const stop = (id: string) => act(async () => unwrap(await api.POST("/v1/intents/labelling/{id}/cancel", { params: { path: { id } } })));
  const resume = (id: string) => act(async () => unwrap(await api.POST("/v1/intents/labelling/{id}/resume", { params: { path: { id } } })));

  return (
    <section className="labelling card" aria-labelledby="labelling-title">
      <h2 id="labelling-title">{t("labelling.title")}</h2>
      <p className="muted small">{t("labelling.explain")}</p>
      {job ? <LabellingProgress job={job} /> : <p className="muted">{t("labelling.none")}</p>}
      {cost !== null && (
        <p className="small">
          {t("labelling.cost")} {cost.toLocaleString(undefined, { maximumFractionDigits: 4 })}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {job && open && (
        <button type="button" onClick={() => void stop(job.id)}>
          {t("labelling.cancel")}
        </button>
      )}
      {job && (job.status === "budget_exhausted" || job.status === "failed") && (
        <button type="button" onClick={() => void resume(job.id)}>
          {t("labelling.resume")}
        </button>
      )}
      {!open && (
        <div className="row">
          <label>
            {t("labelling.scope")}{" "}
            <select value={only} onChange={(e) => setOnly(e.target.value as Only)}>
              {SCOPES.map((scope) => (
                <option key={scope} value={scope}>
                  {t(`labelling.only.${scope}` as Key)}
                </option>
              ))}
            </select>
          </label>{" "}
          <label>
            {t("labelling.max")} <input inputMode="numeric" size={6} value={max} onChange={(e) => setMax(e.target.value)} />
          </label>{" "}
          <button type="button" className="primary" onClick={() => void start()}>
            {t("labelling.start")}
          </button>
        </div>
      )}
    </section>
  );
}
