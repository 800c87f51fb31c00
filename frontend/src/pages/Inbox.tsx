import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { api, errorText, unwrap, whoAmI, type Schemas, type Ticket } from "../api/client";
import { fill, intentName, useI18n, type Key } from "../i18n";
import { Options, PeopleOptions, PRIORITIES, STATUSES, Tags, useAssignees } from "../components/Fields";
import { useShortcuts } from "../components/Shortcuts";
import { useTenantEvents } from "../live";
import { SlaBadge } from "../components/Sla";
import { duration } from "../time";

export { duration };

type Sort = Schemas["TicketSort"];
/** A view of the inbox: built in (its id names it) or saved (its name, its order). */
type View = {
  id: string;
  count: number;
  filter: Record<string, string | boolean | undefined> & { sentiment?: Schemas["Sentiment"] };
  name?: string;
  sort?: Sort;
};
type Filters = {
  q: string;
  status: Schemas["TicketStatus"] | "";
  priority: Schemas["Priority"] | "";
  sentiment: Schemas["Sentiment"] | "";
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
const SORTS: Sort[] = ["newest", "oldest", "updated", "priority", "waiting", "sentiment", "due"];
/** Events that change what the inbox shows. */
const INBOX_EVENTS = new Set([
  "ticket.created",
  "ticket.updated",
  "message.created",
  "triage.completed",
  "draft.ready",
  "draft.approved",
  "draft.rejected",
  "sla.warning",
  "sla.breached",
]);

/** A page of the inbox; a refresh reloads as many tickets as are shown (up to the API's 100). */
const PAGE = 50;

/** The query of a listing: the chosen view's filter, narrowed by the filters set by hand. */
function query(filters: Filters, view: View | undefined, me: string | undefined, cursor?: string, limit = PAGE) {
  const assignee = filters.assignee === "mine" ? me : filters.assignee === "unassigned" ? "" : filters.assignee;
  const byHand = Boolean(filters.assignee);
  return {
    ...view?.filter,
    ...(byHand ? { assignee_id: undefined, unassigned: undefined } : {}),
    q: filters.q || undefined,
    status: filters.status || undefined,
    priority: filters.priority || undefined,
    sentiment: filters.sentiment || view?.filter.sentiment || undefined,
    language: filters.language || undefined,
    intent: filters.intent || undefined,
    tag: filters.tag || undefined,
    ...(byHand
      ? { assignee_id: assignee || undefined, unassigned: filters.assignee === "unassigned" ? true : undefined }
      : {}),
    sort: filters.sort,
    limit,
    cursor,
  };
}

/** The built-in views, then the saved ones, with their counts, refreshed with the list. */
function useViews(): [View[], () => void] {
  const [views, setViews] = useState<View[]>([]);
  const load = useCallback(() => {
    Promise.all([api.GET("/v1/tickets/views"), api.GET("/v1/views")]).then(([builtIn, saved]) => {
      const savedViews: View[] = (saved.data?.views ?? []).map((view) => {
        const { sort, ...filter } = view.query;
        return { id: `saved:${view.id}`, count: view.count, filter, name: view.name, sort: sort as Sort };
      });
      setViews([...(builtIn.data?.views ?? []), ...savedViews]);
    });
  }, []);
  useEffect(load, [load]);
  return [views, load];
}

/** Saves the filters set by hand as the agent's own view. */
function SaveView({ filters, saved }: { filters: Filters; saved: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const assignee = filters.assignee === "mine" ? "me" : filters.assignee === "unassigned" ? "nobody" : filters.assignee;
    try {
      unwrap(
        await api.POST("/v1/views", {
          body: {
            name: name.trim(),
            sort: filters.sort,
            filter: {
              q: filters.q || undefined,
              status: filters.status || undefined,
              priority: filters.priority || undefined,
              sentiment: filters.sentiment || undefined,
              language: filters.language || undefined,
              intent: filters.intent || undefined,
              tag: filters.tag || undefined,
              assignee: assignee || undefined,
            },
          },
        }),
      );
      setName("");
      saved();
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  return (
    <form className="save-view" onSubmit={(e) => void save(e)}>
      <input aria-label={t("inbox.viewName")} placeholder={t("inbox.viewName")} value={name} onChange={(e) => setName(e.target.value)} />
      <button type="submit" disabled={!name.trim()}>
        {t("inbox.saveView")}
      </button>
      {error && (
        <span role="alert" className="error">
          {" "}
          {error}
        </span>
      )}
    </form>
  );
}

/** Changes every selected ticket at once: assignee, status, a tag. */
function BulkBar({ ids, people, done }: { ids: string[]; people: Schemas["AssigneeOut"][]; done: (changed: number) => void }) {
  const { t } = useI18n();
  const [assignee, setAssignee] = useState("");
  const [status, setStatus] = useState("");
  const [tag, setTag] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nothing = !assignee && !status && !tag.trim();
  const apply = async () => {
    setBusy(true);
    setError(null);
    try {
      const body: Schemas["TicketBulkIn"] = {
        ticket_ids: ids,
        status: (status || undefined) as Schemas["TicketStatus"] | undefined,
        // "none" unassigns; the spec types the field as a plain uuid.
        assignee_id: (assignee === "none" ? null : assignee || undefined) as string | undefined,
        add_tags: tag.trim() ? [tag.trim()] : [],
        remove_tags: [],
      };
      const changed = unwrap(await api.POST("/v1/tickets/bulk", { body }));
      setAssignee("");
      setStatus("");
      setTag("");
      done(changed.tickets.length);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="bulk"
      aria-label={t("bulk.title")}
      onSubmit={(e) => {
        e.preventDefault();
        void apply();
      }}
    >
      <strong role="status">{fill(t("bulk.selected"), { n: ids.length })}</strong>
      <label>
        {t("bulk.assign")}
        <select value={assignee} onChange={(e) => setAssignee(e.target.value)}>
          <option value="">{t("bulk.keep")}</option>
          <option value="none">{t("inbox.unassigned")}</option>
          <PeopleOptions people={people} />
        </select>
      </label>
      <label>
        {t("bulk.status")}
        <select value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t("bulk.keep")}</option>
          <Options values={STATUSES} prefix="status" />
        </select>
      </label>
      <label>
        {t("bulk.addTag")}
        <input size={10} value={tag} onChange={(e) => setTag(e.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={busy || nothing}>
        {t("bulk.apply")}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

export function Inbox({ open, current, compact }: { open: (id: string) => void; current?: string; compact?: boolean }) {
  const { t, language } = useI18n();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [viewId, setViewId] = useState("");
  const [views, reloadViews] = useViews();
  const view = views.find((v) => v.id === viewId);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [loading, setLoading] = useState(true);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  /** How many tickets the last bulk change changed. */
  const [changed, setChanged] = useState<number | null>(null);
  const [me, setMe] = useState<string | undefined>();
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const people = useAssignees();

  useEffect(() => {
    void whoAmI().then((found) => setMe(found?.user?.id));
  }, []);

  // Only the newest request may show its answer (typing sends one per key).
  const sequence = useRef(0);
  const shown = useRef(0);

  /** Loads the first page, or on a refresh as many tickets as are shown. */
  const load = useCallback(
    async (refresh: boolean) => {
      if (filters.assignee === "mine" && !me) return;
      if (viewId && !view) return;
      const mine = ++sequence.current;
      const limit = refresh ? Math.min(100, Math.max(PAGE, shown.current)) : PAGE;
      if (!refresh) setLoading(true);
      try {
        const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters, view, me, undefined, limit) } }));
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
    // The view's counts change with every refresh; only its choice reloads the list.
    [filters, me, viewId, Boolean(view)],
  );

  useEffect(() => void load(false), [load]);
  const live = useTenantEvents(
    (event) => INBOX_EVENTS.has(event.type),
    () => {
      void load(true);
      reloadViews();
    },
  );

  async function more() {
    if (!next) return;
    const mine = ++sequence.current;
    try {
      const page = unwrap(await api.GET("/v1/tickets", { params: { query: query(filters, view, me, next) } }));
      if (mine !== sequence.current) return;
      setTickets((current) => {
        shown.current = current.length + page.data.length;
        return [...current, ...page.data];
      });
      setNext(page.next_cursor);
    } catch (caught) {
      if (mine === sequence.current) setError(errorText(caught));
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
  const toggle = (id: string) =>
    setChosen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const shownIds = tickets.map((ticket) => ticket.id);
  const allChosen = shownIds.length > 0 && shownIds.every((id) => chosen.has(id));
  const chosenIds = shownIds.filter((id) => chosen.has(id));

  return (
    <section className={`inbox${compact ? " compact" : ""}`} aria-labelledby="inbox-title">
      <div className="heading">
        <h1 id="inbox-title">{t("nav.inbox")}</h1>
        <span className={`live ${live ? "on" : "off"}`} role="status">
          {live ? t("inbox.live") : t("inbox.offline")}
        </span>
      </div>
      <div className="views" role="group" aria-label={t("inbox.views")}>
        <button type="button" aria-pressed={viewId === ""} onClick={() => setViewId("")}>
          {t("inbox.view.all")}
        </button>
        {views.map((v) => (
          <button
            key={v.id}
            type="button"
            aria-pressed={viewId === v.id}
            onClick={() => {
              setViewId(v.id);
              const sort = v.sort;
              if (sort) setFilters((current) => ({ ...current, sort }));
            }}
          >
            {v.name ? <span translate="no">{v.name}</span> : t(`inbox.view.${v.id}` as Key)} <span className="count">{v.count}</span>
          </button>
        ))}
      </div>
      {!compact && <SaveView filters={filters} saved={reloadViews} />}
      {!compact && (
        <div className="filters">
          <input type="search" placeholder={t("inbox.search")} aria-label={t("inbox.search")} value={filters.q} onChange={set("q")} />
          <label>
            {t("inbox.sort")}
            <select value={filters.sort} onChange={set("sort")}>
              <Options values={SORTS} prefix="sort" />
            </select>
          </label>
          <details className="more-filters">
            <summary>{t("inbox.moreFilters")}</summary>
            <div className="filters">
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
            </div>
          </details>
        </div>
      )}
      {!compact && chosenIds.length > 0 && (
        <BulkBar
          ids={chosenIds}
          people={people}
          done={(count) => {
            setChanged(count);
            setChosen(new Set());
            void load(true);
            reloadViews();
          }}
        />
      )}
      {changed !== null && (
        <p role="status" className="notice">
          {fill(t("bulk.done"), { n: changed })}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {loading && tickets.length === 0 ? (
        <ul className="skeleton" role="status" aria-label={t("inbox.loading")}>
          {[0, 1, 2, 3, 4].map((row) => (
            <li key={row} />
          ))}
        </ul>
      ) : tickets.length === 0 && !error ? (
        <p className="empty">{t("inbox.empty")}</p>
      ) : (
        <table className="tickets">
          <thead>
            <tr>
              {!compact && (
                <th scope="col" className="pick">
                  <input
                    type="checkbox"
                    aria-label={t("inbox.selectAll")}
                    checked={allChosen}
                    onChange={() => setChosen(allChosen ? new Set() : new Set(shownIds))}
                  />
                </th>
              )}
              <th scope="col">{t("inbox.subject")}</th>
              <th scope="col">{t("inbox.status")}</th>
              <th scope="col">{t("inbox.triage")}</th>
              <th scope="col">{t("inbox.waiting")}</th>
              <th scope="col">{t("inbox.assignee")}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((ticket, index) => (
              <tr
                key={ticket.id}
                onClick={() => open(ticket.id)}
                aria-current={ticket.id === current ? "true" : undefined}
                className={`priority-${ticket.priority}${index === selected ? " selected" : ""}`}
              >
                {!compact && (
                  <td className="pick" onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      aria-label={`${t("inbox.select")} #${ticket.number}`}
                      checked={chosen.has(ticket.id)}
                      onChange={() => toggle(ticket.id)}
                    />
                  </td>
                )}
                <td className="subject">
                  <span className="number">#{ticket.number}</span>{" "}
                  <a href={`#/tickets/${ticket.id}`} onClick={(e) => e.stopPropagation()} translate="no">
                    {ticket.subject}
                  </a>
                  {ticket.draft_ready && <span className="badge draft-ready">{t("inbox.draftReady")}</span>}
                  <div className="muted small" translate="no">
                    {ticket.customer.name ?? ticket.customer.email}
                    <Tags tags={ticket.tags} />
                  </div>
                  {ticket.preview && (
                    <div className="preview" translate="no">
                      {ticket.preview}
                    </div>
                  )}
                </td>
                <td>
                  <span className={`badge status-${ticket.status}`}>{t(`status.${ticket.status}` as Key)}</span>
                  <span className={`badge priority-${ticket.priority}`}>{t(`priority.${ticket.priority}` as Key)}</span>
                </td>
                <td>
                  {ticket.intent && <span className="badge">{intentName(language, ticket.intent)}</span>}
                  {ticket.sentiment && (
                    <span
                      className={`badge sentiment-${ticket.sentiment}`}
                      title={ticket.sentiment_score != null ? `${t("inbox.score")} ${ticket.sentiment_score.toFixed(2)}` : undefined}
                    >
                      {t(`sentiment.${ticket.sentiment}` as Key)}
                      {ticket.sentiment_score != null && ` ${ticket.sentiment_score > 0 ? "+" : ""}${ticket.sentiment_score.toFixed(2)}`}
                    </span>
                  )}
                  {ticket.language && (
                    <span className="badge" translate="no">
                      {ticket.language}
                    </span>
                  )}
                </td>
                <td className="muted">
                  {ticket.waiting_since ? (
                    <time dateTime={ticket.waiting_since} title={new Date(ticket.waiting_since).toLocaleString()}>
                      {duration(ticket.waiting_since, language)}
                    </time>
                  ) : (
                    t("inbox.answered")
                  )}
                  <div>
                    <SlaBadge sla={ticket.sla} />
                  </div>
                </td>
                <td className="muted" translate="no">
                  {name(ticket.assignee_id) ?? "—"}
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
