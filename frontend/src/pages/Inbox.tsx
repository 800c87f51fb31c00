import { useCallback, useEffect, useRef, useState } from "react";

import { ApiError, api, errorText, unwrap, type Schemas, type Ticket } from "../api/client";
import { intentName, useI18n, type Key } from "../i18n";
import { Options, PeopleOptions, PRIORITIES, STATUSES, Tags, useAssignees } from "../components/Fields";
import { useShortcuts } from "../components/Shortcuts";
import { useTenantEvents } from "../live";

type Sort = "newest" | "oldest" | "updated";
type Filters = {
  q: string;
  status: Schemas["TicketStatus"] | "";
  priority: Schemas["Priority"] | "";
  sentiment: string;
  language: string;
  intent: string;
  tag: string;
  /** "", "mine", "unassigned" or a user id. */
  assignee: string;
  sort: Sort;
};

const EMPTY: Filters = {
  q: "",
  status: "",
  priority: "",
  sentiment: "",
  language: "",
  intent: "",
  tag: "",
  assignee: "",
  sort: "newest",
};
const SORTS: Sort[] = ["newest", "oldest", "updated"];
/** Events that change what the inbox shows. */
const INBOX_EVENTS = new Set(["ticket.created", "ticket.updated", "message.created", "triage.completed"]);

/** A page of the inbox; a refresh reloads as many tickets as are shown (up to the API's 100). */
const PAGE = 50;

function query(filters: Filters, me: string | undefined, cursor?: string, limit = PAGE) {
  const assignee = filters.assignee === "mine" ? me : filters.assignee === "unassigned" ? "" : filters.assignee;
  return {
    q: filters.q || undefined,
    status: filters.status || undefined,
    priority: filters.priority || undefined,
    sentiment: filters.sentiment || undefined,
    language: filters.language || undefined,
    intent: filters.intent || undefined,
    tag: filters.tag || undefined,
    assignee_id: assignee || undefined,
    unassigned: filters.assignee === "unassigned" ? true : undefined,
    sort: filters.sort,
    limit,
    cursor,
  };
}

