import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { LanguageProvider } from "../i18n";
import { CountBars, RatesChart, UsageByDay, VolumeChart } from "./Analytics";

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

describe("VolumeChart", () => {
  it("stacks each period's tickets by sentiment, negative at the bottom", () => {
    const split = (negative: number, neutral: number) => [
      { key: "neutral", count: neutral },
      { key: "negative", count: negative },
    ];
    render(
      <VolumeChart
        label="volume"
        rows={[
          { start: "2026-11-30T00:00:00Z", tickets: 6, by_sentiment: split(2, 4) },
          { start: "2026-12-01T00:00:00Z", tickets: 3, by_sentiment: split(3, 0) },
        ]}
      />,
    );
    const rects = Array.from(screen.getByRole("img", { name: "volume" }).querySelectorAll("rect"));
    expect(rects.map((r) => r.getAttribute("class"))).toEqual([
      "sentiment-fill-negative",
      "sentiment-fill-neutral",
      "sentiment-fill-negative",
      "sentiment-fill-neutral",
    ]);
    const height = (index: number) => Number(rects[index].getAttribute("height"));
    expect(height(1)).toBeCloseTo(2 * height(0));
    expect(height(2)).toBeCloseTo(1.5 * height(0));
    expect(Number(rects[0].getAttribute("y"))).toBeGreaterThan(Number(rects[1].getAttribute("y")));
  });
});

describe("CountBars", () => {
  it("sizes bars against the largest count and names each row", () => {
    render(
      <CountBars
        label="intents"
        name={(key) => key.toUpperCase()}
        counts={[
          { key: "refund", count: 4 },
          { key: "shipping", count: 1 },
        ]}
      />,
    );
    const table = screen.getByRole("table", { name: "intents" });
    const bars = Array.from(table.querySelectorAll<HTMLElement>(".bar"));
    expect(bars.map((bar) => bar.style.width)).toEqual(["100%", "25%"]);
    expect(screen.getByRole("rowheader", { name: "REFUND" })).toBeTruthy();
  });
});

describe("UsageByDay", () => {
  it("draws a bar per day against the busiest day, titled with calls and cost", () => {
    const day = (key: string, total_tokens: number, calls: number, cost: number) => ({
      key,
      calls,
      failed_calls: 0,
      prompt_tokens: total_tokens,
      completion_tokens: 0,
      total_tokens,
      cost,
    });
    render(
      <LanguageProvider initial="en">
        <UsageByDay label="tokens per day" rows={[day("2026-12-01", 1000, 4, 0.5), day("2026-12-02", 250, 1, 0.125)]} />
      </LanguageProvider>,
    );
    const chart = screen.getByRole("img", { name: "tokens per day" });
    const bars = Array.from(chart.querySelectorAll("rect.usage-bar"));
    expect(bars.map((bar) => Number(bar.getAttribute("height")))).toEqual([120, 30]);
    expect(bars[1].querySelector("title")?.textContent).toBe("2026-12-02: 250 tokens · Calls 1 · cost 0.125");
  });
});
