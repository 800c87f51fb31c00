// The audit log (admins): who did what to which record, newest first, filtered by action,
// by person or by record.
import { useCallback, useEffect, useRef, useState } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { PeopleOptions, useAssignees } from "../components/Fields";
import { useI18n, type Key } from "../i18n";

type Entry = Schemas["AuditEventOut"];

/** Actions the service records, for the filter's suggestions. */
const ACTIONS = [
  "auth.login",
  "auth.logout",
  "ticket.created",
  "ticket.assigned",
  "ticket.status_changed",
  "ticket.priority_escalated",
  "triage.intent_corrected",
  "draft.requested",
  "draft.approved",
  "draft.rejected",
  "delivery.resent",
  "knowledge.document.deleted",
  "intents.replaced",
  "intents.training_requested",
  "settings.llm_updated",
  "settings.drafting_updated",
  "settings.email_updated",
  "settings.inbound_email_token_rotated",
  "email.address_verified",
  "user.created",
  "user.role_changed",
  "api_key.created",
  "api_key.revoked",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.secret_rotated",
  "webhook.replayed",
];

/** Kinds of records the log names, each in words. */
const KINDS = ["api_key", "draft", "intent_model", "knowledge_document", "message", "tenant", "ticket", "user", "webhook"];

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function Audit() {
  const { t } = useI18n();
  const people = useAssignees();
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [target, setTarget] = useState("");
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const sequence = useRef(0);
  const badTarget = target.trim() !== "" && !UUID.test(target.trim());

  const query = useCallback(
    (cursor?: string) => ({
      action: action.trim() || undefined,
      actor_id: actor || undefined,
      target_id: target.trim() && !badTarget ? target.trim() : undefined,
      limit: 50,
      cursor,
    }),
    [action, actor, target, badTarget],
  );

  useEffect(() => {
    if (badTarget) return;
    const mine = ++sequence.current;
    setLoading(true);
    api
      .GET("/v1/audit-events", { params: { query: query() } })
      .then((found) => {
        if (mine !== sequence.current) return;
        const page = unwrap(found);
        setEntries(page.data);
        setNext(page.next_cursor);
        setError(null);
      })
      .catch((caught) => mine === sequence.current && setError(errorText(caught)))
      .finally(() => mine === sequence.current && setLoading(false));
  }, [query, badTarget]);

  const more = async () => {
    try {
      const page = unwrap(await api.GET("/v1/audit-events", { params: { query: query(next) } }));
      setEntries((current) => [...current, ...page.data]);
      setNext(page.next_cursor);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const who = (entry: Entry) => {
    const person = people.find((p) => p.id === entry.actor_id);
    if (person) return person.name ?? person.email;
    return t(`audit.actor.${entry.actor_kind}` as Key);
  };

  return (
    <section className="audit" aria-labelledby="audit-title">
      <h1 id="audit-title">{t("audit.title")}</h1>
      <div className="filters">
        <label>
          {t("audit.action")}
          <input list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} size={24} />
          <datalist id="audit-actions">
            {ACTIONS.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </label>
        <label>
          {t("audit.actor")}
          <select value={actor} onChange={(e) => setActor(e.target.value)}>
            <option value="">{t("inbox.anyone")}</option>
            <PeopleOptions people={people} />
          </select>
        </label>
        <label>
          {t("audit.target")}
          <input value={target} onChange={(e) => setTarget(e.target.value)} size={36} aria-invalid={badTarget} />
        </label>
      </div>
      {badTarget && <p className="error">{t("audit.badTarget")}</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {loading && entries.length === 0 ? (
        <p role="status" className="muted">
          {t("audit.loading")}
        </p>
      ) : entries.length === 0 ? (
        <p className="empty">{t("audit.empty")}</p>
      ) : (
        <table className="log">
          <thead>
            <tr>
              <th scope="col">{t("audit.when")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.target")}</th>
              <th scope="col">{t("audit.details")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.created_at}>{new Date(entry.created_at).toLocaleString()}</time>
                </td>
                <td translate={entry.actor_id ? "no" : undefined}>{who(entry)}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  {KINDS.includes(entry.target_kind) ? t(`audit.kind.${entry.target_kind}` as Key) : <span translate="no">{entry.target_kind}</span>}
                  {entry.target_label && <span translate="no"> {entry.target_label}</span>}
                  {entry.target_kind === "ticket" && entry.target_id && (
                    <>
                      {" "}
                      <a href={`#/tickets/${entry.target_id}`}>{t("audit.open")}</a>
                    </>
                  )}
                </td>
                <td className="small">
                  <code>{JSON.stringify(entry.data)}</code>
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
