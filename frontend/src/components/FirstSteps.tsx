// A new workspace's first steps, shown to admins on the inbox until every one is done or
// the list is put away: connect e-mail, upload knowledge, connect an LLM, invite agents.
import { useEffect, useState } from "react";

import { api } from "../api/client";
import { useI18n, type Key } from "../i18n";

const DISMISSED = "copilot.firstSteps.dismissed";

type Step = { key: string; done: boolean; href: string };

export function FirstSteps() {
  const { t } = useI18n();
  const [steps, setSteps] = useState<Step[] | null>(null);
  const [dismissed, setDismissed] = useState(() => localStorage.getItem(DISMISSED) === "1");

  useEffect(() => {
    if (dismissed) return;
    void (async () => {
      const [email, documents, llm, users] = await Promise.all([
        api.GET("/v1/settings/email"),
        api.GET("/v1/knowledge/documents", { params: { query: { limit: 100 } } }),
        api.GET("/v1/settings/llm"),
        api.GET("/v1/users", { params: { query: { limit: 2 } } }),
      ]);
      setSteps([
        { key: "email", done: email.data?.sending_ready ?? false, href: "#/settings" },
        { key: "knowledge", done: documents.data?.data.some((d) => d.active_version !== undefined) ?? false, href: "#/knowledge" },
        { key: "llm", done: (llm.data?.source ?? "none") !== "none", href: "#/settings" },
        { key: "people", done: (users.data?.data.length ?? 0) > 1, href: "#/settings" },
      ]);
    })().catch(() => setSteps(null));
  }, [dismissed]);

  if (dismissed || !steps || steps.every((step) => step.done)) return null;
  return (
    <section className="first-steps" aria-labelledby="first-steps-title">
      <h2 id="first-steps-title">{t("firstSteps.title")}</h2>
      <ol>
        {steps.map((step) => (
          <li key={step.key} className={step.done ? "done" : ""}>
            <span aria-hidden="true">{step.done ? "✓" : "○"}</span>{" "}
            {step.done ? (
              <span>
                {t(`firstSteps.${step.key}` as Key)} <span className="visually-hidden">({t("firstSteps.done")})</span>
              </span>
            ) : (
              <a href={step.href}>{t(`firstSteps.${step.key}` as Key)}</a>
            )}
          </li>
        ))}
      </ol>
      <button
        type="button"
        className="link"
        onClick={() => {
          localStorage.setItem(DISMISSED, "1");
          setDismissed(true);
        }}
      >
        {t("firstSteps.dismiss")}
      </button>
    </section>
  );
}
