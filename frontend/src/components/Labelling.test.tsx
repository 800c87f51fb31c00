import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { LanguageProvider } from "../i18n";
import { LabellingProgress } from "./Labelling";

afterEach(cleanup);

describe("LabellingProgress", () => {
  it("shows how far the job got, what it counted and its tokens", () => {
    render(
      <LanguageProvider initial="en">
        <LabellingProgress
          job={{
            id: "0193a000-0000-7000-8000-000000000001",
            status: "running",
            scope: { only: "unlabeled" },
            max_messages: 500,
            total: 40,
            labelled: 17,
            invalid: 2,
            skipped: 1,
            prompt_tokens: 12000,
            completion_tokens: 800,
            created_at: "2026-12-05T10:00:00Z",
          }}
        />
      </LanguageProvider>,
    );
    const bar = screen.getByRole("progressbar", { name: "Labelling progress" }) as HTMLProgressElement;
    expect([bar.value, bar.max]).toEqual([20, 40]);
    expect(screen.getByText("20 / 40", { exact: false })).toBeTruthy();
    expect(screen.getByText(/Labelled 17 · Not usable 2 · Set by agents 1 · 12,800 tokens/)).toBeTruthy();
    expect(screen.getByText("Labelling…")).toBeTruthy();
  });
});
