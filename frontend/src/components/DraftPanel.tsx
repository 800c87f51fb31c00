// The draft of a ticket, to be checked before it is used: streamed while written, its
// confidence as a band, its remarks in plain words, and every source with its document,
// version and quoted passage. "Use this draft" puts the text into the composer, where the
// agent edits and sends it; a failed draft says why and offers one from the knowledge base.
import { useState, type KeyboardEvent } from "react";

import type { Citation, Draft } from "../api/client";
import { useI18n, type Key } from "../i18n";

type Props = {
  draft: Draft | null;
  /** The ticket's earlier drafts, newest first. */
  history?: Draft[];
  /** Text received so far while the draft is being written. */
  streaming: string;
  busy: boolean;
  onUse: (body: string) => void;
  onReject: (reason: string) => void;
  onRegenerate: (instructions: string) => void;
  /** Asks for a draft written from the knowledge base without the LLM. */
  onExtractive: () => void;
};

/** Confidence at or above which a draft is `high`, and below which it is `low`. */
export const CONFIDENCE_HIGH = 0.75;
export const CONFIDENCE_LOW = 0.5;

export type Band = "high" | "medium" | "low";

export function band(confidence: number): Band {
  return confidence >= CONFIDENCE_HIGH ? "high" : confidence >= CONFIDENCE_LOW ? "medium" : "low";
}

/** Remarks that mean the knowledge base does not back the draft. */
const UNSUPPORTED = ["no_relevant_knowledge", "knowledge_does_not_answer"];

/** Whether sending the draft needs a second, explicit step. */
export function weaklySupported(draft: Draft): boolean {
  return band(draft.confidence ?? 0) === "low" || draft.notes.some((note) => UNSUPPORTED.includes(note));
}

/** Punctuation a citation mark goes after when it ends the cited sentence. */
const CLOSING = /^[.!?;:,。！？；：，)）"”']+/;

/**
 * The draft's text cut where citations belong: strings, and between them the numbers
 * (1-based, in source order) of the sources cited by the sentence just before. A citation
 * whose sentence is not in the text (an older draft) gets no mark.
 */
export function citationMarks(body: string, citations: Pick<Citation, "sentence">[]): (string | number[])[] {
  const at = new Map<number, number[]>();
  citations.forEach((citation, index) => {
    const sentence = citation.sentence?.trim();
    if (!sentence) return;
    const start = body.indexOf(sentence);
    if (start < 0) return;
    let end = start + sentence.length;
    end += CLOSING.exec(body.slice(end))?.[0].length ?? 0;
    at.set(end, [...(at.get(end) ?? []), index + 1]);
  });
  const parts: (string | number[])[] = [];
  let from = 0;
  for (const end of [...at.keys()].sort((a, b) => a - b)) {
    parts.push(body.slice(from, end), at.get(end) ?? []);
    from = end;
  }
  parts.push(body.slice(from));
  return parts.filter((part) => part !== "");
}

/** The draft's text with a numbered mark after each cited sentence; a mark leads to its source. */
function CitedText({ draft }: { draft: Draft }) {
  const { t } = useI18n();
  const parts = citationMarks(draft.body ?? "", draft.citations);
  return (
    <div className="body" aria-label={t("draft.text")} translate="no">
      {parts.map((part, index) =>
        typeof part === "string" ? (
          part
        ) : (
          <span key={index} className="chips">
            {part.map((number) => (
              <button
                key={number}
                type="button"
                className="chip"
                aria-label={`${t("draft.source")} ${number}: ${draft.citations[number - 1]?.title ?? ""}`}
                onClick={() => document.getElementById(`source-${draft.id}-${number}`)?.focus()}
              >
                {number}
              </button>
            ))}
          </span>
        ),
      )}
    </div>
  );
}

