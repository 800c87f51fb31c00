// The one place an agent writes: a reply to the customer or an internal note. A draft the
// agent chose to use arrives here for editing; sending it approves the draft with the
// edited text, and a weakly supported draft needs a second, explicit confirmation. The
// agent can always write and send a reply of their own, with or without a draft. A reply
// can be rewritten with a tool (streamed as a preview, undone with one click) and sent —
// typed or from a draft — in the customer's language.
import { useEffect, useState, type KeyboardEvent } from "react";

import { api, errorText, type Draft } from "../api/client";
import { KEYS, useI18n, type Key } from "../i18n";
import { band, weaklySupported } from "./DraftPanel";

export type ComposerMode = "reply" | "note";

type Props = {
  mode: ComposerMode;
  onMode: (mode: ComposerMode) => void;
  text: string;
  onText: (text: string) => void;
  /** The draft whose text is being edited, if the agent started from one. */
  fromDraft: Draft | null;
  onDropDraft: () => void;
  busy: boolean;
  /** `translated`: send the reply in the customer's language. */
  onSend: (mode: ComposerMode, text: string, translated: boolean) => void;
  /** The text rewritten with a tool; `onPreview` gets the text as the model writes it. */
  onRewrite: (tool: string, onPreview: (soFar: string) => void) => Promise<string>;
};

/** The rewrite tools: built in, then the tenant's own. */
function useRewriteTools(): string[] {
  const [tools, setTools] = useState<string[]>([]);
  useEffect(() => {
    api
      .GET("/v1/settings/rewrite-tools")
      .then((found) => {
        if (found.data) setTools([...found.data.built_in, ...found.data.tools.map((tool) => tool.name)]);
      })
      // Without the list the composer simply offers no rewriting.
      .catch(() => setTools([]));
  }, []);
  return tools;
}

export function Composer({ mode, onMode, text, onText, fromDraft, onDropDraft, busy, onSend, onRewrite }: Props) {
  const { t } = useI18n();
  const tools = useRewriteTools();
  const [translated, setTranslated] = useState(false);
  const [rewriting, setRewriting] = useState(false);
  // The text before the last rewrite, for undo.
  const [before, setBefore] = useState<string | null>(null);
  const [rewriteError, setRewriteError] = useState<string | null>(null);
  // The rewrite as the model writes it (shown until it is checked).
  const [preview, setPreview] = useState("");
  const rewrite = async (tool: string) => {
    if (!tool || !text.trim()) return;
    setRewriting(true);
    setPreview("");
    try {
      const result = await onRewrite(tool, setPreview);
      setBefore(text);
      onText(result);
      setRewriteError(null);
    } catch (caught) {
      setRewriteError(errorText(caught));
    } finally {
      setRewriting(false);
      setPreview("");
    }
  };
  // The draft whose weak support the agent has been warned about (the second step).
  const [warned, setWarned] = useState<string | null>(null);
  const needsConfirmation = mode === "reply" && fromDraft !== null && weaklySupported(fromDraft);
  const confirming = needsConfirmation && warned === fromDraft?.id;

  const send = () => {
    if (!text.trim() || busy) return;
    if (needsConfirmation && !confirming) {
      setWarned(fromDraft.id);
      return;
    }
    setWarned(null);
    setBefore(null);
    onSend(mode, text, translated);
  };
  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.ctrlKey && event.key === "Enter") {
      event.preventDefault();
      send();
    }
    // Escape leaves the text (kept), so the page's shortcuts work again.
    if (event.key === "Escape") event.currentTarget.blur();
  };
  const confidence = Math.round((fromDraft?.confidence ?? 0) * 100);

  return (
    <form
      className={`composer composer-${mode}`}
      aria-label={t("composer.title")}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <div className="modes" role="radiogroup" aria-label={t("composer.kind")}>
        {(["reply", "note"] as const).map((kind) => (
          <label key={kind}>
            <input type="radio" name="composer-mode" checked={mode === kind} onChange={() => onMode(kind)} />
            {t(kind === "reply" ? "composer.reply" : "composer.note")}
          </label>
        ))}
      </div>
      {fromDraft && mode === "reply" && (
        <p className={`from-draft band-${band(fromDraft.confidence ?? 0)}`}>
          {t("composer.fromDraft")} ({confidence}%){" "}
          <button type="button" className="link" onClick={onDropDraft}>
            {t("composer.dropDraft")}
          </button>
        </p>
      )}
      <label>
        <span className="visually-hidden">{t(mode === "reply" ? "composer.reply" : "composer.note")}</span>
        <textarea
          value={text}
          onChange={(e) => onText(e.target.value)}
          onKeyDown={onKey}
          rows={mode === "reply" ? 8 : 3}
          readOnly={rewriting}
          placeholder={t(mode === "reply" ? "composer.replyPlaceholder" : "composer.notePlaceholder")}
        />
      </label>
      {mode === "reply" && (
        <div className="tools">
          <label>
            {t("composer.rewrite")}{" "}
            <select value="" disabled={rewriting || !text.trim()} onChange={(e) => void rewrite(e.target.value)}>
              <option value="">{rewriting ? t("composer.rewriting") : "…"}</option>
              {tools.map((tool) => (
                <option key={tool} value={tool}>
                  {(KEYS as string[]).includes(`composer.tool.${tool}`) ? t(`composer.tool.${tool}` as Key) : tool}
                </option>
              ))}
            </select>
          </label>
          {before !== null && (
            <button
              type="button"
              className="link"
              onClick={() => {
                onText(before);
                setBefore(null);
              }}
            >
              {t("composer.undoRewrite")}
            </button>
          )}
          <label className="check">
            <input type="checkbox" checked={translated} onChange={(e) => setTranslated(e.target.checked)} />
            {t("composer.sendTranslated")}
          </label>
        </div>
      )}
      {rewriting && (
        <div className="rewrite-preview" aria-live="polite" aria-label={t("composer.rewriting")}>
          <span className="muted small">{t("composer.rewriting")}</span>
          {preview && <p>{preview}</p>}
        </div>
      )}
      {rewriteError && (
        <p role="alert" className="error small">
          {rewriteError}
        </p>
      )}
      {confirming && (
        <p role="alert" className="warning">
          {t("composer.weak")}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || !text.trim()}>
          {mode === "note" ? t("composer.addNote") : confirming ? t("composer.sendAnyway") : t("composer.send")}
        </button>
        {confirming && (
          <button type="button" onClick={() => setWarned(null)}>
            {t("composer.keepEditing")}
          </button>
        )}
      </div>
      <p className="muted small">{t("composer.shortcuts")}</p>
    </form>
  );
}
