// Merging and splitting from the ticket: merge this ticket into another (found by number
// or words, confirmed in a second step), or split a customer's message (and, if asked,
// the ones after it) into a new ticket. Both open the ticket that holds the thread after.
import { useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas, type Ticket } from "../api/client";
import { useI18n } from "../i18n";

type Found = Schemas["TicketOut"];

/** Merge this ticket into another one. */
export function MergeTicket({ ticket, open }: { ticket: Ticket; open: (id: string) => void }) {
  const { t } = useI18n();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Found[]>([]);
  const [chosen, setChosen] = useState<Found | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setChosen(null);
    setFound([]);
  }, [ticket.id]);
  if (ticket.merged_into_id) return null;
  async function search(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const words = query.trim().replace(/^#/, "");
    try {
      const page = unwrap(await api.GET("/v1/tickets", { params: { query: { q: words || undefined, active: true, limit: 8 } } }));
      const byNumber = /^\d+$/.test(words) ? page.data.filter((other) => String(other.number) === words) : [];
      const rest = page.data.filter((other) => !byNumber.includes(other));
      setFound([...byNumber, ...rest].filter((other) => other.id !== ticket.id && !other.merged_into_id));
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  async function merge() {
    if (!chosen) return;
    setBusy(true);
    try {
      unwrap(await api.POST("/v1/tickets/{id}/merge", { params: { path: { id: ticket.id } }, body: { into: chosen.id } }));
      open(chosen.id);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <details className="card regroup">
      <summary>{t("regroup.merge")}</summary>
      <form onSubmit={search} role="search" aria-label={t("regroup.merge")}>
        <label>
          {t("regroup.find")}
          <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder={t("regroup.findHint")} />
        </label>
        <button type="submit">{t("regroup.search")}</button>
      </form>
      {found.length > 0 && !chosen && (
        <ul className="found">
          {found.map((other) => (
            <li key={other.id}>
              <button type="button" className="link" onClick={() => setChosen(other)}>
                <span translate="no">
                  #{other.number} {other.subject}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {chosen && (
        <div role="group" aria-label={t("regroup.confirmMerge")}>
          <p>
            {t("regroup.mergeInto")}{" "}
            <strong translate="no">
              #{chosen.number} {chosen.subject}
            </strong>
            {t("regroup.mergeEffect")}
          </p>
          <button type="button" className="primary" onClick={() => void merge()} disabled={busy}>
            {t("regroup.confirmMerge")}
          </button>{" "}
          <button type="button" onClick={() => setChosen(null)}>
            {t("policies.cancel")}
          </button>
        </div>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </details>
  );
}

/** Split a customer's message (and, if asked, the later ones) into a new ticket. */
export function SplitMessage({ ticketId, messageId, open }: { ticketId: string; messageId: string; open: (id: string) => void }) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const [withLater, setWithLater] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function split() {
    try {
      const done = unwrap(
        await api.POST("/v1/tickets/{id}/messages/{message_id}/split", {
          params: { path: { id: ticketId, message_id: messageId } },
          body: { with_later: withLater },
        }),
      );
      open(done.target.id);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  if (!asking) {
    return (
      <button type="button" className="link small" onClick={() => setAsking(true)}>
        {t("regroup.split")}
      </button>
    );
  }
  return (
    <span className="split" role="group" aria-label={t("regroup.split")}>
      <label className="check">
        <input type="checkbox" checked={withLater} onChange={(e) => setWithLater(e.target.checked)} />
        {t("regroup.withLater")}
      </label>
      <button type="button" className="primary" onClick={() => void split()}>
        {t("regroup.confirmSplit")}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        {t("policies.cancel")}
      </button>
      {error && <span role="alert" className="error">{error}</span>}
    </span>
  );
}
