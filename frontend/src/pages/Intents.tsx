// The intent taxonomy (labels, descriptions, example messages), training the tenant's own
// intent head on it, the accuracy the training measured, and labelling messages with the LLM.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { IntentDiscovery } from "../components/IntentDiscovery";
import { IntentReview } from "../components/IntentReview";
import { IntentVersions } from "../components/IntentVersions";
import { Labelling } from "../components/Labelling";
import { setTenantIntents, useI18n, type Key } from "../i18n";

type Label = { label: string; name: string; description: string; examples: string };
type Training = Schemas["TrainingOut"];
type Weights = { admin_example: string; agent: string; llm: string };
const SOURCES: (keyof Weights)[] = ["admin_example", "agent", "llm"];
const SOURCE_NAMES: Record<keyof Weights, Key> = {
  admin_example: "versions.weightAdmin",
  agent: "versions.weightAgent",
  llm: "versions.weightLlm",
};

/** How often the training state refreshes while a job runs. */
const TRAINING_POLL_MS = 1500;

function toForm(labels: Schemas["IntentLabelIo"][]): Label[] {
  return labels.map((l) => ({
    label: l.label,
    name: l.display_name ?? "",
    description: l.description ?? "",
    examples: (l.examples ?? []).join("\n"),
  }));
}

function fromForm(labels: Label[]): Schemas["IntentLabelIo"][] {
  return labels.map((l) => ({
    label: l.label.trim(),
    display_name: l.name.trim() || undefined,
    description: l.description.trim() || undefined,
    examples: l.examples
      .split("\n")
      .map((example) => example.trim())
      .filter(Boolean),
  }));
}


export function Intents() {
  const { t } = useI18n();
  const [labels, setLabels] = useState<Label[]>([]);
  const [source, setSource] = useState("");
  const [training, setTraining] = useState<Training | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [weights, setWeights] = useState<Weights>({ admin_example: "3", agent: "3", llm: "1" });

  const loadTraining = useCallback(async () => {
    const found = await api.GET("/v1/intents/training");
    setTraining(found.response.status === 404 ? null : unwrap(found));
  }, []);

  const reload = useCallback(async () => {
    const taxonomy = unwrap(await api.GET("/v1/intents"));
    setLabels(toForm(taxonomy.labels));
    setSource(taxonomy.source);
    setTenantIntents(taxonomy.labels);
  }, []);

  useEffect(() => {
    reload().catch((caught) => setError(errorText(caught)));
    loadTraining().catch((caught) => setError(errorText(caught)));
  }, [reload, loadTraining]);

  useEffect(() => {
    if (training?.status !== "queued") return;
    const timer = window.setInterval(() => void loadTraining().catch(() => {}), TRAINING_POLL_MS);
    return () => window.clearInterval(timer);
  }, [training?.status, loadTraining]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    setError(null);
    try {
      const taxonomy = unwrap(await api.PUT("/v1/intents", { body: { labels: fromForm(labels) } }));
      setLabels(toForm(taxonomy.labels));
      setSource(taxonomy.source);
      setTenantIntents(taxonomy.labels);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function train() {
    setError(null);
    try {
      const body = {
        weights: {
          admin_example: Number(weights.admin_example),
          agent: Number(weights.agent),
          llm: Number(weights.llm),
        },
      };
      setTraining(unwrap(await api.POST("/v1/intents/train", { body })));
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  const change = (index: number, key: keyof Label) => (event: { target: { value: string } }) =>
    setLabels((current) => current.map((l, i) => (i === index ? { ...l, [key]: event.target.value } : l)));

  return (
    <section className="intents" aria-labelledby="intents-title">
      <h1 id="intents-title">{t("intents.title")}</h1>
      <p className="muted">{source === "tenant" ? t("intents.sourceTenant") : t("intents.sourceDefault")}</p>
      <div className="training" aria-live="polite">
        <h2>{t("intents.training")}</h2>
        {training ? (
          <p>
            <span className={`badge training-${training.status}`}>{t(`training.${training.status}` as Key)}</span>{" "}
            {training.cross_validated_accuracy !== undefined && (
              <strong>
                {t("intents.accuracy")}: {Math.round(training.cross_validated_accuracy * 1000) / 10}%
              </strong>
            )}{" "}
            <span className="muted">
              {training.example_count} {t("intents.examplesUsed")}
              {training.folds ? ` · ${training.folds} ${t("intents.folds")}` : ""}
              {training.active ? ` · ${t("intents.active")}` : ""}
            </span>
            {training.error && <span className="error"> {training.error}</span>}
          </p>
        ) : (
          <p className="muted">{t("intents.neverTrained")}</p>
        )}
        <fieldset className="row weights">
          <legend>{t("versions.weights")}</legend>
          {SOURCES.map((source) => (
            <label key={source}>
              {t(SOURCE_NAMES[source])}{" "}
              <input
                inputMode="decimal"
                size={4}
                value={weights[source]}
                onChange={(e) => setWeights((current) => ({ ...current, [source]: e.target.value }))}
              />
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={() => void train()} disabled={training?.status === "queued"}>
          {t("intents.train")}
        </button>
      </div>
      <IntentVersions refresh={`${training?.id ?? ""}:${training?.status ?? ""}`} />
      <Labelling />
      <IntentReview />
      <IntentDiscovery intents={labels.map((l) => l.label).filter(Boolean)} changed={() => void reload()} />
      <form onSubmit={(e) => void save(e)}>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {saved && <p role="status">{t("settings.saved")}</p>}
        <ol className="labels">
          {labels.map((l, index) => (
            <li key={index}>
              <fieldset>
                <legend>{l.label || t("intents.newLabel")}</legend>
                <label>
                  {t("intents.label")}
                  <input value={l.label} onChange={change(index, "label")} pattern="[a-z0-9_]+" required />
                </label>
                <label>
                  {t("intents.displayName")}
                  <input value={l.name} onChange={change(index, "name")} size={30} maxLength={80} />
                </label>
                <label>
                  {t("intents.description")}
                  <input value={l.description} onChange={change(index, "description")} size={40} />
                </label>
                <label>
                  {t("intents.examples")}
                  <textarea value={l.examples} onChange={change(index, "examples")} rows={3} cols={60} />
                </label>
                <button
                  type="button"
                  className="link danger"
                  onClick={() => setLabels((current) => current.filter((_, i) => i !== index))}
                >
                  {t("intents.remove")} {l.label}
                </button>
              </fieldset>
            </li>
          ))}
        </ol>
        <button type="button" onClick={() => setLabels((current) => [...current, { label: "", name: "", description: "", examples: "" }])}>
          {t("intents.add")}
        </button>{" "}
        <button type="submit">{t("intents.save")}</button>
      </form>
    </section>
  );
}
