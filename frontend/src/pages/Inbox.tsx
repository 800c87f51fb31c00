import { useCallback, useEffect, useState } from "react";

import { ApiError, api, unwrap, type Schemas, type Ticket } from "../api/client";
import { useI18n } from "../i18n";

type Filters = {
  q: string;
  status: Schemas["TicketStatus"] | "";
  priority: Schemas["Priority"] | "";
  sentiment: string;
  language: string;
  intent: string;
};

const EMPTY: Filters = { q: "", status: "", priority: "", sentiment: "", language: "", intent: "" };
const STATUSES: Schemas["TicketStatus"][] = ["new", "open", "pending", "solved", "closed"];
const PRIORITIES: Schemas["Priority"][] = ["urgent", "high", "normal", "low"];
/** How often the inbox refreshes itself. */
const REFRESH_MS = 5000;

function query(filters: Filters, cursor?: string) {
  return {
    q: filters.q || undefined,
    status: filters.status || undefined,
    priority: filters.priority || undefined,
    sentiment: filters.sentiment || undefined,
    language: filters.language || undefined,
    intent: filters.intent || undefined,
    limit: 50,
    cursor,
  };
}

export function Inbox({ open }: { open: (id: string) => void }) {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters) } }));
      setTickets(page.data);
      setNext(page.next_cursor);
      setError(null);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  }, [filters]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  async function more() {
    if (!next) return;
    const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters, next) } }));
    setTickets((shown) => [...shown, ...page.data]);
    setNext(page.next_cursor);
  }

  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setFilters((current) => ({ ...current, [key]: event.target.value }));

  return (
    <section className="inbox" aria-label={t("nav.inbox")}>
      <div className="filters">
        <input type="search" placeholder={t("inbox.search")} aria-label={t("inbox.search")} value={filters.q} onChange={set("q")} />
        <label>
          {t("inbox.status")}
          <select value={filters.status} onChange={set("status")}>
            <option value="">{t("inbox.any")}</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          {t("inbox.priority")}
          <select value={filters.priority} onChange={set("priority")}>
            <option value="">{t("inbox.any")}</option>
            {PRIORITIES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          {t("inbox.sentiment")}
          <select value={filters.sentiment} onChange={set("sentiment")}>
            <option value="">{t("inbox.any")}</option>
            <option>negative</option>
            <option>neutral</option>
            <option>positive</option>
          </select>
        </label>
        <label>
          {t("inbox.language")}
          <input size={4} value={filters.language} onChange={set("language")} />
        </label>
        <label>
          {t("inbox.intent")}
          <input size={12} value={filters.intent} onChange={set("intent")} />
        </label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {tickets.length === 0 && !error ? (
        <p className="empty">{t("inbox.empty")}</p>
      ) : (
        <table className="tickets">
          <tbody>
            {tickets.map((ticket) => (
              <tr key={ticket.id} onClick={() => open(ticket.id)} className={`priority-${ticket.priority}`}>
                <td className="number">#{ticket.number}</td>
                <td>
                  <a href={`#/tickets/${ticket.id}`} onClick={(e) => e.stopPropagation()}>
                    {ticket.subject}
                  </a>
                  <div className="muted">{ticket.customer.name ?? ticket.customer.email}</div>
                </td>
                <td>
                  <span className={`badge status-${ticket.status}`}>{ticket.status}</span>
                </td>
                <td>
                  <span className="badge">{ticket.priority}</span>
                </td>
                <td>
                  {ticket.intent && <span className="badge">{ticket.intent}</span>}
                  {ticket.sentiment && <span className={`badge sentiment-${ticket.sentiment}`}>{ticket.sentiment}</span>}
                  {ticket.language && <span className="badge">{ticket.language}</span>}
                </td>
                <td className="muted">{new Date(ticket.updated_at).toLocaleString()}</td>
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
