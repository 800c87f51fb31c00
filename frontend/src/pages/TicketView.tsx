import { useCallback, useEffect, useRef, useState } from "react";

import { DraftPanel } from "../components/DraftPanel";
import { ApiError, api, streamDraft, unwrap, type Draft, type Message, type Schemas, type Ticket } from "../api/client";
import { useI18n, type Key } from "../i18n";

/** How often the thread and the draft refresh while the ticket is open. */
const REFRESH_MS = 3000;

function message(caught: unknown) {
  return caught instanceof ApiError ? `${caught.message} (${caught.code})` : String(caught);
}

export function TicketView({ id, back }: { id: string; back: () => void }) {
  const { t } = useI18n();
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [thread, setThread] = useState<Message[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [streaming, setStreaming] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const streamed = useRef<string | null>(null);

  const load = useCallback(async () => {
    try {
      const path = { params: { path: { id } } };
      const [found, messages, drafts] = await Promise.all([
        api.GET("/v1/tickets/{id}", path),
        api.GET("/v1/tickets/{id}/messages", { params: { path: { id }, query: { limit: 100 } } }),
        api.GET("/v1/tickets/{id}/drafts", { params: { path: { id }, query: { limit: 1 } } }),
      ]);
      setTicket(unwrap(found));
      setThread(unwrap(messages).data);
      setDraft(unwrap(drafts).data[0] ?? null);
    } catch (caught) {
      setError(message(caught));
    }
  }, [id]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  // A draft being written streams in; when it ends the stored draft replaces the text.
  useEffect(() => {
    if (draft?.status !== "generating" || streamed.current === draft.id) return;
    streamed.current = draft.id;
    setStreaming("");
    const abort = new AbortController();
    streamDraft(draft.id, (text) => setStreaming((so_far) => so_far + text), abort.signal)
      .then((final) => final && setDraft(final))
      // A broken stream only loses the live text: the periodic refresh still brings the draft.
      .catch(() => setStreaming(""));
    return () => abort.abort();
  }, [draft?.id, draft?.status]);

  async function act(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      await load();
    } catch (caught) {
      setError(message(caught));
    } finally {
      setBusy(false);
    }
  }

  const approve = (body: string) =>
    act(async () => unwrap(await api.POST("/v1/drafts/{id}/approve", { params: { path: { id: draft!.id } }, body: { body } })));
  const reject = (reason: string) =>
    act(async () => unwrap(await api.POST("/v1/drafts/{id}/reject", { params: { path: { id: draft!.id } }, body: { reason } })));
  const regenerate = (instructions: string) =>
    act(async () =>
      unwrap(
        await api.POST("/v1/tickets/{id}/drafts", {
          params: { path: { id } },
          body: { instructions: instructions.trim() || undefined },
        }),
      ),
    );
  const update = (patch: Schemas["TicketPatch"]) =>
    act(async () => unwrap(await api.PATCH("/v1/tickets/{id}", { params: { path: { id } }, body: patch })));
  const addNote = () =>
    act(async () => {
      unwrap(await api.POST("/v1/tickets/{id}/messages", { params: { path: { id } }, body: { author: "note", body: note } }));
      setNote("");
    });

  if (!ticket) {
    return <p className="muted">{error ?? "…"}</p>;
  }
  return (
    <div className="ticket">
      <section className="thread" aria-label={ticket.subject}>
        <button type="button" className="link" onClick={back}>
          ← {t("ticket.back")}
        </button>
        <h1>
          #{ticket.number} {ticket.subject}
        </h1>
        <div className="controls">
          <span>
            {t("ticket.customer")}: {ticket.customer.name ? `${ticket.customer.name} <${ticket.customer.email}>` : ticket.customer.email}
          </span>
          <label>
            {t("inbox.status")}
            <select value={ticket.status} onChange={(e) => void update({ status: e.target.value as Schemas["TicketStatus"] })}>
              {["new", "open", "pending", "solved", "closed"].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            {t("inbox.priority")}
            <select value={ticket.priority} onChange={(e) => void update({ priority: e.target.value as Schemas["Priority"] })}>
              {["low", "normal", "high", "urgent"].map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
          <span className="badge">{ticket.channel}</span>
        </div>
        <ol className="messages">
          {thread.map((m) => (
            <li key={m.id} className={`message author-${m.author}`}>
              <header>
                <strong>{t(`author.${m.author}` as Key)}</strong>{" "}
                <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleString()}</time>
                {m.triage?.intent && (
                  <span className="badge" title={`${Math.round((m.triage.intent.confidence ?? 0) * 100)}%`}>
                    {m.triage.intent.label} {Math.round((m.triage.intent.confidence ?? 0) * 100)}%
                  </span>
                )}
                {m.triage?.sentiment && (
                  <span className={`badge sentiment-${m.triage.sentiment.label}`}>{m.triage.sentiment.label}</span>
                )}
                {m.triage?.language && <span className="badge">{m.triage.language}</span>}
                {m.delivery && (
                  <span className={`badge delivery-${m.delivery.status}`} title={m.delivery.last_error ?? ""}>
                    {t("ticket.delivery")}: {m.delivery.status}
                  </span>
                )}
              </header>
              <p className="body">{m.body}</p>
              {m.attachments.length > 0 && (
                <ul className="attachments">
                  {m.attachments.map((a) => (
                    <li key={a.id}>
                      📎 {a.filename ?? a.content_type} ({Math.ceil(a.size_bytes / 1024)} KB)
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
        <form
          className="note"
          onSubmit={(e) => {
            e.preventDefault();
            void addNote();
          }}
        >
          <label>
            {t("ticket.note")}
            <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={2} />
          </label>
          <button type="submit" disabled={busy || !note.trim()}>
            {t("ticket.addNote")}
          </button>
        </form>
      </section>
      <DraftPanel
        draft={draft}
        streaming={streaming}
        busy={busy}
        error={error}
        onApprove={(body) => void approve(body)}
        onReject={(reason) => void reject(reason)}
        onRegenerate={(instructions) => void regenerate(instructions)}
      />
    </div>
  );
}
