// The draft of a ticket: streamed while written, its confidence, mode and sources; edit in
// place, approve and send, reject with a reason, regenerate with instructions.
import { useEffect, useState, type KeyboardEvent } from "react";

import type { Draft } from "../api/client";
import { useI18n } from "../i18n";

type Props = {
  draft: Draft | null;
  /** Text received so far while the draft is being written. */
  streaming: string;
  busy: boolean;
  error: string | null;
  onApprove: (body: string) => void;
  onReject: (reason: string) => void;
  onRegenerate: (instructions: string) => void;
};

export function DraftPanel({ draft, streaming, busy, error, onApprove, onReject, onRegenerate }: Props) {
  const { t } = useI18n();
  const [body, setBody] = useState(draft?.body ?? "");
  const [reason, setReason] = useState("");
  const [instructions, setInstructions] = useState("");
  const [rejecting, setRejecting] = useState(false);

  useEffect(() => {
    setBody(draft?.body ?? "");
    setRejecting(false);
  }, [draft?.id, draft?.body]);

  const decidable = draft?.status === "ready";
  const onKey = (event: KeyboardEvent) => {
    if (event.ctrlKey && event.key === "Enter" && decidable && body.trim()) {
      event.preventDefault();
      onApprove(body);
    }
    if (event.ctrlKey && event.shiftKey && event.key.toLowerCase() === "r") {
      event.preventDefault();
      onRegenerate(instructions);
    }
  };

  return (
    <aside className="draft" aria-label={t("draft.title")} onKeyDown={onKey}>
      <h2>{t("draft.title")}</h2>
      {!draft && <p className="muted">{t("draft.none")}</p>}
      {draft?.status === "generating" && (
        <div className="generating" aria-live="polite">
          <p className="muted">{t("draft.generating")}</p>
          {streaming && <pre className="stream">{streaming}</pre>}
        </div>
      )}
      {draft?.status === "failed" && (
        <p role="alert" className="error">
          {t("draft.failed")}: {draft.error}
        </p>
      )}
      {draft?.status === "superseded" && <p className="notice">{t("draft.superseded")}</p>}
      {draft?.status === "approved" && <p className="notice">{t("draft.approved")}</p>}
      {draft?.status === "rejected" && (
        <p className="notice">
          {t("draft.rejected")}: {draft.rejection_reason}
        </p>
      )}
      {draft && draft.status !== "generating" && draft.body !== undefined && (
        <>
          <dl className="meta">
            <dt>{t("draft.confidence")}</dt>
            <dd>
              <meter min={0} max={1} value={draft.confidence ?? 0} aria-label={t("draft.confidence")} />{" "}
              {Math.round((draft.confidence ?? 0) * 100)}%
            </dd>
            <dt>{t("draft.mode")}</dt>
            <dd>
              {draft.mode}
              {draft.model ? ` · ${draft.model}` : ""}
            </dd>
          </dl>
          {draft.notes.length > 0 && (
            <ul className="notes">
              {draft.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
          <label className="body">
            <span className="visually-hidden">{t("draft.title")}</span>
            <textarea value={body} onChange={(e) => setBody(e.target.value)} readOnly={!decidable} rows={10} />
          </label>
          {draft.citations.length > 0 && (
            <section className="sources">
              <h3>{t("draft.sources")}</h3>
              <ol>
                {draft.citations.map((citation) => (
                  <li key={citation.chunk_id}>
                    <details>
                      <summary>{citation.title}</summary>
                      <blockquote>{citation.quote}</blockquote>
                    </details>
                  </li>
                ))}
              </ol>
            </section>
          )}
        </>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {decidable && (
        <div className="actions">
          <button type="button" className="primary" disabled={busy || !body.trim()} onClick={() => onApprove(body)}>
            {t("draft.approve")}
          </button>
          {rejecting ? (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                onReject(reason);
              }}
            >
              <input aria-label={t("draft.reason")} placeholder={t("draft.reason")} value={reason} onChange={(e) => setReason(e.target.value)} required />
              <button type="submit" disabled={busy || !reason.trim()}>
                {t("draft.reject")}
              </button>
            </form>
          ) : (
            <button type="button" disabled={busy} onClick={() => setRejecting(true)}>
              {t("draft.reject")}
            </button>
          )}
        </div>
      )}
      <div className="regenerate">
        <input aria-label={t("draft.instructions")} placeholder={t("draft.instructions")} value={instructions} onChange={(e) => setInstructions(e.target.value)} />
        <button type="button" disabled={busy} onClick={() => onRegenerate(instructions)}>
          {t("draft.regenerate")}
        </button>
      </div>
      <p className="muted small">{t("draft.shortcuts")}</p>
    </aside>
  );
}
