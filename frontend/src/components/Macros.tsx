// Macros in the reply composer: search the macros the agent may use, preview one on this
// ticket (the reply it writes and what it changes), then apply it: the changes are made and
// the reply lands in the composer for the agent to edit and send. Nothing is sent here.
import { useEffect, useState } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { fill, useI18n, type Key } from "../i18n";

type Macro = Schemas["MacroOut"];
type Applied = Schemas["AppliedOut"];

export function MacroPicker({ ticketId, onApplied }: { ticketId: string; onApplied: (applied: Applied) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState("");
  const [macros, setMacros] = useState<Macro[] | null>(null);
  const [preview, setPreview] = useState<{ macro: Macro; applied: Applied } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    const timer = setTimeout(() => {
      api
        .GET("/v1/macros", { params: { query: { q: q.trim() || undefined } } })
        .then((found) => setMacros(unwrap(found).macros))
        .catch((caught) => setError(errorText(caught)));
    }, 150);
    return () => clearTimeout(timer);
  }, [open, q]);

  const run = async (macro: Macro, previewOnly: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const applied = unwrap(
        await api.POST("/v1/tickets/{id}/macros/{macro_id}/apply", {
          params: { path: { id: ticketId, macro_id: macro.id } },
          body: { preview: previewOnly },
        }),
      );
      if (previewOnly) {
        setPreview({ macro, applied });
      } else {
        setPreview(null);
        setOpen(false);
        onApplied(applied);
      }
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <button type="button" className="macros-open" onClick={() => setOpen(true)}>
        {t("macros.open")}
      </button>
    );
  }
  const changes = preview?.applied.changes;
  const changeList = changes
    ? [
        changes.status && fill(t("macros.change.status"), { value: t(`status.${changes.status}` as Key) }),
        changes.priority && fill(t("macros.change.priority"), { value: t(`priority.${changes.priority}` as Key) }),
        changes.assignee_id !== undefined &&
          (changes.assignee_id === null ? t("macros.change.unassign") : t("macros.change.assign")),
        changes.tags_added.length > 0 && fill(t("macros.change.addTags"), { value: changes.tags_added.join(", ") }),
        changes.tags_removed.length > 0 && fill(t("macros.change.removeTags"), { value: changes.tags_removed.join(", ") }),
      ].filter((item): item is string => Boolean(item))
    : [];
  return (
    <section className="macros" aria-label={t("macros.title")}>
      <div className="macros-bar">
        <input
          type="search"
          aria-label={t("macros.search")}
          placeholder={t("macros.search")}
          value={q}
          autoFocus
          onChange={(e) => setQ(e.target.value)}
        />
        <button type="button" onClick={() => (setOpen(false), setPreview(null))}>
          {t("macros.close")}
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {preview ? (
        <div className="macro-preview">
          <h4 translate="no">{preview.macro.name}</h4>
          {preview.applied.reply ? <pre translate="no">{preview.applied.reply}</pre> : <p className="muted small">{t("macros.noReply")}</p>}
          {changeList.length > 0 ? (
            <ul>
              {changeList.map((item) => (
                <li key={item}>{item}</li>
              ))}
            </ul>
          ) : (
            <p className="muted small">{t("macros.noChanges")}</p>
          )}
          <button type="button" disabled={busy} onClick={() => void run(preview.macro, false)}>
            {t("macros.apply")}
          </button>{" "}
          <button type="button" onClick={() => setPreview(null)}>
            {t("macros.back")}
          </button>
        </div>
      ) : macros === null ? null : macros.length === 0 ? (
        <p className="muted small">{t("macros.none")}</p>
      ) : (
        <ul className="macro-list">
          {macros.map((macro) => (
            <li key={macro.id}>
              <button type="button" disabled={busy || macro.problems.length > 0} onClick={() => void run(macro, true)}>
                <span translate="no">{macro.name}</span>
              </button>{" "}
              <span className="muted small">
                {macro.shared ? t("macros.shared") : t("macros.personal")} · {fill(t("macros.used"), { n: String(macro.usage_count) })}
              </span>
              {macro.problems.map((problem) => (
                <div key={problem} className="error small">
                  {problem}
                </div>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