export function Inbox({ open }: { open: (id: string) => void }) {
  const { t, language } = useI18n();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [loading, setLoading] = useState(true);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [me, setMe] = useState<string | undefined>();
  const people = useAssignees();

  useEffect(() => {
    api.GET("/v1/me").then((found) => setMe(found.data?.user?.id));
  }, []);

  // Only the newest request may show its answer (typing sends one per key).
  const sequence = useRef(0);
  const shown = useRef(0);

  /** Loads the first page, or on a refresh as many tickets as are shown. */
  const load = useCallback(
    async (refresh: boolean) => {
      if (filters.assignee === "mine" && !me) return;
      const mine = ++sequence.current;
      const limit = refresh ? Math.min(100, Math.max(PAGE, shown.current)) : PAGE;
      if (!refresh) setLoading(true);
      try {
        const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters, me, undefined, limit) } }));
        if (mine !== sequence.current) return;
        shown.current = page.data.length;
        setTickets(page.data);
        setNext(page.next_cursor);
        setError(null);
      } catch (caught) {
        if (mine === sequence.current) setError(errorText(caught));
      } finally {
        if (mine === sequence.current) setLoading(false);
      }
    },
    [filters, me],
  );

  useEffect(() => void load(false), [load]);
  const live = useTenantEvents((event) => INBOX_EVENTS.has(event.type), () => void load(true));

  async function more() {
    if (!next) return;
    const mine = ++sequence.current;
    try {
      const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters, me, next) } }));
      if (mine !== sequence.current) return;
      setTickets((current) => {
        shown.current = current.length + page.data.length;
        return [...current, ...page.data];
      });
      setNext(page.next_cursor);
    } catch (caught) {
      if (mine === sequence.current) setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  }

  // j/k move through the list; the chosen ticket's link takes the focus, so Enter opens it.
  const [selected, setSelected] = useState(-1);
  const select = (step: number) => {
    if (tickets.length === 0) return;
    const index = Math.min(tickets.length - 1, Math.max(0, selected + step));
    setSelected(index);
    document.querySelectorAll<HTMLAnchorElement>(".tickets tbody a")[index]?.focus();
  };
  useShortcuts({ j: () => select(1), k: () => select(-1) });

  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setFilters((current) => ({ ...current, [key]: event.target.value }));
  const name = (id?: string) => {
    const person = people.find((p) => p.id === id);
    return person ? (person.name ?? person.email) : undefined;
  };

  return (
    <section className="inbox" aria-labelledby="inbox-title">
      <div className="heading">
        <h1 id="inbox-title">{t("nav.inbox")}</h1>
        <span className={`live ${live ? "on" : "off"}`} role="status">
          {live ? t("inbox.live") : t("inbox.offline")}
        </span>
      </div>
      <div className="filters">
        <input type="search" placeholder={t("inbox.search")} aria-label={t("inbox.search")} value={filters.q} onChange={set("q")} />
        <label>
          {t("inbox.status")}
          <select value={filters.status} onChange={set("status")}>
            <option value="">{t("inbox.any")}</option>
            <Options values={STATUSES} prefix="status" />
          </select>
        </label>
        <label>
          {t("inbox.priority")}
          <select value={filters.priority} onChange={set("priority")}>
            <option value="">{t("inbox.any")}</option>
            <Options values={PRIORITIES} prefix="priority" />
          </select>
        </label>
        <label>
          {t("inbox.assignee")}
          <select value={filters.assignee} onChange={set("assignee")}>
            <option value="">{t("inbox.anyone")}</option>
            <option value="mine">{t("inbox.mine")}</option>
            <option value="unassigned">{t("inbox.unassigned")}</option>
            <PeopleOptions people={people} />
          </select>
        </label>
        <label>
          {t("inbox.sentiment")}
          <select value={filters.sentiment} onChange={set("sentiment")}>
            <option value="">{t("inbox.any")}</option>
            <option value="negative">{t("sentiment.negative")}</option>
            <option value="neutral">{t("sentiment.neutral")}</option>
            <option value="positive">{t("sentiment.positive")}</option>
          </select>
        </label>
        <label>
          {t("inbox.intent")}
          <input size={10} value={filters.intent} onChange={set("intent")} />
        </label>
        <label>
          {t("inbox.tag")}
          <input size={8} value={filters.tag} onChange={set("tag")} />
        </label>
        <label>
          {t("inbox.language")}
          <input size={3} value={filters.language} onChange={set("language")} />
        </label>
        <label>
          {t("inbox.sort")}
          <select value={filters.sort} onChange={set("sort")}>
            <Options values={SORTS} prefix="sort" />
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {loading && tickets.length === 0 ? (
        <p className="empty" role="status">
          {t("inbox.loading")}
        </p>
      ) : tickets.length === 0 && !error ? (
        <p className="empty">{t("inbox.empty")}</p>
      ) : (
        <table className="tickets">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">{t("inbox.subject")}</th>
              <th scope="col">{t("inbox.status")}</th>
              <th scope="col">{t("inbox.priority")}</th>
              <th scope="col">{t("inbox.triage")}</th>
              <th scope="col">{t("inbox.assignee")}</th>
              <th scope="col">{t("inbox.updated")}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((ticket, index) => (
              <tr
                key={ticket.id}
                onClick={() => open(ticket.id)}
                className={`priority-${ticket.priority}${index === selected ? " selected" : ""}`}
              >
                <td className="number">#{ticket.number}</td>
                <td>
                  <a href={`#/tickets/${ticket.id}`} onClick={(e) => e.stopPropagation()}>
                    {ticket.subject}
                  </a>
                  <div className="muted">
                    {ticket.customer.name ?? ticket.customer.email}
                    <Tags tags={ticket.tags} />
                  </div>
                </td>
                <td>
                  <span className={`badge status-${ticket.status}`}>{t(`status.${ticket.status}` as Key)}</span>
                </td>
                <td>
                  <span className="badge">{t(`priority.${ticket.priority}` as Key)}</span>
                </td>
                <td>
                  {ticket.intent && <span className="badge">{intentName(language, ticket.intent)}</span>}
                  {ticket.sentiment && (
                    <span className={`badge sentiment-${ticket.sentiment}`}>{t(`sentiment.${ticket.sentiment}` as Key)}</span>
                  )}
                  {ticket.language && <span className="badge">{ticket.language}</span>}
                </td>
                <td className="muted">{name(ticket.assignee_id) ?? "—"}</td>
                <td className="muted">
                  <time dateTime={ticket.updated_at}>{new Date(ticket.updated_at).toLocaleString()}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void more()}>
          {t("inbox.more")}
        </button>
      )}
    </section>
  );
}