export function DraftPanel({ draft, history = [], streaming, busy, onUse, onReject, onRegenerate, onExtractive }: Props) {
  const { t } = useI18n();
  const [reason, setReason] = useState("");
  const [instructions, setInstructions] = useState("");
  const [rejecting, setRejecting] = useState<string | null>(null);

  const decidable = draft?.status === "ready";
  const onKey = (event: KeyboardEvent) => {
    if (event.ctrlKey && event.shiftKey && event.key.toLowerCase() === "r") {
      event.preventDefault();
      onRegenerate(instructions);
    }
  };
  const confidence = draft?.confidence ?? 0;
  const shownNotes = remarks(draft?.notes ?? []);

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
        <div role="alert" className="error">
          <p>
            {t("draft.failed")}: {draft.error ?? t("draft.unknownError")}
          </p>
          <p>{t("draft.failedHelp")}</p>
          <button type="button" className="primary" disabled={busy} onClick={onExtractive}>
            {t("draft.extractive")}
          </button>
        </div>
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
          <p className={`confidence band-${band(confidence)}`}>
            <strong>{t(`draft.band.${band(confidence)}` as Key)}</strong> ({Math.round(confidence * 100)}%) ·{" "}
            {draft.mode === "llm" ? (
              <>
                {t("draft.byLlm")} {draft.model && <span translate="no">{draft.model}</span>}
              </>
            ) : (
              t("draft.byKnowledge")
            )}
          </p>
          {shownNotes.length > 0 && (
            <ul className="notes" aria-label={t("draft.remarks")}>
              {shownNotes.map((note) => (
                <li key={note}>{t(`note.${note}` as Key)}</li>
              ))}
            </ul>
          )}
          <CitedText draft={draft} />
          {draft.citations.length > 0 && (
            <section className="sources">
              <h3>{t("draft.sources")}</h3>
              <ol>
                {draft.citations.map((citation, index) => (
                  <li key={citation.chunk_id} id={`source-${draft.id}-${index + 1}`} tabIndex={-1}>
                    <p className="source-title" translate="no">
                      <strong>{citation.title}</strong>
                      {citation.heading ? ` › ${citation.heading}` : ""}{" "}
                      <span className="muted small">
                        {t("draft.version")} {citation.document_version}
                      </span>
                    </p>
                    <blockquote translate="no">{citation.quote}</blockquote>
                  </li>
                ))}
              </ol>
            </section>
          )}
        </>
      )}
      {decidable && draft && (
        <div className="actions">
          <button type="button" className={weaklySupported(draft) ? "" : "primary"} disabled={busy} onClick={() => onUse(draft.body ?? "")}>
            {t("draft.use")}
          </button>
          {rejecting === draft.id ? (
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
            <button type="button" disabled={busy} onClick={() => setRejecting(draft.id)}>
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
      {history.length > 0 && (
        <details className="history">
          <summary>
            {t("draft.history")} ({history.length})
          </summary>
          <ol>
            {history.map((earlier) => (
              <li key={earlier.id}>
                <span className={`badge draft-${earlier.status}`}>{t(`draftStatus.${earlier.status}` as Key)}</span>{" "}
                <time dateTime={earlier.created_at} className="muted small">
                  {new Date(earlier.created_at).toLocaleString()}
                </time>
                {earlier.rejection_reason && <span className="small"> · {earlier.rejection_reason}</span>}
                {earlier.error && <span className="small error"> · {earlier.error}</span>}
                {earlier.body && <p className="small" translate="no">{earlier.body.slice(0, 200)}{earlier.body.length > 200 ? "…" : ""}</p>}
              </li>
            ))}
          </ol>
        </details>
      )}
      <p className="muted small">{t("draft.shortcuts")}</p>
    </aside>
  );
}

/** The notes to show: when the LLM itself found no answer, that says more than "nothing
 * matches well", which the API also notes. */
function remarks(notes: string[]): string[] {
  return notes.includes("knowledge_does_not_answer")
    ? notes.filter((note) => note !== "no_relevant_knowledge")
    : notes;
}
