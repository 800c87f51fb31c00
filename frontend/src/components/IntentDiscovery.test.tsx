import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { LanguageProvider } from "../i18n";
import { ProposalCard } from "./IntentDiscovery";

afterEach(cleanup);

const proposal = {
  id: "p1",
  size: 12,
  label_suggestion: "vat_invoice",
  description: "Customers asking to fix the VAT number on an invoice.",
  keywords: ["vat", "invoice", "税号"],
  examples: [
    { message_id: "m1", text: "The VAT number on my invoice is wrong" },
    { message_id: "m2", text: "发票上的税号错了" },
  ],
  message_ids: ["m1", "m2"],
  nearest_existing_intent: "refund",
  similarity: 0.61,
  status: "proposed" as const,
};

describe("ProposalCard", () => {
  it("shows a cluster and accepts it under an edited label, or merges it into an intent", () => {
    const decide = vi.fn();
    render(
      <LanguageProvider initial="en">
        <ProposalCard proposal={proposal} intents={["refund", "shipping"]} decide={decide} />
      </LanguageProvider>,
    );
    expect(screen.getByText(/12 messages/)).toBeTruthy();
    expect(screen.getByText(/nearest intent: refund \(61%\)/)).toBeTruthy();
    expect(screen.getByText("Keywords: vat, invoice, 税号")).toBeTruthy();
    expect(screen.getByText("“发票上的税号错了”")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Label"), { target: { value: "wrong_vat" } });
    fireEvent.click(screen.getByRole("button", { name: "Add as intent" }));
    expect(decide).toHaveBeenLastCalledWith("accept", "wrong_vat");
    fireEvent.change(screen.getByLabelText("or add to"), { target: { value: "shipping" } });
    fireEvent.click(screen.getByRole("button", { name: "Merge" }));
    expect(decide).toHaveBeenLastCalledWith("merge", "shipping");
  });

  it("shows what was decided instead of the buttons", () => {
    render(
      <LanguageProvider initial="en">
        <ProposalCard proposal={{ ...proposal, status: "merged", decided_label: "refund" }} intents={[]} decide={vi.fn()} />
      </LanguageProvider>,
    );
    expect(screen.getByText("Merged into: refund")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Reject" })).toBeNull();
  });
});
