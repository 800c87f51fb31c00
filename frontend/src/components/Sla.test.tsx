import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { LanguageProvider } from "../i18n";
import { SlaBadge, countdown, slaState } from "./Sla";

afterEach(cleanup);

const NOW = Date.parse("2027-03-01T10:00:00Z");
const target = (kind: "first_reply" | "resolution", due: string, extra: object = {}) => ({
  kind,
  minutes: 60,
  business_hours: false,
  started_at: "2027-03-01T09:00:00Z",
  due_at: due,
  paused: false,
  ...extra,
});
const sla = (targets: ReturnType<typeof target>[], breached = false) => ({
  policy_id: "p",
  policy_name: "Standard",
  targets,
  next_due_at: targets.filter((t) => !("achieved_at" in t) && !t.paused).map((t) => t.due_at).sort()[0],
  breached,
});

describe("SLA badge", () => {
  it("counts down in hours and minutes under two days", () => {
    const minutes = (n: number) => NOW + n * 60_000;
    expect(countdown(NOW, minutes(25), "en")).toBe("25 min");
    expect(countdown(NOW, minutes(119), "en")).toBe("1 hr 59 min");
    expect(countdown(NOW, minutes(120), "en")).toBe("2 hr");
    expect(countdown(NOW, minutes(3 * 1440 + 5), "en")).toBe("3 days");
    expect(countdown(minutes(119), NOW, "zh")).toBe("1小时59分钟");
  });

  it("reads the state of the running targets", () => {
    expect(slaState(undefined)).toBeNull();
    expect(slaState(sla([target("first_reply", "2027-03-01T10:30:00Z")]), NOW)).toBe("due");
    const warned = target("first_reply", "2027-03-01T10:10:00Z", { warn_at: "2027-03-01T09:55:00Z" });
    expect(slaState(sla([warned]), NOW)).toBe("soon");
    expect(slaState(sla([target("first_reply", "2027-03-01T09:50:00Z")], true), NOW)).toBe("breached");
    expect(slaState(sla([target("resolution", "2027-03-01T12:00:00Z", { paused: true })]), NOW)).toBe("paused");
    expect(slaState(sla([target("first_reply", "2027-03-01T09:50:00Z", { achieved_at: "2027-03-01T09:40:00Z" })]), NOW)).toBe("met");
  });

  it("counts down to the next due target and up from a breach, in the reader's language", () => {
    const running = sla([target("resolution", "2027-03-01T14:00:00Z"), target("first_reply", "2027-03-01T10:25:00Z")]);
    render(
      <LanguageProvider initial="en">
        <SlaBadge sla={running} now={NOW} />
      </LanguageProvider>,
    );
    expect(screen.getByText("First reply due in 25 min")).toBeTruthy();
    cleanup();
    render(
      <LanguageProvider initial="zh">
        <SlaBadge sla={sla([target("first_reply", "2027-03-01T08:00:00Z")], true)} now={NOW} />
      </LanguageProvider>,
    );
    expect(screen.getByText(/首次回复已超时 2/).className).toContain("sla-breached");
  });
});
