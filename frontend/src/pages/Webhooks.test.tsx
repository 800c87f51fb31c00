import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

/** Every request the page made: method, path and JSON body. */
const calls: { method: string; path: string; body: unknown }[] = [];
let enabled = true;

const hook = () => ({
  id: "h1",
  url: "https://hooks.example.com/in",
  events: ["*"],
  enabled,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
});

function answer(method: string, path: string): unknown {
  if (method === "GET" && path === "/v1/webhooks") return { data: [hook()] };
  if (method === "GET" && path.endsWith("/deliveries")) return { data: [] };
  if (method === "POST" && path.endsWith("/test")) return { id: "d1", event_type: "webhook.test", status: "pending", attempts: 0 };
  if (method === "POST" && path.endsWith("/replay")) return { queued: 3 };
  if (method === "POST" && path.endsWith("/rotate-secret")) return { ...hook(), secret: "whsec_new" };
  if (method === "PATCH") {
    enabled = !enabled;
    return hook();
  }
  return {};
}

// The API client captures `fetch` when it is made: stub it before the page is imported.
let Webhooks: typeof import("./Settings").Webhooks;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request) => {
    const url = new URL(input.url, "http://localhost");
    const text = await input.text();
    calls.push({ method: input.method, path: url.pathname, body: text ? JSON.parse(text) : undefined });
    const status = input.method === "DELETE" ? 204 : 200;
    const body = status === 204 ? null : JSON.stringify(answer(input.method, url.pathname));
    return new Response(body, { status, headers: { "Content-Type": "application/json" } });
  });
  ({ Webhooks } = await import("./Settings"));
});

describe("Webhooks", () => {
  it("tests, disables, replays, rotates and deletes an endpoint", async () => {
    vi.spyOn(window, "confirm").mockReturnValue(true);
    const { LanguageProvider } = await import("../i18n");
    render(
      <LanguageProvider initial="en">
        <Webhooks />
      </LanguageProvider>,
    );
    await screen.findByText("https://hooks.example.com/in");

    fireEvent.click(screen.getByRole("button", { name: "Send a test event" }));
    await screen.findByText("Test event queued; its delivery shows in the log.");
    fireEvent.click(screen.getByRole("button", { name: "Disable" }));
    await screen.findByRole("button", { name: "Enable" });
    fireEvent.click(screen.getByRole("button", { name: "Replay the last 24 hours" }));
    await screen.findByText("Events queued again: 3");
    fireEvent.click(screen.getByRole("button", { name: "Rotate secret" }));
    await screen.findByText("whsec_new");
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === "/v1/webhooks/h1")).toBe(true));

    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toEqual({ enabled: false });
    const replay = calls.find((c) => c.path === "/v1/webhooks/h1/replay");
    const since = new Date((replay?.body as { since: string }).since).getTime();
    expect(Math.abs(Date.now() - 24 * 3600 * 1000 - since)).toBeLessThan(60_000);
  });
});
