// The API client, typed from the committed openapi.json (`npm run gen` writes schema.d.ts).
// The session token lives in localStorage; a 401 ends the session.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Ticket = Schemas["TicketOut"];
export type Message = Schemas["MessageOut"];
export type Draft = Schemas["DraftOut"];
export type Citation = Schemas["CitationOut"];

const TOKEN_KEY = "copilot.session";

export const session = {
  token: (): string | null => localStorage.getItem(TOKEN_KEY),
  save: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** Called when the API answers 401: the app goes back to the login screen. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void) {
  onUnauthorized = handler;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && !response.url.endsWith("/v1/auth/login")) {
      session.clear();
      onUnauthorized();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
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

/** The data of a response, or an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const body = (result.error ?? {}) as { code?: string; detail?: string };
    throw new ApiError(body.code ?? `http_${result.response.status}`, body.detail ?? result.response.statusText);
  }
  return result.data;
}

/** Reads a draft's server-sent events (`text` pieces, then one `draft`) until it ends. */
export async function streamDraft(
  id: string,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<Draft | null> {
  const token = session.token();
  const response = await fetch(`/v1/drafts/${id}/stream`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal,
  });
  if (!response.ok || !response.body) return null;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let final: Draft | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      if (event === "text") onText(JSON.parse(data).text ?? "");
      if (event === "draft") final = JSON.parse(data).draft ?? null;
    }
  }
  return final;
}
