import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { RatesChart } from "./Analytics";

afterEach(cleanup);

const rates = (drafts: number, approved: number, rejected: number) => ({
  drafts,
  approved,
  rejected,
  superseded: 0,
  failed: 0,
  acceptance_rate: approved / (approved + rejected),
  unchanged_rate: 0.5,
  light_edit_rate: 0.25,
  heavy_edit_rate: 0.25,
});

describe("RatesChart", () => {
  it("draws one stack per period, heights in proportion to the decisions", () => {
    render(
      <RatesChart
        label="decisions"
        rows={[
          { start: "2026-11-30T00:00:00Z", rates: rates(8, 4, 4) },
          { start: "2026-12-01T00:00:00Z", rates: rates(4, 4, 0) },
        ]}
      />,
    );
    const chart = screen.getByRole("img", { name: "decisions" });
    const rects = Array.from(chart.querySelectorAll("rect"));
    expect(rects).toHaveLength(8);
    const height = (index: number) => Number(rects[index].getAttribute("height"));
    // First period: 4 approved (2 unchanged, 1 light, 1 heavy) and 4 rejected.
    expect(height(0)).toBeCloseTo(2 * height(1));
    expect(height(3)).toBeCloseTo(4 * height(1));
    // Second period: no rejections.
    expect(height(7)).toBe(0);
    expect(screen.getByText("11-30")).toBeTruthy();
  });
});
