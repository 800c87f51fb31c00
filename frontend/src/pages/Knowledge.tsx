import { useCallback, useEffect, useState, type DragEvent } from "react";

import { ApiError, api, postForm, unwrap, type Schemas } from "../api/client";
import { HeaderRow, Tags } from "../components/Fields";
import { useI18n, type Key } from "../i18n";

type Document = Schemas["DocumentOut"];
type Hit = Schemas["HitOut"];
type Chunk = Schemas["ChunkOut"];

/** How often the document list refreshes while something is being ingested. */
const REFRESH_MS = 1500;

/** What a person may say about an upload: its title (one file only) and tags. */
type About = { title: string; tags: string };

/** Uploads one file as multipart: a new document, or a new version of `replaces`. */
async function upload(file: File, about: About, replaces?: string, onSent?: (fraction: number) => void): Promise<void> {
  const form = new FormData();
  form.append("file", file, file.name);
  if (about.title.trim()) form.append("title", about.title.trim());
  if (about.tags.trim()) form.append("tags", about.tags);
  const path = replaces ? `/v1/knowledge/documents/${replaces}/versions` : "/v1/knowledge/documents";
  const response = await postForm(path, form, (sent, total) => onSent?.(sent / total));
  if (response.status >= 300) {
    let body: { code?: string; detail?: string } = {};
    try {
      body = JSON.parse(response.text);
    } catch {
      // Not the API's JSON (a proxy's page): the status says enough.
    }
    throw new ApiError(body.code ?? `http_${response.status}`, `${file.name}: ${body.detail ?? `HTTP ${response.status}`}`);
  }
}

