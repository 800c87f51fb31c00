// Live updates: the tenant's event stream (`GET /v1/events/stream`), reconnecting with
// `Last-Event-ID` after a drop, plus a slow refresh as a safety net.
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

/**
 * Calls `onEvent` for each event of the tenant that `wanted` accepts, and `refresh` when
 * updates may have been missed. Returns whether the stream is live.
 */
export function useTenantEvents(wanted: (event: TenantEvent) => boolean, refresh: () => void): boolean {
  const [live, setLive] = useState(false);
  const scheduled = useRef<number | null>(null);
  const latest = useRef({ wanted, refresh });
  latest.current = { wanted, refresh };
  // A burst of events (a ticket, its message, its triage) refreshes once, with the
  // screen's latest `refresh` (its filters may have changed meanwhile).
  const handlers = useRef({
    wanted: (event: TenantEvent) => latest.current.wanted(event),
    refresh: () => {
      if (scheduled.current !== null) return;
      scheduled.current = window.setTimeout(() => {
        scheduled.current = null;
        latest.current.refresh();
      }, DEBOUNCE_MS);
    },
  });

  useEffect(() => {
    const abort = new AbortController();
    let lastId: string | undefined;
    let stopped = false;
    (async () => {
      while (!stopped) {
        await readEvents("/v1/events/stream", {
          onOpen: () => setLive(true),
          onEvent: ({ id, data }) => {
            if (id) lastId = id;
            const event = JSON.parse(data) as TenantEvent;
            if (handlers.current.wanted(event)) handlers.current.refresh();
          },
          signal: abort.signal,
          headers: lastId ? { "Last-Event-ID": lastId } : {},
        }).catch(() => false);
        setLive(false);
        if (stopped) return;
        handlers.current.refresh();
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    })();
    return () => {
      stopped = true;
      abort.abort();
      if (scheduled.current !== null) window.clearTimeout(scheduled.current);
    };
  }, []);

  useEffect(() => {
    const timer = window.setInterval(() => handlers.current.refresh(), live ? SAFETY_REFRESH_MS : FALLBACK_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [live]);

  return live;
}
