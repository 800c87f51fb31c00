// Questions about the desk in words, and the cards pinned from them. The answer shows its
// sentence, its chart (drawn from the chart the service chose), its rows, and the typed
// query it ran: the filters can be changed and run again without the LLM, and the whole
// question pinned as a card that runs again on every visit.
import { useEffect, useState, type FormEvent } from "react";

import { ApiError, api, errorText, unwrap, type Schemas } from "../api/client";
import { fill, useI18n, type Key } from "../i18n";

type TypedQuery = Schemas["TypedQuery"];
type Filter = Schemas["QueryFilter"];
type Chart = Schemas["ChartOut"];
type Column = Schemas["ResultColumnOut"];
type Cell = unknown;

export type Result = { columns: Column[]; rows: Cell[][]; chart: Chart; truncated: boolean };

const SERIES = 8;

function zone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function shown(cell: Cell): string {
  if (cell === null || cell === undefined) return "–";
  if (typeof cell === "number") return Number.isInteger(cell) ? cell.toLocaleString() : String(cell);
  if (typeof cell === "string" && /^\d{4}-\d\d-\d\dT/.test(cell)) return cell.slice(0, 16).replace("T", " ");
  return String(cell);
}

const number = (cell: Cell) => (typeof cell === "number" ? cell : 0);

