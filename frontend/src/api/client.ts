// The API client, typed from the committed openapi.json (`npm run gen` writes schema.d.ts).
// The console signs in with the session cookie the API sets at login: HttpOnly, so no script
// (nor an injected one) can read it. Requests that change something echo the session's
// anti-forgery token (the readable copilot_csrf cookie) in X-CSRF-Token. A 401 ends the session.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Ticket = Schemas["TicketOut"];
export type Message = Schemas["MessageOut"];
export type Draft = Schemas["DraftOut"];
export type Citation = Schemas["CitationOut"];
export type TenantEvent = Schemas["StreamedEvent"];

const CSRF_COOKIE = "copilot_csrf";

function csrfToken(): string | null {
  const match = new RegExp(`(?:^|;\\s*)${CSRF_COOKIE}=([^;]+)`).exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : null;
}

export const session = {
  /** Whether a session looks alive (its anti-forgery cookie is there); the API has the last word. */
  present: (): boolean => csrfToken() !== null,
  /** Forgets the readable half of an ended session (the API clears both on logout). */
  forget: () => {
    signedIn = null;
    document.cookie = `${CSRF_COOKIE}=; Max-Age=0; Path=/; SameSite=Strict`;
  },
};

/** The headers that let a request through with the session cookie. */
function withCsrf(method: string, headers: Headers): Headers {
  const token = csrfToken();
  if (token && method !== "GET" && method !== "HEAD") headers.set("X-CSRF-Token", token);
  return headers;
}

/** Whether the service could not be reached by the last request; the app shows a banner. */
let reachable = true;
const reachabilityListeners = new Set<(reachable: boolean) => void>();
function setReachable(now: boolean) {
  if (now === reachable) return;
  reachable = now;
  reachabilityListeners.forEach((listener) => listener(now));
}
export function whenReachabilityChanges(listener: (reachable: boolean) => void): () => void {
  reachabilityListeners.add(listener);
  return () => reachabilityListeners.delete(listener);
}

/** Called when the API answers 401: the app goes back to the login screen. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void) {
  onUnauthorized = handler;
}

const auth: Middleware = {
  onRequest({ request }) {
    withCsrf(request.method, request.headers);
    return request;
  },
  onResponse({ response }) {
    setReachable(response.status !== 502 && response.status !== 503 && response.status !== 504);
    if (response.status === 401 && !response.url.endsWith("/v1/auth/login")) {
      session.forget();
      onUnauthorized();
    }
    return response;
  },
  onError({ error }) {
    // The request never got an answer: the service or the network is down.
    setReachable(false);
    return error instanceof Error ? new ApiError("unreachable", "the service could not be reached") : undefined;
  },
};

// Absolute, from the page's own origin (the console is served by the service it talks to).
export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "" });
api.use(auth);

/** An error body of the API: a stable code and a sentence. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** A failure as a person reads it: the API's sentence and its code. */
export function errorText(caught: unknown): string {
  if (caught instanceof ApiError) return caught.code === "unreachable" ? caught.message : `${caught.message} (${caught.code})`;
  return caught instanceof TypeError ? "the service could not be reached" : String(caught);
}

/** `fetch` with the session (its cookie, and the anti-forgery token when it changes something). */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = withCsrf((init.method ?? "GET").toUpperCase(), new Headers(init.headers));
  try {
    const response = await fetch(path, { ...init, headers, credentials: "same-origin" });
    setReachable(response.status < 502 || response.status > 504);
    return response;
  } catch (caught) {
    if (caught instanceof DOMException && caught.name === "AbortError") throw caught;
    setReachable(false);
    throw new ApiError("unreachable", "the service could not be reached");
  }
}

/**
 * Posts a multipart form with the session and reports the bytes sent as they go (fetch
 * cannot); answers with the response's status and text.
 */
export function postForm(path: string, form: FormData, onSent?: (sent: number, total: number) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    withCsrf("POST", new Headers()).forEach((value, name) => request.setRequestHeader(name, value));
    request.upload.onprogress = (event) => event.lengthComputable && onSent?.(event.loaded, event.total);
    request.onload = () => {
      setReachable(request.status < 502 || request.status > 504);
      if (request.status === 401) {
        session.forget();
        onUnauthorized();
      }
      resolve({ status: request.status, text: request.responseText });
    };
    request.onerror = () => {
      setReachable(false);
      reject(new ApiError("unreachable", "the service could not be reached"));
    };
    request.send(form);
  });
}

