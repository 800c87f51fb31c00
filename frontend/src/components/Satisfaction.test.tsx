import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

const scores = (requested: number, responses: number, satisfaction?: number, average?: number) => ({
  requested,
  responses,
  satisfied: Math.round((satisfaction ?? 0) * responses),
  satisfaction,
  average,
  distribution: [0, 0, 0, 0, 0],
  good: 0,
  bad: 0,
});

const answers: Record<string, unknown> = {
  "/v1/tickets/t1/csat": {
    id: "s1",
    ticket_id: "t1",
    scale: "five",
    stage: "requested",
    language: "en",
    channel: "email",
    ai_drafted: true,
    rating: 2,
    satisfied: false,
    comment: "Too slow",
    rated_at: "2027-03-01T09:00:00Z",
    created_at: "2027-03-01T08:00:00Z",
  },
  "/v1/analytics/csat": {
    from: "2027-02-01T00:00:00Z",
    to: "2027-03-01T00:00:00Z",
    period: "week",
    totals: scores(4, 3, 2 / 3, 3.7),
    by_period: [{ start: "2027-02-22T00:00:00Z", scores: scores(4, 3, 2 / 3, 3.7) }],
    by_agent: [{ key: "u1", scores: scores(4, 3, 2 / 3, 3.7) }],
    by_intent: [],
    by_channel: [],
    by_reply: [
      { key: "ai_drafted", scores: scores(2, 2, 1, 5) },
      { key: "typed", scores: scores(2, 1, 0, 2) },
    ],
  },
  "/v1/assignees": [{ id: "u1", email: "lee@example.test", name: "Lee" }],
};

let TicketSurvey: typeof import("./Satisfaction").TicketSurvey;
let SatisfactionReport: typeof import("./Satisfaction").SatisfactionReport;
let LanguageProvider: typeof import("../i18n").LanguageProvider;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname;
    const answer = answers[path];
    return answer === undefined
      ? new Response(JSON.stringify({ code: "not_found", detail: "survey not found" }), { status: 404, headers: { "Content-Type": "application/json" } })
      : new Response(JSON.stringify(answer), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  ({ TicketSurvey, SatisfactionReport } = await import("./Satisfaction"));
  ({ LanguageProvider } = await import("../i18n"));
});

describe("satisfaction", () => {
  it("shows the customer's rating and comment on the ticket, and nothing for a ticket without a survey", async () => {
    render(
      <LanguageProvider initial="en">
        <TicketSurvey ticketId="t1" status="solved" />
        <TicketSurvey ticketId="t2" status="solved" />
      </LanguageProvider>,
    );
    expect(await screen.findByText("2 / 5")).toBeTruthy();
    expect(screen.getByText("Too slow")).toBeTruthy();
    expect(screen.getByText(/AI-drafted reply/)).toBeTruthy();
    expect(screen.getAllByRole("heading", { name: "Satisfaction" })).toHaveLength(1);
  });

  it("drops the previous ticket's survey when the next ticket has none", async () => {
    const { rerender } = render(
      <LanguageProvider initial="en">
        <TicketSurvey ticketId="t1" status="solved" />
      </LanguageProvider>,
    );
    expect(await screen.findByText("Too slow")).toBeTruthy();
    rerender(
      <LanguageProvider initial="en">
        <TicketSurvey ticketId="t2" status="solved" />
      </LanguageProvider>,
    );
    await waitFor(() => expect(screen.queryByText("Too slow")).toBeNull());
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("compares AI-drafted and typed replies and names agents", async () => {
    render(
      <LanguageProvider initial="en">
        <SatisfactionReport period="week" />
      </LanguageProvider>,
    );
    const byReply = await screen.findByRole("table", { name: "AI-drafted or typed" });
    const drafted = within(byReply).getByRole("row", { name: /AI-drafted reply/ });
    expect(within(drafted).getByText("100%")).toBeTruthy();
    const typed = within(byReply).getByRole("row", { name: /Typed replies/ });
    expect(within(typed).getByText("0%")).toBeTruthy();
    const byAgent = screen.getByRole("table", { name: "By agent" });
    expect(await within(byAgent).findByText("Lee")).toBeTruthy();
    expect(within(byAgent).getByText("67%")).toBeTruthy();
  });
});
