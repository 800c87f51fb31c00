// The versions of the tenant's intent model: which one serves, how each did on held-out
// labels (macro-F1 against people's and the LLM's labels), what it was trained on and
// what the gate decided; activate a candidate or roll back to a retired version.
import { useCallback, useEffect, useState } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n, type Key } from "../i18n";

type Version = Schemas["ModelVersionOut"];

const percent = (value: number | undefined) => (value === undefined ? "–" : `${Math.round(value * 1000) / 10}%`);

/** One version's row: its state, sources, scores and the gate's words. */
export function VersionRow({ version, onActivate }: { version: Version; onActivate: (id: string) => void }) {
  const { t } = useI18n();
  const examples = version.examples;
  return (
    <tr className={`version-${version.status}`}>
      <td>
        <span className={`badge model-${version.status}`}>{t(`versions.status.${version.status}` as Key)}</span>
        <div className="small muted">
          <time dateTime={version.created_at}>{new Date(version.created_at).toLocaleString()}</time>
        </div>
      </td>
      <td className="small">
        {examples
          ? `${t("versions.admin")} ${examples.admin} · ${t("versions.agent")} ${examples.agent} · ${t("versions.llm")} ${examples.llm}`
          : "–"}
        {version.metrics?.llm_labels_set_aside ? (
          <div className="muted">
            {version.metrics.llm_labels_set_aside} {t("versions.setAside")}
          </div>
        ) : null}
      </td>
      <td>{percent(version.metrics?.macro_f1_vs_people)}</td>
      <td>{percent(version.metrics?.macro_f1_vs_llm)}</td>
      <td className="small">{version.gate ? version.gate.reason : "–"}</td>
      <td>
        {version.status !== "active" && (
          <button type="button" onClick={() => onActivate(version.id)}>
            {version.status === "retired" ? t("versions.rollBack") : t("versions.activate")}
          </button>
        )}
      </td>
    </tr>
  );
}

export function IntentVersions({ refresh }: { refresh: string }) {
  const { t } = useI18n();
  const [versions, setVersions] = useState<Version[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setVersions(unwrap(await api.GET("/v1/intents/models")).data);
  }, []);

  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load, refresh]);

  const activate = async (id: string) => {
    try {
      unwrap(await api.POST("/v1/intents/models/{id}/activate", { params: { path: { id } } }));
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  const active = versions.find((version) => version.status === "active");
  return (
    <section className="versions card" aria-labelledby="versions-title">
      <h2 id="versions-title">{t("versions.title")}</h2>
      <p className="muted small">{t("versions.explain")}</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {versions.length === 0 ? (
        <p className="muted">{t("versions.none")}</p>
      ) : (
        <>
          {active?.metrics && active.metrics.per_intent.length > 0 && (
            <details>
              <summary>{t("versions.perIntent")}</summary>
              <table>
                <thead>
                  <tr>
                    <th>{t("intents.label")}</th>
                    <th>F1</th>
                    <th>{t("versions.precision")}</th>
                    <th>{t("versions.recall")}</th>
                    <th>{t("versions.support")}</th>
                  </tr>
                </thead>
                <tbody>
                  {active.metrics.per_intent.map((score) => (
                    <tr key={score.intent}>
                      <td>{score.intent}</td>
                      <td>{percent(score.f1)}</td>
                      <td>{percent(score.precision)}</td>
                      <td>{percent(score.recall)}</td>
                      <td>{score.support}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          )}
          <table>
            <thead>
              <tr>
                <th>{t("versions.version")}</th>
                <th>{t("versions.examples")}</th>
                <th>{t("versions.vsPeople")}</th>
                <th>{t("versions.vsLlm")}</th>
                <th>{t("versions.gate")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.map((version) => (
                <VersionRow key={version.id} version={version} onActivate={(id) => void activate(id)} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