export function Knowledge() {
  const { t } = useI18n();
  const [documents, setDocuments] = useState<Document[]>([]);
  const [errors, setErrors] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const [about, setAbout] = useState<About>({ title: "", tags: "" });
  /** Files on their way to the service, with the share of their bytes sent. */
  const [sending, setSending] = useState<Record<string, number>>({});
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<Record<string, Hit[]>>({});
  /** How well the best hybrid hit answers the query (the signal drafts use). */
  const [answer, setAnswer] = useState<{ confident: boolean; relevance?: number } | null>(null);
  const [preview, setPreview] = useState<{ document: Document; chunks: Chunk[] } | null>(null);

  async function showChunks(document: Document) {
    try {
      const page = unwrap(
        await api.GET("/v1/knowledge/documents/{id}/chunks", { params: { path: { id: document.id }, query: { limit: 100 } } }),
      );
      setPreview({ document, chunks: page.data });
    } catch (caught) {
      setErrors([caught instanceof ApiError ? `${document.title}: ${caught.message}` : String(caught)]);
    }
  }

  async function remove(document: Document) {
    if (!window.confirm(`${t("knowledge.deleteConfirm")} ${document.title}`)) return;
    try {
      unwrap(await api.DELETE("/v1/knowledge/documents/{id}", { params: { path: { id: document.id } } }));
      if (preview?.document.id === document.id) setPreview(null);
      await load();
    } catch (caught) {
      setErrors([caught instanceof ApiError ? caught.message : String(caught)]);
    }
  }

  const load = useCallback(async () => {
    try {
      setDocuments(unwrap(await api.GET("/v1/knowledge/documents", { params: { query: { limit: 100 } } })).data);
    } catch (caught) {
      setErrors([String(caught instanceof ApiError ? caught.message : caught)]);
    }
  }, []);

  // An open preview follows the document to its newly searchable version.
  useEffect(() => {
    if (!preview) return;
    const current = documents.find((d) => d.id === preview.document.id);
    const shown = preview.chunks[0]?.document_version;
    if (current?.active_version !== undefined && shown !== undefined && current.active_version !== shown) void showChunks(current);
  }, [documents, preview]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  /** Uploads files; one named like a document already there becomes its new version if the admin agrees. */
  async function send(files: FileList | null, replaces?: Document) {
    if (!files) return;
    const failures: string[] = [];
    // A title names one document: with several files each keeps its own name.
    const given = { title: files.length === 1 ? about.title : "", tags: about.tags };
    await Promise.all(
      Array.from(files).map((file) => {
        const same = replaces ?? documents.find((d) => d.filename === file.name || d.title === file.name);
        const target = replaces ?? (same && window.confirm(`${file.name}: ${t("knowledge.sameName")}`) ? same : undefined);
        setSending((current) => ({ ...current, [file.name]: 0 }));
        return upload(file, given, target?.id, (fraction) => setSending((current) => ({ ...current, [file.name]: fraction })))
          .finally(() =>
            setSending((current) => {
              const { [file.name]: _done, ...rest } = current;
              return rest;
            }),
          )
          .catch((caught) => failures.push(caught instanceof Error ? caught.message : String(caught)));
      }),
    );
    setErrors(failures);
    if (failures.length === 0) setAbout({ title: "", tags: "" });
    await load();
  }

  async function search() {
    if (!query.trim()) return;
    const modes: Schemas["SearchMode"][] = ["hybrid", "vector", "keyword"];
    const results = await Promise.all(
      modes.map(async (mode) => [mode, unwrap(await api.POST("/v1/knowledge/search", { body: { query, mode, limit: 5, tags: [] } }))] as const),
    );
    setHits(Object.fromEntries(results.map(([mode, found]) => [mode, found.hits])));
    const hybrid = results[0][1];
    setAnswer({ confident: hybrid.confident, relevance: hybrid.relevance });
  }

  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void send(event.dataTransfer.files);
  };

  return (
    <section className="knowledge" aria-label={t("knowledge.title")}>
      <h1>{t("knowledge.title")}</h1>
      <div className="filters upload-about">
        <label>
          {t("knowledge.uploadTitle")}
          <input value={about.title} onChange={(e) => setAbout({ ...about, title: e.target.value })} size={30} />
        </label>
        <label>
          {t("knowledge.uploadTags")}
          <input value={about.tags} onChange={(e) => setAbout({ ...about, tags: e.target.value })} size={20} />
        </label>
      </div>
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
      {Object.keys(sending).length > 0 && (
        <ul className="sending">
          {Object.entries(sending).map(([name, fraction]) => (
            <li key={name}>
              <span translate="no">{name}</span>{" "}
              <progress max={1} value={fraction} aria-label={`${name}: ${t("knowledge.sending")}`} /> {Math.round(fraction * 100)}%
            </li>
          ))}
        </ul>
      )}
      {errors.map((error) => (
        <p key={error} role="alert" className="error">
          {error}
        </p>
      ))}
      <table className="documents">
        <HeaderRow
          columns={[t("knowledge.document"), t("knowledge.status"), t("knowledge.chunks"), t("knowledge.version")]}
          actions={t("knowledge.actions")}
        />
        <tbody>
          {documents.map((d) => (
            <tr key={d.id}>
              <td>
                <span translate="no">{d.title}</span>
                <div className="muted small">
                  <span translate="no">{d.format}</span> · {Math.ceil(d.size_bytes / 1024)} KB
                  <Tags tags={d.tags} />
                </div>
              </td>
              <td>
                <span className={`badge doc-${d.status}`}>{t(`doc.${d.status}` as Key)}</span>
                {(d.status === "processing" || d.status === "queued") && (
                  <progress max={1} value={d.progress} aria-label={`${d.title}: ${t("knowledge.progress")}`} />
                )}
                {d.error && <div className="error">{d.error}</div>}
              </td>
              <td>{d.chunk_count}</td>
              <td>
                v{d.version}
                {d.active_version !== undefined && d.active_version !== d.version && (
                  <div className="muted small">
                    {t("knowledge.searching")} v{d.active_version}
                  </div>
                )}
              </td>
              <td className="actions">
                {d.active_version !== undefined && (
                  <button type="button" className="link" onClick={() => void showChunks(d)}>
                    {t("knowledge.preview")}
                    <span className="visually-hidden"> {d.title}</span>
                  </button>
                )}
                <label className="link">
                  {t("knowledge.newVersion")}
                  <span className="visually-hidden"> {d.title}</span>
                  <input
                    type="file"
                    className="visually-hidden"
                    onChange={(e) => {
                      void send(e.target.files, d);
                      e.target.value = "";
                    }}
                  />
                </label>
                <button type="button" className="link danger" onClick={() => void remove(d)}>
                  {t("knowledge.delete")}
                  <span className="visually-hidden"> {d.title}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {preview && (
        <section className="chunks" aria-label={`${t("knowledge.chunksOf")} ${preview.document.title}`}>
          <h2>
            {t("knowledge.chunksOf")} {preview.document.title} (v{preview.chunks[0]?.document_version ?? preview.document.active_version})
          </h2>
          <button type="button" className="link" onClick={() => setPreview(null)}>
            {t("knowledge.close")}
          </button>
          <ol>
            {preview.chunks.map((chunk) => (
              <li key={chunk.chunk_id}>
                {chunk.heading && <strong translate="no">{chunk.heading}</strong>}
                <p translate="no">{chunk.text}</p>
              </li>
            ))}
          </ol>
        </section>
      )}
      <form
        className="playground"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <input type="search" aria-label={t("knowledge.search")} placeholder={t("knowledge.search")} value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">{t("knowledge.searchButton")}</button>
      </form>
      {answer && (
        <p role="status" className={answer.confident ? "notice band-high" : "notice band-low"}>
          {answer.confident ? t("knowledge.confident") : t("knowledge.notConfident")}
          {answer.relevance !== undefined && ` (${t("knowledge.relevance")} ${answer.relevance.toFixed(2)})`}
        </p>
      )}
      <div className="columns">
        {Object.entries(hits).map(([mode, found]) => (
          <div key={mode}>
            <h2>{t(`mode.${mode}` as Key)}</h2>
            <ol>
              {found.map((hit) => (
                <li key={hit.chunk_id}>
                  <strong translate="no">{hit.title}</strong>{" "}
                  <span className="muted" translate="no">
                    {hit.heading}
                  </span>{" "}
                  <span className="badge" title={t("knowledge.score")}>
                    {hit.score.toFixed(2)}
                  </span>
                  <p translate="no">{hit.text.slice(0, 240)}</p>
                </li>
              ))}
            </ol>
          </div>
        ))}
      </div>
    </section>
  );
}