/** The signed-in caller, asked once per session: several screens need their id and role. */
let signedIn: Promise<Schemas["MeOut"] | undefined> | null = null;
export function whoAmI(): Promise<Schemas["MeOut"] | undefined> {
  signedIn ??= api.GET("/v1/me").then((found) => {
    // Asked again next time when this answer was not the caller.
    if (!found.data) signedIn = null;
    return found.data;
  });
  return signedIn;
}

/** Downloads a file the API serves under `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await authorizedFetch(path);
  if (!response.ok) throw new ApiError(`http_${response.status}`, response.statusText);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The data of a response (nothing for a 204), or an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.status === 204 && result.error === undefined) return undefined as T;
  if (result.error !== undefined || result.data === undefined) {
    const body = (result.error ?? {}) as { code?: string; detail?: string };
    throw new ApiError(body.code ?? `http_${result.response.status}`, body.detail ?? result.response.statusText);
  }
  return result.data;
}

/** One server-sent event: its name, id and JSON data. */
export type SseEvent = { event?: string; id?: string; data: string };

/** Reads the server-sent events of `path` with the session until the stream ends
 * (`false` when it could not be opened). */
export async function readEvents(
  path: string,
  {
    onEvent,
    onOpen,
    signal,
    headers = {},
  }: { onEvent: (event: SseEvent) => void; onOpen?: () => void; signal: AbortSignal; headers?: Record<string, string> },
): Promise<boolean> {
  const response = await authorizedFetch(path, { headers, signal });
  if (response.status === 401) {
    session.forget();
    onUnauthorized();
  }
  if (!response.ok || !response.body) return false;
  onOpen?.();
  await readBody(response.body, onEvent);
  return true;
}

/** Hands each server-sent event of a response body to `onEvent` until the body ends. */
async function readBody(body: ReadableStream, onEvent: (event: SseEvent) => void): Promise<void> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      if (!data) continue;
      onEvent({ event: /^event: (.*)$/m.exec(block)?.[1], id: /^id: (.*)$/m.exec(block)?.[1], data });
    }
  }
}

/** Rewrites a text with a tool, streamed: `onText` gets the text written so far (a
 * preview, dropped when another model starts over); resolves with the checked rewrite,
 * or throws the API's error (then the original stands). */
export async function streamRewrite(
  body: { text: string; tool: string; ticket_id?: string; language?: string },
  onText: (soFar: string) => void,
  signal?: AbortSignal,
): Promise<Schemas["RewriteOut"]> {
  const response = await authorizedFetch("/v1/rewrite/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) {
    const error = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
    if (response.status === 401) {
      session.forget();
      onUnauthorized();
    }
    throw new ApiError(error.code ?? `http_${response.status}`, error.detail ?? response.statusText);
  }
  let soFar = "";
  let result: Schemas["RewriteOut"] | null = null;
  let failure: ApiError | null = null;
  await readBody(response.body, ({ event, data }) => {
    const parsed = JSON.parse(data) as Schemas["RewriteStreamEvent"];
    if (event === "text") onText((soFar += parsed.text ?? ""));
    if (event === "restart") onText((soFar = ""));
    if (event === "done") result = parsed.result ?? null;
    if (event === "error") failure = new ApiError(parsed.error?.code ?? "rewrite_failed", parsed.error?.detail ?? "");
  });
  if (failure) throw failure;
  if (!result) throw new ApiError("rewrite_interrupted", "the rewrite stopped before it ended; the original stands");
  return result;
}

/** Reads a draft's server-sent events (`text` pieces, then one `draft`) until it ends;
 * `restart` means another model starts over, so the text so far is dropped. */
export async function streamDraft(
  id: string,
  onText: (text: string) => void,
  signal: AbortSignal,
  onRestart?: () => void,
): Promise<Draft | null> {
  let final: Draft | null = null;
  await readEvents(`/v1/drafts/${id}/stream`, {
    onEvent: ({ event, data }) => {
      if (event === "text") onText(JSON.parse(data).text ?? "");
      if (event === "restart") onRestart?.();
      if (event === "draft") final = JSON.parse(data).draft ?? null;
    },
    signal,
  });
  return final;
}
