// The review queue: customer messages where the tenant's intent model and the LLM
// disagree, the most confident model first. A person settles each with one key (1: the
// model's label, 2: the LLM's, s: skip); the choice is a person's label, which outranks
// both and teaches the next version.
import { useCallback, useEffect, useState, type KeyboardEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

type Item = Schemas["ReviewItemOut"];

const percent = (value: number | undefined) => (value === undefined ? "" : ` · ${Math.round(value * 100)}%`);

export function IntentReview() {
  const { t } = useI18n();
  const [items, setItems] = useState<Item[]>([]);
  const [total, setTotal] = useState(0);
  const [position, setPosition] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const queue = unwrap(await api.GET("/v1/intents/review", { params: { query: { limit: 50 } } }));
    setItems(queue.data);
    setTotal(queue.total);
    setPosition(0);
  }, []);

  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);

  const item = items[position];
  const accept = async (label: string) => {
    if (!item) return;
    try {
      unwrap(
        await api.POST("/v1/intents/review/{message_id}/accept", {
          params: { path: { message_id: item.message_id } },
          body: { label },
        }),
      );
      setError(null);
      setItems((current) => current.filter((other) => other.message_id !== item.message_id));
      setTotal((current) => Math.max(current - 1, 0));
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const skip = () => setPosition((current) => (items.length ? (current + 1) % items.length : 0));

  const onKey = (event: KeyboardEvent) => {
    if (!item || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "1") void accept(item.model.label);
    else if (event.key === "2") void accept(item.llm.label);
    else if (event.key === "s") skip();
    else return;
    event.preventDefault();
  };

  return (
    <section className="review card" aria-labelledby="review-title">
      <h2 id="review-title">
        {t("review.title")} <span className="badge">{total}</span>
      </h2>
      <p className="muted small">{t("review.explain")}</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {item ? (
        <div className="review-item" tabIndex={0} onKeyDown={onKey} aria-label={t("review.item")}>
          <blockquote>{item.text}</blockquote>
          <div className="row">
            <button type="button" onClick={() => void accept(item.model.label)}>
              <kbd>1</kbd> {t("review.model")}: <strong>{item.model.label}</strong>
              {percent(item.model.confidence)}
            </button>
            <button type="button" onClick={() => void accept(item.llm.label)}>
              <kbd>2</kbd> {t("review.llm")}: <strong>{item.llm.label}</strong>
              {percent(item.llm.confidence)}
            </button>
            <button type="button" className="link" onClick={skip}>
              <kbd>s</kbd> {t("review.skip")}
            </button>
          </div>
          <p className="small muted">
            <a href={`#/tickets/${item.ticket_id}`}>{t("review.openTicket")}</a> · {t("review.keys")}
          </p>
        </div>
      ) : (
        <p className="muted">{t("review.empty")}</p>
      )}
    </section>
  );
}
