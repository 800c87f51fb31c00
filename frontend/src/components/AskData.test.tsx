import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { LanguageProvider } from "../i18n";
import { ResultView, describeQuery, type Result } from "./AskData";

afterEach(cleanup);

const view = (result: Result) =>
  render(
    <LanguageProvider initial="en">
      <ResultView result={result} label="answer" />
    </LanguageProvider>,
  );

describe("ResultView", () => {
  it("draws one number for a query without groups", () => {
    view({ columns: [{ name: "count", type: "integer" }], rows: [[1234]], chart: { type: "number", y: ["count"] }, truncated: false });
    expect(screen.getByLabelText("answer").textContent).toContain("1,234");
  });

  it("stacks each bar by its series, widths in proportion to the largest total", () => {
    const { container } = view({
      columns: [
        { name: "channel", type: "text" },
        { name: "intent", type: "text" },
        { name: "count", type: "integer" },
      ],
      rows: [
        ["email", "refund", 6],
        ["email", "other", 2],
        ["chat", "refund", 4],
      ],
      chart: { type: "stacked_bar", x: "channel", y: ["count"], series: "intent" },
      truncated: true,
    });
    const bars = screen.getByRole("list", { name: "answer" }).querySelectorAll("li");
    expect(bars).toHaveLength(2);
    const widths = Array.from(container.querySelectorAll<HTMLElement>(".bar-part")).map((part) => part.style.width);
    expect(widths).toEqual(["75%", "25%", "50%"]);
    expect(bars[0].textContent).toContain("8");
    expect(screen.getByText("More rows matched than shown.")).toBeTruthy();
    // Every row is in the table too.
    expect(screen.getByRole("table", { name: "Rows of answer" }).querySelectorAll("tbody tr")).toHaveLength(3);
  });

  it("draws one line per series over the time buckets", () => {
    view({
      columns: [
        { name: "created_at_day", type: "time" },
        { name: "channel", type: "text" },
        { name: "count", type: "integer" },
      ],
      rows: [
        ["2026-12-01T00:00:00+08:00", "chat", 1],
        ["2026-12-02T00:00:00+08:00", "chat", 3],
        ["2026-12-01T00:00:00+08:00", "email", 2],
      ],
      chart: { type: "line", x: "created_at_day", y: ["count"], series: "channel" },
      truncated: false,
    });
    const lines = screen.getByRole("img", { name: "answer" }).querySelectorAll("polyline");
    expect(lines).toHaveLength(2);
    expect(lines[0].getAttribute("points")?.split(" ")).toHaveLength(2);
  });
});

describe("describeQuery", () => {
  it("reads a typed query as one line", () => {
    expect(
      describeQuery({
        dataset: "tickets",
        measures: [{ fn: "count" }, { fn: "avg", field: "first_reply_seconds" }],
        filters: [{ field: "created_at", op: "between", value: "last_week" }],
        group_by: [{ field: "channel" }],
        order_by: [],
      }),
    ).toBe("tickets: count, avg(first_reply_seconds) · where created_at between last_week · grouped by channel");
  });
});
