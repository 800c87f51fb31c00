import { useCallback, useEffect, useState, type DragEvent } from "react";

import { ApiError, api, session, unwrap, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

type Document = Schemas["DocumentOut"];
type Hit = Schemas["HitOut"];

/** How often the document list refreshes while something is being ingested. */
const REFRESH_MS = 1500;

/** Uploads one file as multipart (file and title). */
async function upload(file: File): Promise<void> {
  const form = new FormData();
  form.append("file", file, file.name);
  const token = session.token();
  const response = await fetch("/v1/knowledge/documents", {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: form,
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
    throw new ApiError(body.code ?? `http_${response.status}`, `${file.name}: ${body.detail ?? response.statusText}`);
  }
}

export function Knowledge() {
  const { t } = useI18n();
  const [documents, setDocuments] = useState<Document[]>([]);
  const [errors, setErrors] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<Record<string, Hit[]>>({});

  const load = useCallback(async () => {
    try {
      setDocuments(unwrap(await api.GET("/v1/knowledge/documents", { params: { query: { limit: 100 } } })).data);
    } catch (caught) {
      setErrors([String(caught instanceof ApiError ? caught.message : caught)]);
    }
  }, []);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  async function send(files: FileList | null) {
    if (!files) return;
    const failures: string[] = [];
    await Promise.all(
      Array.from(files).map((file) => upload(file).catch((caught) => failures.push(caught instanceof Error ? caught.message : String(caught)))),
    );
    setErrors(failures);
    await load();
  }

  async function search() {
    if (!query.trim()) return;
    const modes: Schemas["SearchMode"][] = ["hybrid", "vector", "keyword"];
    const results = await Promise.all(
      modes.map(async (mode) => [mode, unwrap(await api.POST("/v1/knowledge/search", { body: { query, mode, limit: 5, tags: [] } })).hits] as const),
    );
    setHits(Object.fromEntries(results));
  }

  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void send(event.dataTransfer.files);
  };

  return (
    <section className="knowledge" aria-label={t("knowledge.title")}>
      <h1>{t("knowledge.title")}</h1>
      <label
        className={`dropzone${dragging ? " dragging" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        {t("knowledge.drop")}
        <input type="file" multiple onChange={(e) => void send(e.target.files)} className="visually-hidden" />
      </label>
      {errors.map((error) => (
        <p key={error} role="alert" className="error">
          {error}
        </p>
      ))}
      <table className="documents">
        <thead>
          <tr>
            <th>Title</th>
            <th>{t("knowledge.status")}</th>
            <th>{t("knowledge.chunks")}</th>
            <th>v</th>
          </tr>
        </thead>
        <tbody>
          {documents.map((d) => (
            <tr key={d.id}>
              <td>{d.title}</td>
              <td>
                <span className={`badge doc-${d.status}`}>{d.status}</span>
                {d.status === "processing" && <progress max={1} value={d.progress} aria-label={`${d.title} progress`} />}
                {d.error && <div className="error">{d.error}</div>}
              </td>
              <td>{d.chunk_count}</td>
              <td>{d.version}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="playground"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <input type="search" aria-label={t("knowledge.search")} placeholder={t("knowledge.search")} value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">🔍</button>
      </form>
      <div className="columns">
        {Object.entries(hits).map(([mode, found]) => (
          <div key={mode}>
            <h3>{mode}</h3>
            <ol>
              {found.map((hit) => (
                <li key={hit.chunk_id}>
                  <strong>{hit.title}</strong> <span className="muted">{hit.heading}</span>
                  <p>{hit.text.slice(0, 240)}</p>
                </li>
              ))}
            </ol>
          </div>
        ))}
      </div>
    </section>
  );
}
