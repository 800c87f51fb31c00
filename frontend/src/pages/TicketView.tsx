import { useCallback, useEffect, useRef, useState } from "react";

import { Composer, type ComposerMode } from "../components/Composer";
import { DraftPanel, weaklySupported } from "../components/DraftPanel";
import { useShortcuts } from "../components/Shortcuts";
import { Options, PeopleOptions, PRIORITIES, STATUSES, useAssignees } from "../components/Fields";
import { api, download, errorText, streamDraft, streamRewrite, unwrap, whoAmI, type Draft, type Message, type Schemas, type Ticket } from "../api/client";
import { fill, intentLabels, intentName, useI18n, type Key } from "../i18n";
import { useTenantEvent, useTenantEvents } from "../live";
import { duration } from "../time";
import { SlaBadge } from "../components/Sla";
import { MacroPicker } from "../components/Macros";
import { TicketFields } from "../components/TicketFields";
import { TicketSurvey } from "../components/Satisfaction";
import { MergeTicket, SplitMessage } from "../components/Regroup";

/** How often an agent on a ticket says so again (the service forgets a word after 45 s). */
const PRESENCE_EVERY_MS = 15_000;
/** Typing stops counting this long after the last keystroke. */
const TYPING_LASTS_MS = 10_000;

type Person = Schemas["PresenceOut"];

/**
 * Says that this agent is on the ticket (viewing, or typing while the composer changes)
 * and returns the other people on it, kept current by the event stream.
 */
function usePresence(id: string, typedAt: number): Person[] {
  const [people, setPeople] = useState<Person[]>([]);
  const [me, setMe] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    void whoAmI().then((found) => setMe(found?.user?.id ?? null));
  }, []);
  const typing = now - typedAt < TYPING_LASTS_MS;
  const state = typing ? "typing" : "viewing";
  useEffect(() => {
    const say = () =>
      api.PUT("/v1/tickets/{id}/presence", { params: { path: { id } }, body: { state } }).then((found) => found.data && setPeople(found.data.people));
    void say();
    const timer = window.setInterval(() => void say(), PRESENCE_EVERY_MS);
    return () => window.clearInterval(timer);
  }, [id, state]);
  // Typing ends by itself once the keys have been quiet for a while.
  useEffect(() => {
    if (!typing) return;
    const timer = window.setTimeout(() => setNow(Date.now()), TYPING_LASTS_MS - (Date.now() - typedAt) + 50);
    return () => window.clearTimeout(timer);
  }, [typing, typedAt]);
  useEffect(() => setNow(Date.now()), [typedAt]);
  useEffect(
    () => () => void api.PUT("/v1/tickets/{id}/presence", { params: { path: { id } }, body: { state: "left" } }),
    [id],
  );
  useTenantEvent((event) => {
    if (event.type !== "ticket.presence" || event.ticket_id !== id) return;
    void api.GET("/v1/tickets/{id}/presence", { params: { path: { id } } }).then((found) => found.data && setPeople(found.data.people));
  });
  return people.filter((person) => person.user_id !== me);
}

/** Who else is on the ticket, in words. */
function Presence({ people }: { people: Person[] }) {
  const { t } = useI18n();
  if (people.length === 0) return null;
  return (
    <p className="presence" role="status">
      {people.map((person) => fill(t(`presence.${person.state}` as Key), { name: person.name })).join(" · ")}
    </p>
  );
}

