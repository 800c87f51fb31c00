// Live updates: one connection to the tenant's event stream (`GET /v1/events/stream`) for
// the whole page, shared by every screen that listens, reconnecting with `Last-Event-ID`
// after a drop, plus a slow refresh as a safety net.
import { useEffect, useRef, useState } from "react";

import { readEvents, type TenantEvent } from "./api/client";

/** Events closer together than this cause one refresh. */
const DEBOUNCE_MS = 250;
/** How long to wait before reconnecting a dropped stream. */
const RECONNECT_MS = 2000;
/** A refresh this often even while the stream is live (it may miss an event whose change took long to commit). */
const SAFETY_REFRESH_MS = 60_000;
/** How often to refresh while the stream is down. */
const FALLBACK_REFRESH_MS = 5000;
/** The connection stays open this long after its last listener left (a screen change reuses it). */
const LINGER_MS = 1000;

type Listener = {
  onEvent: (event: TenantEvent) => void;
  onLive: (live: boolean) => void;
  /** The stream dropped: events may have been missed. */
  onGap: () => void;
};

const listeners = new Set<Listener>();
let connection: AbortController | null = null;
let connected = false;
let linger: number | null = null;

function announce(live: boolean) {
  connected = live;
  listeners.forEach((listener) => listener.onLive(live));
}

function connect() {
  if (connection) return;
  const abort = new AbortController();
  connection = abort;
  let lastId: string | undefined;
  void (async () => {
    while (!abort.signal.aborted) {
      await readEvents("/v1/events/stream", {
        onOpen: () => announce(true),
        onEvent: ({ id, data }) => {
          if (id) lastId = id;
          const event = JSON.parse(data) as TenantEvent;
          listeners.forEach((listener) => listener.onEvent(event));
        },
        signal: abort.signal,
        headers: lastId ? { "Last-Event-ID": lastId } : {},
      }).catch(() => false);
      if (abort.signal.aborted) return;
      announce(false);
      listeners.forEach((listener) => listener.onGap());
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
}

/** Listens to the tenant's events until the returned function is called. */
function listen(listener: Listener): () => void {
  if (linger !== null) window.clearTimeout(linger);
  linger = null;
  listeners.add(listener);
  listener.onLive(connected);
  connect();
  return () => {
    listeners.delete(listener);
    if (listeners.size > 0) return;
    linger = window.setTimeout(() => {
      linger = null;
      if (listeners.size > 0) return;
      connection?.abort();
      connection = null;
      connected = false;
    }, LINGER_MS);
  };
}

/** Calls `onEvent` for every event of the tenant while the component is shown. */
export function useTenantEvent(onEvent: (event: TenantEvent) => void) {
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => listen({ onEvent: (event) => latest.current(event), onLive: () => {}, onGap: () => {} }), []);
}

/**
 * Calls `refresh` after events of the tenant that `wanted` accepts, and when updates may
 * have been missed. Returns whether the stream is live.
 */
export function useTenantEvents(wanted: (event: TenantEvent) => boolean, refresh: () => void): boolean {
  const [live, setLive] = useState(connected);
  const scheduled = useRef<number | null>(null);
  const latest = useRef({ wanted, refresh });
  latest.current = { wanted, refresh };

  useEffect(() => {
    // A burst of events (a ticket, its message, its triage) refreshes once, with the
    // screen's latest `refresh` (its filters may have changed meanwhile).
    const soon = () => {
      if (scheduled.current !== null) return;
      scheduled.current = window.setTimeout(() => {
        scheduled.current = null;
        latest.current.refresh();
      }, DEBOUNCE_MS);
    };
    const stop = listen({
      onEvent: (event) => latest.current.wanted(event) && soon(),
      onLive: setLive,
      onGap: soon,
    });
    return () => {
      stop();
      if (scheduled.current !== null) window.clearTimeout(scheduled.current);
    };
  }, []);

  useEffect(() => {
    const timer = window.setInterval(() => latest.current.refresh(), live ? SAFETY_REFRESH_MS : FALLBACK_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [live]);

  return live;
}
