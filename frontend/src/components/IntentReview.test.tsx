import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

/** Every request the component made: method, path and JSON body. */
const calls: { method: string; path: string; body: unknown }[] = [];

const item = (n: number, model: string, llm: string) => ({
  message_id: `m${n}`,
  ticket_id: `t${n}`,
  text: `Message ${n}`,
  model: { label: model, confidence: 0.9 - n / 10 },
  llm: { label: llm, confidence: 0.8 },
  labelled_at: "2026-12-05T10:00:00Z",
});

function answer(method: string, path: string): unknown {
  if (method === "GET" && path === "/v1/intents/review") {
    return { total: 2, data: [item(1, "refund", "shipping"), item(2, "other", "refund")] };
  }
  if (method === "POST") return { status: "done", attempts: 1, intent: { label: "shipping", confidence: 1 } };
  return {};
}

// The API client captures `fetch` when it is made: stub it before the component is imported.
let IntentReview: typeof import("./IntentReview").IntentReview;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request) => {
    const url = new URL(input.url, "http://localhost");
    const text = await input.text();
    calls.push({ method: input.method, path: url.pathname, body: text ? JSON.parse(text) : undefined });
    return new Response(JSON.stringify(answer(input.method, url.pathname)), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  ({ IntentReview } = await import("./IntentReview"));
});

describe("IntentReview", () => {
  it("settles a disagreement with one key and moves to the next, and skips with s", async () => {
    const { LanguageProvider } = await import("../i18n");
    render(
      <LanguageProvider initial="en">
        <IntentReview />
      </LanguageProvider>,
    );
    const message = await screen.findByText("Message 1");
    const card = screen.getByLabelText("Message to review");
    expect(message).toBeTruthy();
    fireEvent.keyDown(card, { key: "2" });
    await waitFor(() => expect(screen.getByText("Message 2")).toBeTruthy());
    expect(calls.filter((call) => call.method === "POST")).toEqual([
      { method: "POST", path: "/v1/intents/review/m1/accept", body: { label: "shipping" } },
    ]);
    expect(screen.getByText("1", { selector: ".badge" })).toBeTruthy();
    fireEvent.keyDown(screen.getByLabelText("Message to review"), { key: "s" });
    expect(screen.getByText("Message 2")).toBeTruthy();
    fireEvent.keyDown(screen.getByLabelText("Message to review"), { key: "1", ctrlKey: true });
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(1);
  });
});