/** A customer message's intent, with a way to correct it (the correction trains the tenant's model). */
function IntentOf({ ticketId, message, labels, corrected }: { ticketId: string; message: Message; labels: string[]; corrected: () => void }) {
  const { t, language } = useI18n();
  const [editing, setEditing] = useState(false);
  const [choice, setChoice] = useState(message.triage?.intent?.label ?? "");
  const [error, setError] = useState<string | null>(null);
  const intent = message.triage?.intent;
  if (!intent) return null;
  const percent = Math.round((intent.confidence ?? 0) * 100);
  if (!editing) {
    return (
      <>
        <span className="badge" title={`${percent}%`}>
          {intentName(language, intent.label)} {percent}%
        </span>
        <button type="button" className="link small" onClick={() => setEditing(true)}>
          {t("ticket.correctIntent")}
        </button>
      </>
    );
  }
  const save = async () => {
    try {
      unwrap(
        await api.PATCH("/v1/tickets/{id}/messages/{message_id}/triage", {
          params: { path: { id: ticketId, message_id: message.id } },
          body: { intent: choice },
        }),
      );
      setEditing(false);
      setError(null);
      corrected();
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  return (
    <form
      className="correct"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        {t("ticket.intentIs")}{" "}
        <select value={choice} onChange={(e) => setChoice(e.target.value)}>
          {[...new Set([...labels, intent.label, "other"])].map((label) => (
            <option key={label} value={label}>
              {intentName(language, label)}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="submit" className="primary">
        {t("ticket.saveIntent")}
      </button>{" "}
      <button type="button" className="link" onClick={() => setEditing(false)}>
        {t("ticket.cancel")}
      </button>
      {error && <span className="error"> {error}</span>}
    </form>
  );
}

/** The customer, their other tickets and the latest triage with its scores. */
function Context({ ticket, open }: { ticket: Ticket; open: (id: string) => void }) {
  const { t, language } = useI18n();
  const [others, setOthers] = useState<Ticket[] | null>(null);
  useEffect(() => {
    api
      .GET("/v1/tickets", { params: { query: { customer_email: ticket.customer.email, limit: 6 } } })
      .then((found) => setOthers((found.data?.data ?? []).filter((other) => other.id !== ticket.id).slice(0, 5)));
  }, [ticket.id, ticket.customer.email]);
  return (
    <section className="context" aria-label={t("ticket.context")}>
      <p translate="no">
        <strong>{ticket.customer.name ?? ticket.customer.email}</strong>
        {ticket.customer.name && <span className="muted small"> {ticket.customer.email}</span>}
      </p>
      <p>
        {ticket.intent && <span className="badge">{intentName(language, ticket.intent)}</span>}
        {ticket.sentiment && (
          <span className={`badge sentiment-${ticket.sentiment}`}>
            {t(`sentiment.${ticket.sentiment}` as Key)}
            {ticket.sentiment_score != null && ` ${ticket.sentiment_score > 0 ? "+" : ""}${ticket.sentiment_score.toFixed(2)}`}
          </span>
        )}
        {ticket.language && <span className="badge">{ticket.language}</span>}
        {ticket.waiting_since && (
          <span className="badge">
            {t("inbox.waiting")} {duration(ticket.waiting_since, language)}
          </span>
        )}
        <SlaBadge sla={ticket.sla} />
      </p>
      <h3>{t("ticket.pastTickets")}</h3>
      {others === null ? null : others.length === 0 ? (
        <p className="muted small">{t("ticket.noPastTickets")}</p>
      ) : (
        <ul className="past">
          {others.map((other) => (
            <li key={other.id}>
              <a
                href={`#/tickets/${other.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  open(other.id);
                }}
              >
                <span translate="no">
                  #{other.number} {other.subject}
                </span>
              </a>{" "}
              <span className={`badge status-${other.status}`}>{t(`status.${other.status}` as Key)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

type Summary = Schemas["SummaryOut"];

/** A message's body with its translation into the reader's language — shown at once when
 * it was made already (asked for before, or in the background), else on request; a reply
 * sent translated shows what the agent wrote. */
export function MessageBody({ ticketId, message, reader }: { ticketId: string; message: Message; reader: string }) {
  const { t, language } = useI18n();
  const [translation, setTranslation] = useState<Schemas["MessageTranslationOut"] | null>(null);
  const [showOriginal, setShowOriginal] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const foreign = message.author === "customer" && message.triage?.language && message.triage.language !== reader;
  const translate = useCallback(async () => {
    try {
      const found = await api.GET("/v1/tickets/{id}/messages/{message_id}/translations/{lang}", {
        params: { path: { id: ticketId, message_id: message.id, lang: reader } },
      });
      setTranslation(unwrap(found));
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, [ticketId, message.id, reader]);
  const kept = message.translations.includes(reader);
  useEffect(() => {
    if (kept && translation === null) void translate();
  }, [kept, translation, translate]);
  return (
    <>
      <p className="body" translate="no">
        {translation && !showOriginal ? translation.text : message.body}
      </p>
      {foreign && !translation && (
        <button type="button" className="link small" onClick={() => void translate()}>
          {t("translation.translate")}
        </button>
      )}
      {translation && (
        <p className="small muted translated">
          {!showOriginal && translation.source_language && translation.source_language !== "und" && (
            <>
              {t("translation.translatedFrom")}{" "}
              {new Intl.DisplayNames([language === "zh" ? "zh-CN" : "en"], { type: "language" }).of(translation.source_language)}
              {" · "}
            </>
          )}
          <button type="button" className="link" onClick={() => setShowOriginal(!showOriginal)}>
            {showOriginal ? t("translation.showTranslation") : t("translation.showOriginal")}
          </button>
        </p>
      )}
      {message.original_body && (
        <details className="original small">
          <summary>{t("translation.sentTranslated")}</summary>
          <p translate="no">{message.original_body}</p>
        </details>
      )}
      {error && <p className="error small">{error}</p>}
    </>
  );
}

/** What the ticket is about, kept current by the copilot; an agent may ask for it again. */
export function SummaryCard({ summary, onRefresh }: { summary: Summary | null; onRefresh: () => void }) {
  const { t } = useI18n();
  if (!summary || summary.status === "none") {
    return (
      <p className="summary muted small">
        <button type="button" className="link" onClick={onRefresh}>
          {t("summary.make")}
        </button>
      </p>
    );
  }
  if (summary.status === "pending") return <p className="summary muted" role="status">{t("summary.pending")}</p>;
  return (
    <section className="summary card" aria-label={t("summary.title")}>
      <h2>
        {t("summary.title")}{" "}
        {summary.sentiment_trend && summary.sentiment_trend !== "unknown" && (
          <span className={`badge trend-${summary.sentiment_trend}`}>{t(`summary.trend.${summary.sentiment_trend}` as Key)}</span>
        )}
        {summary.stale && <span className="muted small"> {t("summary.updating")}</span>}
      </h2>
      {summary.text && <p className="summary-text">{summary.text}</p>}
      {summary.customer_goal && (
        <p>
          <strong>{t("summary.goal")}:</strong> {summary.customer_goal}
        </p>
      )}
      {summary.what_was_tried.length > 0 && (
        <>
          <strong>{t("summary.tried")}:</strong>
          <ul>{summary.what_was_tried.map((item, index) => <li key={index}>{item}</li>)}</ul>
        </>
      )}
      {summary.open_questions.length > 0 && (
        <>
          <strong>{t("summary.open")}:</strong>
          <ul>{summary.open_questions.map((item, index) => <li key={index}>{item}</li>)}</ul>
        </>
      )}
      <p className="muted small">
        {summary.mode === "extractive" ? t("summary.extractive") : t("summary.byAi")} · {summary.message_count}{" "}
        {t("summary.messages")}
        {summary.error && <span title={summary.error}> · {t("summary.llmFailed")}</span>}{" "}
        <button type="button" className="link" onClick={onRefresh}>
          {t("summary.refresh")}
        </button>
      </p>
    </section>
  );
}

/** Where an agent reply's sending stands, in words, with the reason when it failed. */
function DeliveryState({ delivery }: { delivery: NonNullable<Message["delivery"]> }) {
  const { t } = useI18n();
  return (
    <span className={`badge delivery-${delivery.status}`} role="status">
      {t(`delivery.${delivery.status}` as Key)}
      {delivery.status === "queued" && delivery.attempts > 0 && ` · ${t("delivery.retrying")}`}
      {delivery.last_error && delivery.status !== "sent" && `: ${delivery.last_error}`}
    </span>
  );
}

export function TicketView({ id, back, open }: { id: string; back: () => void; open: (id: string) => void }) {
  const { t, language } = useI18n();
  // Messages are translated into the language the console is shown in.
  const reader = language;
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [thread, setThread] = useState<Message[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [history, setHistory] = useState<Draft[]>([]);
  const [streaming, setStreaming] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** What the last action did, as a text key (so it follows a change of language). */
  const [notice, setNotice] = useState<Key | null>(null);
  const [mode, setMode] = useState<ComposerMode>("reply");
  const [text, setText] = useState("");
  const [fromDraft, setFromDraft] = useState<Draft | null>(null);
  const [typedAt, setTypedAt] = useState(0);
  const others = usePresence(id, typedAt);
  const people = useAssignees();
  const nameOf = (userId?: string | null) => {
    const person = people.find((p) => p.id === userId);
    return person ? (person.name ?? person.email) : null;
  };
  const [tags, setTags] = useState("");
  const streamed = useRef<string | null>(null);
  const storedTags = useRef<string | null>(null);


  const load = useCallback(async () => {
    try {
      const path = { params: { path: { id } } };
      const [found, messages, drafts, summarised] = await Promise.all([
        api.GET("/v1/tickets/{id}", path),
        api.GET("/v1/tickets/{id}/messages", { params: { path: { id }, query: { limit: 100 } } }),
        api.GET("/v1/tickets/{id}/drafts", { params: { path: { id }, query: { limit: 20 } } }),
        api.GET("/v1/tickets/{id}/summary", path),
      ]);
      setSummary(unwrap(summarised));
      const current = unwrap(found);
      setTicket(current);
      // The field follows the stored tags only when they change, so a refresh never
      // overwrites what the agent is typing.
      const stored = current.tags.join(", ");
      if (stored !== storedTags.current) {
        storedTags.current = stored;
        setTags(stored);
      }
      setThread(unwrap(messages).data);
      const [latest, ...earlier] = unwrap(drafts).data;
      setDraft(latest ?? null);
      setHistory(earlier);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, [id]);

  useEffect(() => void load(), [load]);
  useTenantEvents((event) => event.ticket_id === id && event.type !== "ticket.presence", () => void load());

  // A draft being written streams in; when it ends the stored draft replaces the text.
  useEffect(() => {
    if (draft?.status !== "generating" || streamed.current === draft.id) return;
    streamed.current = draft.id;
    setStreaming("");
    const abort = new AbortController();
    streamDraft(draft.id, (text) => setStreaming((so_far) => so_far + text), abort.signal, () => setStreaming(""))
      .then((final) => final && setDraft(final))
      // A broken stream only loses the live text: the periodic refresh still brings the draft.
      .catch(() => setStreaming(""));
    return () => abort.abort();
  }, [draft?.id, draft?.status]);

  async function act(action: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await action();
      await load();
      return true;
    } catch (caught) {
      setError(errorText(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }

  /** Sends the composer's text: a reply (approving the draft it came from, edited) or a note. */
  const send = async (kind: ComposerMode, body: string, translated: boolean) => {
    const sent = await act(async () => {
      // Sent translated: the customer gets the translation, the agent's text stays beside it.
      const translate_to = translated ? "customer" : undefined;
      if (kind === "note") {
        unwrap(await api.POST("/v1/tickets/{id}/messages", { params: { path: { id } }, body: { author: "note", body } }));
      } else if (fromDraft && draft?.id === fromDraft.id && draft.status === "ready") {
        const approval = { body, translate_to };
        unwrap(await api.POST("/v1/drafts/{id}/approve", { params: { path: { id: fromDraft.id } }, body: approval }));
      } else {
        const reply = { author: "agent" as const, body, translate_to };
        unwrap(await api.POST("/v1/tickets/{id}/messages", { params: { path: { id } }, body: reply }));
      }
    });
    if (sent) {
      setText("");
      setFromDraft(null);
      setNotice(kind === "note" ? "composer.noteAdded" : ticket?.channel === "email" ? "composer.queued" : "composer.replied");
    }
  };
  const takeDraft = (body: string) => {
    if (text.trim() && !fromDraft && !window.confirm(t("composer.replaceText"))) return;
    setMode("reply");
    setText(body);
    setFromDraft(draft);
    document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
  };
  const focusComposer = (kind: ComposerMode) => {
    setMode(kind);
    window.setTimeout(() => document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus());
  };
  useShortcuts({
    r: () => focusComposer("reply"),
    n: () => focusComposer("note"),
    e: () => draft?.status === "ready" && takeDraft(draft.body ?? ""),
    a: () => {
      if (draft?.status !== "ready") return;
      // A weakly supported draft is never sent on one key: it goes into the composer,
      // where sending asks for the second step.
      if (weaklySupported(draft)) return takeDraft(draft.body ?? "");
      void act(async () => unwrap(await api.POST("/v1/drafts/{id}/approve", { params: { path: { id: draft.id } }, body: {} }))).then(
        (sent) => sent && setNotice(ticket?.channel === "email" ? "composer.queued" : "composer.replied"),
      );
    },
    u: back,
  });
  const extractive = () =>
    act(async () => unwrap(await api.POST("/v1/tickets/{id}/drafts", { params: { path: { id } }, body: { mode: "extractive" } })));
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

  if (!ticket) {
    return <p className="muted">{error ?? "…"}</p>;
  }
  return (
    <div className="ticket">
      <section className="thread" aria-label={ticket.subject}>
        <button type="button" className="link" onClick={back}>
          ← {t("ticket.back")}
        </button>
        <h1 translate="no">
          #{ticket.number} {ticket.subject}
        </h1>
        <Presence people={others} />
        <SummaryCard
          summary={summary}
          onRefresh={() =>
            void api
              .POST("/v1/tickets/{id}/summary/refresh", { params: { path: { id } } })
              .then((asked) => setSummary(unwrap(asked)))
              .catch((caught) => setError(errorText(caught)))
          }
        />
        <div className="controls">
          <span>
            {t("ticket.customer")}:{" "}
            <span translate="no">{ticket.customer.name ? `${ticket.customer.name} <${ticket.customer.email}>` : ticket.customer.email}</span>
          </span>
          <label>
            {t("inbox.status")}
            <select value={ticket.status} onChange={(e) => void update({ status: e.target.value as Schemas["TicketStatus"] })}>
              <Options values={STATUSES} prefix="status" />
            </select>
          </label>
          <label>
            {t("inbox.priority")}
            <select value={ticket.priority} onChange={(e) => void update({ priority: e.target.value as Schemas["Priority"] })}>
              <Options values={PRIORITIES} prefix="priority" />
            </select>
          </label>
          <label>
            {t("inbox.assignee")}
            <select
              value={ticket.assignee_id ?? ""}
              // `null` unassigns; the spec types the field as a plain uuid.
              onChange={(e) => void update({ assignee_id: (e.target.value || null) as string })}
            >
              <option value="">{t("inbox.unassigned")}</option>
              <PeopleOptions people={people} />
            </select>
          </label>
          <form
            className="tags"
            onSubmit={(e) => {
              e.preventDefault();
              void update({ tags: tags.split(",").map((tag) => tag.trim()).filter(Boolean) });
            }}
          >
            <label>
              {t("ticket.tags")}
              <input value={tags} onChange={(e) => setTags(e.target.value)} size={16} />
            </label>
            <button type="submit" disabled={busy}>
              {t("ticket.saveTags")}
            </button>
          </form>
          <span className="badge">{t(`channel.${ticket.channel}` as Key)}</span>
        </div>
        <ol className="messages">
          {thread.map((m) => (
            <li key={m.id} className={`message author-${m.author}`}>
              <header>
                <strong translate="no">
                  {m.author === "customer"
                    ? (ticket.customer.name ?? ticket.customer.email)
                    : (nameOf(m.author_user_id) ?? t(`author.${m.author}` as Key))}
                </strong>{" "}
                {m.author === "note" && <span className="badge">{t("author.note")}</span>}
                <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleString()}</time>
                <IntentOf ticketId={id} message={m} labels={intentLabels()} corrected={() => void load()} />
                {m.triage?.sentiment && (
                  <span className={`badge sentiment-${m.triage.sentiment.label}`}>{t(`sentiment.${m.triage.sentiment.label}` as Key)}</span>
                )}
                {m.triage?.language && <span className="badge">{m.triage.language}</span>}
                {m.delivery && <DeliveryState delivery={m.delivery} />}
                {m.author === "customer" && !ticket.merged_into_id && <SplitMessage ticketId={id} messageId={m.id} open={open} />}
              </header>
              {m.email && (
                <p className="mail small muted" translate="no">
                  {m.email.direction === "in" ? t("ticket.mailFrom") : t("ticket.mailSent")} {m.email.from ?? ""} ·{" "}
                  <span title={m.email.message_id}>Message-ID {m.email.message_id.slice(0, 40)}</span>
                  {m.email.raw && (
                    <>
                      {" · "}
                      <button
                        type="button"
                        className="link"
                        onClick={() =>
                          void download(`/v1/tickets/${id}/messages/${m.id}/raw`, `ticket-${ticket.number}-${m.id}.eml`).catch((caught) =>
                            setError(errorText(caught)),
                          )
                        }
                      >
                        {t("ticket.rawMail")}
                      </button>
                    </>
                  )}
                </p>
              )}
              <MessageBody ticketId={id} message={m} reader={reader} />
              {m.attachments.length > 0 && (
                <ul className="attachments" aria-label={t("ticket.attachments")} translate="no">
                  {m.attachments.map((a) => (
                    <li key={a.id}>
                      📎{" "}
                      {a.stored ? (
                        <button
                          type="button"
                          className="link"
                          onClick={() =>
                            void download(`/v1/tickets/${id}/messages/${m.id}/attachments/${a.id}`, a.filename ?? a.id).catch((caught) =>
                              setError(errorText(caught)),
                            )
                          }
                        >
                          {a.filename ?? a.content_type}
                        </button>
                      ) : (
                        <span title={t("ticket.tooLarge")}>{a.filename ?? a.content_type}</span>
                      )}{" "}
                      ({Math.ceil(a.size_bytes / 1024)} KB)
                    </li>
                  ))}
                </ul>
              )}
              {m.delivery?.status === "failed" && (
                <button
                  type="button"
                  onClick={() =>
                    void act(async () =>
                      unwrap(await api.POST("/v1/tickets/{id}/messages/{message_id}/resend", { params: { path: { id, message_id: m.id } } })),
                    )
                  }
                >
                  {t("ticket.resend")}
                </button>
              )}
            </li>
          ))}
        </ol>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {notice && (
          <p role="status" className="notice">
            {t(notice)}
          </p>
        )}
        <MacroPicker
          ticketId={id}
          onApplied={(applied) => {
            setTicket(applied.ticket);
            if (applied.reply) {
              setMode("reply");
              setText((current) => (current.trim() ? `${current}\n\n${applied.reply}` : applied.reply));
            }
            setNotice("macros.applied");
          }}
        />
        <Composer
          mode={mode}
          onMode={setMode}
          text={text}
          onText={(next) => {
            setText(next);
            setTypedAt(Date.now());
          }}
          fromDraft={fromDraft}
          onDropDraft={() => {
            setFromDraft(null);
            setText("");
          }}
          busy={busy}
          onSend={(kind, body, translated) => void send(kind, body, translated)}
          onRewrite={async (tool, onPreview) => (await streamRewrite({ text, tool, ticket_id: id }, onPreview)).text}
        />
      </section>
      <div className="side">
      <Context ticket={ticket} open={open} />
      <TicketFields ticket={ticket} onSaved={setTicket} />
      <TicketSurvey ticketId={ticket.id} status={ticket.status} />
      <MergeTicket ticket={ticket} open={open} />
      <DraftPanel
        draft={draft}
        history={history}
        streaming={streaming}
        busy={busy}
        onUse={takeDraft}
        onReject={(reason) => void reject(reason)}
        onRegenerate={(instructions) => void regenerate(instructions)}
        onExtractive={() => void extractive()}
      />
      </div>
    </div>
  );
}
