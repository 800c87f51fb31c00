import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

/** Every request the page made: method, path, query and JSON body. */
const calls: { method: string; path: string; query: URLSearchParams; body: unknown }[] = [];

const ticket = (number: number, extra: Record<string, unknown> = {}) => ({
  id: `t${number}`,
  number,
  subject: `Subject ${number}`,
  status: "open",
  priority: "normal",
  channel: "web",
  customer: { id: "c1", email: "ann@example.test", name: "Ann" },
  tags: [],
  draft_ready: false,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
  ...extra,
});

function answer(method: string, path: string): unknown {
  if (path === "/v1/me") return { user: { id: "u1" }, role: "agent" };
  if (path === "/v1/assignees") return [{ id: "u1", email: "lee@example.test", name: "Lee" }];
  if (path === "/v1/tickets/views") {
    return {
      views: [
        { id: "active", count: 2, filter: { active: true } },
        { id: "negative", count: 1, filter: { active: true, sentiment: "negative" } },
      ],
    };
  }
  if (method === "POST" && path === "/v1/tickets/bulk") return { tickets: [ticket(1), ticket(2)] };
  if (path === "/v1/tickets") {
    return {
      data: [
        ticket(1, {
          draft_ready: true,
          preview: "My parcel is late",
          waiting_since: new Date(Date.now() - 3 * 3600_000).toISOString(),
          sentiment: "negative",
          sentiment_score: -0.81,
        }),
        ticket(2),
      ],
    };
  }
  return {};
}

// The API client captures `fetch` when it is made: stub it before the page is imported.
let Inbox: typeof import("./Inbox").Inbox;
let duration: typeof import("./Inbox").duration;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request) => {
    const url = new URL(input.url, "http://localhost");
    const text = input.method === "GET" ? "" : await input.text();
    calls.push({ method: input.method, path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined });
    if (url.pathname === "/v1/events/stream") return new Response(null, { status: 503 });
    return new Response(JSON.stringify(answer(input.method, url.pathname)), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  ({ Inbox, duration } = await import("./Inbox"));
});

async function renderInbox() {
  const { LanguageProvider } = await import("../i18n");
  render(
    <LanguageProvider initial="en">
      <Inbox open={vi.fn()} />
    </LanguageProvider>,
  );
  await screen.findByText("Subject 1");
}

describe("Inbox", () => {
  it("shows what waits: a draft ready, the wait, the preview and the sentiment score", async () => {
    await renderInbox();
    expect(screen.getByText("Draft ready")).toBeTruthy();
    expect(screen.getByText("My parcel is late")).toBeTruthy();
    expect(screen.getByText("3 hr")).toBeTruthy();
    expect(screen.getByText(/Negative -0\.81/)).toBeTruthy();
    expect(screen.getByText("Answered")).toBeTruthy();
  });

  it("lists a view with its server-side filter and count", async () => {
    await renderInbox();
    fireEvent.click(await screen.findByRole("button", { name: "Unhappy customers 1" }));
    await waitFor(() => {
      const listed = calls.filter((c) => c.path === "/v1/tickets").at(-1);
      expect(listed?.query.get("sentiment")).toBe("negative");
      expect(listed?.query.get("active")).toBe("true");
    });
  });

  it("changes the selected tickets at once", async () => {
    await renderInbox();
    fireEvent.click(screen.getByRole("checkbox", { name: "Select every ticket shown" }));
    fireEvent.change(screen.getByLabelText("Set status"), { target: { value: "pending" } });
    fireEvent.change(screen.getByLabelText("Add tag"), { target: { value: "refunds" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply to selected" }));
    await screen.findByText("2 tickets changed.");
    const bulk = calls.find((c) => c.path === "/v1/tickets/bulk");
    expect(bulk?.body).toEqual({ ticket_ids: ["t1", "t2"], status: "pending", add_tags: ["refunds"], remove_tags: [] });
  });
});

describe("waiting times", () => {
  it("read in the largest whole unit, in the reader's language", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    expect(duration("2026-12-04T11:55:00Z", "en", now)).toBe("5 min");
    expect(duration("2026-12-04T09:00:00Z", "en", now)).toBe("3 hr");
    expect(duration("2026-12-01T12:00:00Z", "en", now)).toBe("3 days");
    expect(duration("2026-12-04T09:00:00Z", "zh", now)).toBe("3小时");
  });
});
