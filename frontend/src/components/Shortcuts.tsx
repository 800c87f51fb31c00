// Single-key shortcuts for working without the mouse: j/k move through the inbox, Enter
// opens, r and n start a reply or a note, e puts the draft into the composer, a approves it,
// u goes back,
// ? lists them. They never fire while typing, nor with Ctrl, Alt or Meta held, so none
// collides with the browser's own.
import { useEffect, useRef, useState } from "react";

import { useI18n, type Key } from "../i18n";

/** Runs `handlers[key]` for a plain key press outside text fields. */
export function useShortcuts(handlers: Record<string, () => void>) {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, [contenteditable='true']")) return;
      const handler = current.current[event.key];
      if (!handler) return;
      event.preventDefault();
      handler();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

const LIST: [string, Key][] = [
  ["j / k", "shortcuts.next"],
  ["Enter", "shortcuts.open"],
  ["r", "shortcuts.reply"],
  ["n", "shortcuts.note"],
  ["e", "shortcuts.useDraft"],
  ["a", "shortcuts.approve"],
  ["Ctrl+Enter", "shortcuts.send"],
  ["u", "shortcuts.back"],
  ["?", "shortcuts.help"],
];

/** The list of shortcuts, opened with `?` and closed with Escape. */
export function ShortcutHelp() {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  useShortcuts({ "?": () => setOpen(true) });
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal?.();
    if (!open && element.open) element.close();
  }, [open]);
  return (
    <dialog ref={dialog} className="shortcuts" aria-labelledby="shortcuts-title" onClose={() => setOpen(false)}>
      <h2 id="shortcuts-title">{t("shortcuts.title")}</h2>
      <dl>
        {LIST.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{t(what)}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={() => setOpen(false)}>
        {t("shortcuts.close")}
      </button>
    </dialog>
  );
}
