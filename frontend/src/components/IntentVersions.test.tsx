import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { LanguageProvider } from "../i18n";
import { VersionRow } from "./IntentVersions";

afterEach(cleanup);

describe("VersionRow", () => {
  it("shows a kept-out candidate's sources, scores and the gate's reason, and offers to activate it", () => {
    const activate = vi.fn();
    render(
      <LanguageProvider initial="en">
        <table>
          <tbody>
            <VersionRow
              onActivate={activate}
              version={{
                id: "v2",
                status: "candidate",
                labels: ["refund", "other"],
                examples: { admin: 3, agent: 12, llm: 800, dropped: 0 },
                metrics: {
                  macro_f1_vs_people: 0.8123,
                  macro_f1_vs_llm: 0.9,
                  held_out_people: 25,
                  held_out_llm: 200,
                  evaluated_on: "people",
                  per_intent: [],
                  llm_labels_set_aside: 4,
                },
                gate: {
                  activated: false,
                  code: "worse",
                  reason: "macro-F1 0.812 is below 0.850 of the serving version on 25 held-out labels (tolerance 0.01)",
                  held_out: 25,
                  tolerance: 0.01,
                },
                created_at: "2026-12-05T10:00:00Z",
              }}
            />
          </tbody>
        </table>
      </LanguageProvider>,
    );
    expect(screen.getByText("Candidate")).toBeTruthy();
    expect(screen.getByText("examples 3 · agents 12 · LLM 800")).toBeTruthy();
    expect(screen.getByText("4 LLM labels set aside as likely wrong")).toBeTruthy();
    expect(screen.getByText("81.2%")).toBeTruthy();
    expect(screen.getByText("90%")).toBeTruthy();
    expect(screen.getByText(/is below 0.850 of the serving version/)).toBeTruthy();
    screen.getByRole("button", { name: "Activate" }).click();
    expect(activate).toHaveBeenCalledWith("v2");
  });
});
