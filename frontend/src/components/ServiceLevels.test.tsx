import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

const POLICY = {
  id: "p1",
  name: "VIP",
  position: 0,
  conditions: { priority: ["urgent"], channel: [], intent: [], tag: ["vip"], customer_domain: [] },
  targets: [
    { kind: "first_reply", minutes: 90, business_hours: true },
    { kind: "resolution", minutes: 2880, business_hours: false },
  ],
  pause_when_pending: true,
  warning_minutes: 15,
  updated_at: "2027-03-01T09:00:00Z",
};
const sent: { method: string; url: string; body: unknown }[] = [];
let mod: typeof import("./ServiceLevels");
let LanguageProvider: typeof import("../i18n").LanguageProvider;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const body = ["POST", "PATCH", "PUT"].includes(request.method) ? await request.json() : undefined;
    sent.push({ method: request.method, url: request.url, body });
    const answer = request.url.includes("/v1/sla-policies")
      ? request.method === "GET"
        ? { policies: [POLICY] }
        : POLICY
      : { schedules: [] };
    return new Response(JSON.stringify(answer), { status: request.method === "POST" ? 201 : 200, headers: { "Content-Type": "application/json" } });
  });
  mod = await import("./ServiceLevels");
  ({ LanguageProvider } = await import("../i18n"));
});

describe("service levels", () => {
  it("reads and writes a day's hours and says a target's length in words", () => {
    expect(mod.parseIntervals("09:00-12:00, 13:00 - 17:30")).toEqual([
      ["09:00", "12:00"],
      ["13:00", "17:30"],
    ]);
    expect(mod.parseIntervals("  ")).toEqual([]);
    expect(mod.intervalsText([["22:00", "24:00"]])).toBe("22:00-24:00");
    expect(mod.minutesText(90, "en")).toBe("1 hr 30 min");
    expect(mod.minutesText(2880, "en")).toBe("2 days");
  });

  it("lists the policies with their targets and adds one from the form", async () => {
    render(
      <LanguageProvider initial="en">
        <mod.SlaPolicies />
      </LanguageProvider>,
    );
    expect(await screen.findByText("VIP")).toBeTruthy();
    expect(screen.getByText(/First reply 1 hr 30 min \(business hours\) · Resolution 2 days/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Policy name"), { target: { value: "Standard" } });
    fireEvent.change(screen.getByLabelText("First reply (minutes)"), { target: { value: "240" } });
    fireEvent.click(screen.getByRole("button", { name: "Add policy" }));
    await waitFor(() => expect(sent.some((call) => call.method === "POST")).toBe(true));
    const created = sent.find((call) => call.method === "POST")?.body as { name: string; targets: unknown[] };
    expect(created.name).toBe("Standard");
    expect(created.targets).toEqual([{ kind: "first_reply", minutes: 240, business_hours: false }]);
  });
});
