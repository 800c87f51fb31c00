import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Draft } from "../api/client";
import { LanguageProvider } from "../i18n";
import { DraftPanel } from "./DraftPanel";

afterEach(cleanup);

function draft(overrides: Partial<Draft> = {}): Draft {
  return {
    id: "d1",
    ticket_id: "t1",
    status: "ready",
    body: "We refund within 5 days. [S1]",
    citations: [{ chunk_id: "c1", document_id: "doc", document_version: 1, title: "Returns", quote: "Refunds take 5 days." }],
    confidence: 0.82,
    language: "en",
    mode: "llm",
    model: "test-model",
    usage: { prompt_tokens: 10, completion_tokens: 5 },
    notes: [],
    attempts: 1,
    created_at: "2026-12-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    ...overrides,
  } as Draft;
}

function renderPanel(props: Partial<Parameters<typeof DraftPanel>[0]> = {}, language: "en" | "zh" = "en") {
  const handlers = { onApprove: vi.fn(), onReject: vi.fn(), onRegenerate: vi.fn() };
  render(
    <LanguageProvider initial={language}>
      <DraftPanel draft={draft()} streaming="" busy={false} error={null} {...handlers} {...props} />
    </LanguageProvider>,
  );
  return handlers;
}

describe("DraftPanel", () => {
  it("approves the edited text", () => {
    const { onApprove } = renderPanel();
    const text = screen.getByRole("textbox", { name: "Draft reply" });
    fireEvent.change(text, { target: { value: "Edited reply" } });
    fireEvent.click(screen.getByRole("button", { name: "Approve and send" }));
    expect(onApprove).toHaveBeenCalledWith("Edited reply");
  });

  it("shows confidence, mode and the cited passage", () => {
    renderPanel();
    expect(screen.getByText("82%")).toBeTruthy();
    expect(screen.getByText("llm · test-model")).toBeTruthy();
    expect(screen.getByText("Returns")).toBeTruthy();
    expect(screen.getByText("Refunds take 5 days.")).toBeTruthy();
  });

  it("asks for a reason before rejecting", () => {
    const { onReject } = renderPanel();
    fireEvent.click(screen.getByRole("button", { name: "Reject" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Why is this draft wrong?" }), { target: { value: "wrong policy" } });
    fireEvent.click(screen.getByRole("button", { name: "Reject" }));
    expect(onReject).toHaveBeenCalledWith("wrong policy");
  });

  it("regenerates with instructions and approves with Ctrl+Enter", () => {
    const { onRegenerate, onApprove } = renderPanel();
    fireEvent.change(screen.getByRole("textbox", { name: /Instructions/ }), { target: { value: "shorter" } });
    fireEvent.click(screen.getByRole("button", { name: "Regenerate" }));
    expect(onRegenerate).toHaveBeenCalledWith("shorter");
    fireEvent.keyDown(screen.getByRole("textbox", { name: "Draft reply" }), { key: "Enter", ctrlKey: true });
    expect(onApprove).toHaveBeenCalledWith("We refund within 5 days. [S1]");
  });

  it("offers no decision on a superseded draft and says why", () => {
    renderPanel({ draft: draft({ status: "superseded" }) });
    expect(screen.getByText("A newer customer message superseded this draft.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Approve and send" })).toBeNull();
  });

  it("shows the text streaming in while the draft is written", () => {
    renderPanel({ draft: draft({ status: "generating", body: undefined }), streaming: "We refund" });
    expect(screen.getByText("Writing…")).toBeTruthy();
    expect(screen.getByText("We refund")).toBeTruthy();
  });

  it("speaks Chinese", () => {
    renderPanel({}, "zh");
    expect(screen.getByRole("button", { name: "批准并发送" })).toBeTruthy();
    expect(screen.getByText("置信度")).toBeTruthy();
  });
});