/** The result drawn as its chart says: one number, bars, stacked bars or lines; a table always. */
export function ResultView({ result, label, compact = false }: { result: Result; label: string; compact?: boolean }) {
  const { t } = useI18n();
  const { columns, rows, chart } = result;
  const index = (name?: string | null) => columns.findIndex((c) => c.name === name);
  const x = index(chart.x);
  const y = index(chart.y[0]);
  const series = index(chart.series);
  let drawing = null;
  if (rows.length === 0) {
    drawing = <p className="muted">{t("ask.noRows")}</p>;
  } else if (chart.type === "number" && y >= 0) {
    drawing = (
      <p className="big-number" aria-label={label}>
        {shown(rows[0][y])} <span className="muted small">{columns[y].name}</span>
      </p>
    );
  } else if ((chart.type === "bar" || chart.type === "stacked_bar") && x >= 0 && y >= 0) {
    const keys = [...new Set(rows.map((row) => shown(row[x])))];
    const groups = keys.map((key) => ({ key, parts: rows.filter((row) => shown(row[x]) === key) }));
    const names = series >= 0 ? [...new Set(rows.map((row) => shown(row[series])))].slice(0, SERIES) : [];
    const total = (parts: Cell[][]) => parts.reduce((sum, row) => sum + number(row[y]), 0);
    const max = Math.max(1, ...groups.map((group) => total(group.parts)));
    drawing = (
      <>
        <ul className="result-bars" aria-label={label}>
          {groups.map((group) => (
            <li key={group.key}>
              <span className="bar-label" translate="no">{group.key}</span>
              <span className="bar-track">
                {group.parts.map((row, i) => (
                  <span
                    key={i}
                    className={`bar-part series-${series >= 0 ? Math.max(0, names.indexOf(shown(row[series]))) : 0}`}
                    style={{ width: `${(number(row[y]) / max) * 100}%` }}
                    title={`${group.key}${series >= 0 ? ` · ${shown(row[series])}` : ""}: ${shown(row[y])}`}
                  />
                ))}
              </span>
              <span className="bar-value">{shown(total(group.parts))}</span>
            </li>
          ))}
        </ul>
        {names.length > 0 && <Legend names={names} />}
      </>
    );
  } else if (chart.type === "line" && x >= 0 && y >= 0) {
    drawing = <Lines rows={rows} x={x} y={y} series={series} label={label} />;
  }
  const table = (
    <div className="table-scroll">
      <table aria-label={fill(t("ask.rowsOf"), { label })}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.name} translate="no">{column.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) => (
                <td key={j}>{shown(cell)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
  return (
    <div className="result">
      {drawing}
      {compact && drawing ? (
        <details>
          <summary>{t("ask.rows")}</summary>
          {table}
        </details>
      ) : (
        table
      )}
      {result.truncated && <p className="muted small">{t("ask.truncated")}</p>}
    </div>
  );
}

function Legend({ names }: { names: string[] }) {
  return (
    <p className="legend small">
      {names.map((name, i) => (
        <span key={name}>
          <span className={`swatch series-${i}`} /> <span translate="no">{name}</span>{" "}
        </span>
      ))}
    </p>
  );
}

/** One line per series over the time buckets, oldest first. */
function Lines({ rows, x, y, series, label }: { rows: Cell[][]; x: number; y: number; series: number; label: string }) {
  const width = 640;
  const height = 160;
  const times = [...new Set(rows.map((row) => String(row[x])))].sort();
  const names = series >= 0 ? [...new Set(rows.map((row) => shown(row[series])))].slice(0, SERIES) : [""];
  const max = Math.max(1, ...rows.map((row) => number(row[y])));
  const at = (i: number) => 30 + (times.length > 1 ? (i * (width - 40)) / (times.length - 1) : (width - 40) / 2);
  return (
    <>
      <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height + 24}`} className="chart">
        <text x={4} y={12} className="tick">
          {shown(max)}
        </text>
        {names.map((name, n) => {
          const points = times.map((time, i) => {
            const row = rows.find((r) => String(r[x]) === time && (series < 0 || shown(r[series]) === name));
            return `${at(i)},${8 + height - (number(row?.[y]) / max) * (height - 10)}`;
          });
          return <polyline key={name} points={points.join(" ")} className={`line series-${n}`} fill="none" />;
        })}
        {times.map((time, i) =>
          i === 0 || i === times.length - 1 || times.length <= 8 ? (
            <text key={time} x={at(i)} y={height + 20} textAnchor="middle" className="tick">
              {time.slice(5, 10)}
            </text>
          ) : null,
        )}
      </svg>
      {series >= 0 && <Legend names={names} />}
    </>
  );
}

/** The query's filters as rows of field, operator and value, each one editable. */
function FilterEditor({ filters, onChange }: { filters: Filter[]; onChange: (filters: Filter[]) => void }) {
  const { t } = useI18n();
  const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value ?? null));
  const parse = (raw: string): unknown => {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  };
  const set = (i: number, patch: Partial<Filter>) => onChange(filters.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset className="filters">
      <legend>{t("ask.filters")}</legend>
      {filters.map((filter, i) => (
        <div key={i} className="filter-row">
          <input aria-label={t("ask.field")} value={filter.field} onChange={(e) => set(i, { field: e.target.value })} translate="no" />
          <input aria-label={t("ask.operator")} value={filter.op} onChange={(e) => set(i, { op: e.target.value })} translate="no" size={8} />
          <input aria-label={t("ask.value")} value={text(filter.value)} onChange={(e) => set(i, { value: parse(e.target.value) })} translate="no" />
          <button type="button" onClick={() => onChange(filters.filter((_, j) => j !== i))} aria-label={fill(t("ask.removeFilter"), { field: filter.field })}>
            ×
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...filters, { field: "", op: "eq", value: "" }])}>
        {t("ask.addFilter")}
      </button>
    </fieldset>
  );
}

/** A short, readable line for a typed query. */
export function describeQuery(query: TypedQuery): string {
  const measures = query.measures.map((m) => (m.field ? `${m.fn}(${m.field})` : m.condition ? `rate(${m.condition.field} ${m.condition.op} ${JSON.stringify(m.condition.value)})` : m.fn));
  const filters = (query.filters ?? []).map((f) => `${f.field} ${f.op} ${typeof f.value === "string" ? f.value : JSON.stringify(f.value)}`);
  const groups = (query.group_by ?? []).map((g) => (g.bucket ? `${g.field} by ${g.bucket}` : g.field));
  return [`${query.dataset}: ${measures.join(", ")}`, filters.length ? `where ${filters.join(" and ")}` : "", groups.length ? `grouped by ${groups.join(", ")}` : ""]
    .filter(Boolean)
    .join(" · ");
}

async function run(query: TypedQuery): Promise<Result> {
  const answer = unwrap(await api.POST("/v1/analytics/query", { body: query }));
  return { columns: answer.columns, rows: answer.rows as Cell[][], chart: answer.chart, truncated: answer.truncated };
}

/** Why a question got no answer, in words that say what to do. */
function askError(caught: unknown, t: (key: Key) => string): string {
  if (caught instanceof ApiError) {
    if (caught.code === "llm_not_configured") return t("ask.noLlm");
    if (caught.code === "question_refused") return `${t("ask.refused")} ${caught.message}`;
    if (caught.code === "question_not_understood") return `${t("ask.notUnderstood")} ${caught.message}`;
  }
  return errorText(caught);
}

export function AskBox({ onPinned }: { onPinned: () => void }) {
  const { t } = useI18n();
  const [question, setQuestion] = useState("");
  const [asking, setAsking] = useState(false);
  const [asked, setAsked] = useState<Schemas["AskOut"] | null>(null);
  const [planned, setPlanned] = useState<TypedQuery | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const ask = async (event: FormEvent) => {
    event.preventDefault();
    if (!question.trim()) return;
    setAsking(true);
    setError(null);
    setStatus(null);
    try {
      const answer = unwrap(await api.POST("/v1/ask", { body: { question, time_zone: zone() } }));
      setAsked(answer);
      setPlanned(answer.planned);
      setResult({ columns: answer.columns, rows: answer.rows as Cell[][], chart: answer.chart, truncated: answer.truncated });
    } catch (caught) {
      setError(askError(caught, t));
      setAsked(null);
      setResult(null);
    } finally {
      setAsking(false);
    }
  };

  const rerun = async () => {
    if (!planned) return;
    setError(null);
    try {
      setResult(await run({ ...planned, time_zone: planned.time_zone ?? zone() }));
      setStatus(t("ask.ranAgain"));
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  const pin = async () => {
    if (!planned || !asked) return;
    setError(null);
    try {
      const title = asked.question.trim().slice(0, 120);
      unwrap(await api.POST("/v1/analytics/cards", { body: { title, question: asked.question, query: planned } }));
      setStatus(t("ask.pinned"));
      onPinned();
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  return (
    <section className="ask card" aria-label={t("ask.title")}>
      <h2>{t("ask.title")}</h2>
      <form onSubmit={ask} className="ask-form">
        <label htmlFor="ask-question" className="visually-hidden">
          {t("ask.question")}
        </label>
        <input
          id="ask-question"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          placeholder={t("ask.placeholder")}
          maxLength={1000}
        />
        <button type="submit" disabled={asking || !question.trim()}>
          {asking ? t("ask.asking") : t("ask.ask")}
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {status && <p role="status" className="muted small">{status}</p>}
      {asked && result && planned && (
        <div className="answer">
          <p className="answer-sentence">
            {asked.answer}{" "}
            {asked.answer_source === "template" && <span className="badge" title={t("ask.templateHint")}>{t("ask.template")}</span>}
          </p>
          <ResultView result={result} label={asked.question} />
          <details>
            <summary>{t("ask.query")}</summary>
            <p className="small" translate="no">
              {describeQuery(asked.query)}
            </p>
            <FilterEditor filters={planned.filters ?? []} onChange={(filters) => setPlanned({ ...planned, filters })} />
            <button type="button" onClick={rerun}>
              {t("ask.runAgain")}
            </button>
          </details>
          <p className="muted small">
            {fill(t("ask.by"), { model: asked.model })}{" "}
            <button type="button" onClick={pin}>
              {t("ask.pin")}
            </button>
          </p>
        </div>
      )}
    </section>
  );
}

type Card = Schemas["CardOut"];

/** The pinned questions, each run again when the page loads. */
export function Cards({ version }: { version: number }) {
  const { t } = useI18n();
  const [cards, setCards] = useState<Card[]>([]);
  const [results, setResults] = useState<Record<string, Result | string>>({});
  const [changed, setChanged] = useState(0);

  useEffect(() => {
    let current = true;
    api
      .GET("/v1/analytics/cards")
      .then((reply) => {
        const list = unwrap(reply).cards;
        if (!current) return;
        setCards(list);
        for (const card of list) {
          run({ ...card.query, time_zone: card.query.time_zone ?? zone() })
            .then((result) => current && setResults((known) => ({ ...known, [card.id]: result })))
            .catch((caught) => current && setResults((known) => ({ ...known, [card.id]: errorText(caught) })));
        }
      })
      .catch(() => current && setCards([]));
    return () => {
      current = false;
    };
  }, [version, changed]);

  const remove = async (card: Card) => {
    try {
      unwrap(await api.DELETE("/v1/analytics/cards/{id}", { params: { path: { id: card.id } } }));
      setChanged((n) => n + 1);
    } catch (caught) {
      setResults((known) => ({ ...known, [card.id]: errorText(caught) }));
    }
  };

  if (cards.length === 0) return null;
  return (
    <section className="cards" aria-label={t("ask.cards")}>
      <h2>{t("ask.cards")}</h2>
      <div className="card-grid">
        {cards.map((card) => {
          const result = results[card.id];
          return (
            <article key={card.id} className="card" aria-label={card.title}>
              <h3>{card.title}</h3>
              <p className="muted small" translate="no">
                {describeQuery(card.query)}
              </p>
              {result === undefined && <p className="muted">{t("ask.loading")}</p>}
              {typeof result === "string" && <p className="error">{result}</p>}
              {result && typeof result !== "string" && <ResultView result={result} label={card.title} compact />}
              <button type="button" onClick={() => remove(card)} aria-label={fill(t("ask.unpin"), { title: card.title })}>
                {t("ask.remove")}
              </button>
            </article>
          );
        })}
      </div>
    </section>
  );
}
