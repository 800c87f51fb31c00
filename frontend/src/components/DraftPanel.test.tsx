import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Draft } from "../api/client";
import { LanguageProvider } from "../i18n";
import { Composer } from "./Composer";
import { DraftPanel, band, citationMarks, weaklySupported } from "./DraftPanel";

afterEach(cleanup);

function draft(overrides: Partial<Draft> = {}): Draft {
  return {
    id: "d1",
    ticket_id: "t1",
    status: "ready",
    body: "We refund within 5 days.",
    citations: [
      { chunk_id: "c1", document_id: "doc", document_version: 3, title: "Returns", heading: "Refunds", quote: "Refunds take 5 days." },
    ],
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
  const handlers = { onUse: vi.fn(), onReject: vi.fn(), onRegenerate: vi.fn(), onExtractive: vi.fn() };
  render(
    <LanguageProvider initial={language}>
      <DraftPanel draft={draft()} streaming="" busy={false} {...handlers} {...props} />
    </LanguageProvider>,
  );
  return handlers;
}

function renderComposer(fromDraft: Draft | null, text = "Hello") {
  const onSend = vi.fn();
  render(
    <LanguageProvider initial="en">
      <Composer mode="reply" onMode={vi.fn()} text={text} onText={vi.fn()} fromDraft={fromDraft} onDropDraft={vi.fn()} busy={false} onSend={onSend} onRewrite={vi.fn()} />
    </LanguageProvider>,
  );
  return onSend;
}

describe("DraftPanel", () => {
  it("hands the draft's text to the composer", () => {
    const { onUse } = renderPanel();
    fireEvent.click(screen.getByRole("button", { name: "Use this draft" }));
    expect(onUse).toHaveBeenCalledWith("We refund within 5 days.");
  });

  it("shows the confidence band and every source with its section, version and quote", () => {
    renderPanel();
    expect(screen.getByText("High confidence")).toBeTruthy();
    expect(screen.getByText(/written by/)).toBeTruthy();
    expect(screen.getByText("test-model")).toBeTruthy();
    expect(screen.getByText("Returns")).toBeTruthy();
    expect(screen.getByText(/› Refunds/)).toBeTruthy();
    expect(screen.getByText("version 3")).toBeTruthy();
    expect(screen.getByText("Refunds take 5 days.")).toBeTruthy();
  });

  it("says its remarks in words, not codes", () => {
    renderPanel({ draft: draft({ confidence: 0.3, notes: ["no_relevant_knowledge"] }) });
    expect(screen.getByText("Low confidence")).toBeTruthy();
    expect(screen.getByText(/Nothing in the knowledge base matches this question well/)).toBeTruthy();
    expect(screen.queryByText("no_relevant_knowledge")).toBeNull();
  });

  it("asks for a reason before rejecting", () => {
    const { onReject } = renderPanel();
    fireEvent.click(screen.getByRole("button", { name: "Reject" }));
    fireEvent.change(screen.getByRole("textbox", { name: "Why is this draft wrong?" }), { target: { value: "wrong policy" } });
    fireEvent.click(screen.getByRole("button", { name: "Reject" }));
    expect(onReject).toHaveBeenCalledWith("wrong policy");
  });

  it("regenerates with instructions", () => {
    const { onRegenerate } = renderPanel();
    fireEvent.change(screen.getByRole("textbox", { name: /Instructions/ }), { target: { value: "shorter" } });
    fireEvent.click(screen.getByRole("button", { name: "Regenerate" }));
    expect(onRegenerate).toHaveBeenCalledWith("shorter");
  });

  it("explains a failed draft and offers one from the knowledge base", () => {
    const { onExtractive } = renderPanel({ draft: draft({ status: "failed", body: undefined, error: "the LLM answered HTTP 503" }) });
    expect(screen.getByRole("alert").textContent).toContain("the LLM answered HTTP 503");
    fireEvent.click(screen.getByRole("button", { name: "Draft from the knowledge base" }));
    expect(onExtractive).toHaveBeenCalled();
  });

  it("offers no decision on a superseded draft and says why", () => {
    renderPanel({ draft: draft({ status: "superseded" }) });
    expect(screen.getByText("This draft was replaced by a newer customer message, a newer draft or a reply written by hand.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Use this draft" })).toBeNull();
  });

  it("lists earlier drafts with what became of them", () => {
    renderPanel({
      history: [
        draft({ id: "d0", status: "rejected", rejection_reason: "wrong policy", body: "Old text" }),
        draft({ id: "d-1", status: "superseded", body: "Older text" }),
      ],
    });
    expect(screen.getByText("Earlier drafts (2)")).toBeTruthy();
    expect(screen.getByText("Rejected")).toBeTruthy();
    expect(screen.getByText(/wrong policy/)).toBeTruthy();
    expect(screen.getByText("Superseded")).toBeTruthy();
  });

  it("shows the text streaming in while the draft is written", () => {
    renderPanel({ draft: draft({ status: "generating", body: undefined }), streaming: "We refund" });
    expect(screen.getByText("Writing…")).toBeTruthy();
    expect(screen.getByText("We refund")).toBeTruthy();
  });

  it("speaks Chinese", () => {
    renderPanel({ draft: draft({ notes: ["personal_data_redacted"] }) }, "zh");
    expect(screen.getByRole("button", { name: "使用此草稿" })).toBeTruthy();
    expect(screen.getByText("高置信度")).toBeTruthy();
    expect(screen.getByText("个人信息已对大模型隐藏。")).toBeTruthy();
  });
});

describe("citation marks", () => {
  it("go after the punctuation ending each cited sentence, several at one sentence together", () => {
    const body = "Hello,\n\nRefunds take 5 days. Labels are free! Thanks";
    const parts = citationMarks(body, [
      { sentence: "Refunds take 5 days" },
      { sentence: "Labels are free" },
      { sentence: "Refunds take 5 days" },
      { sentence: "not in the text" },
      { sentence: undefined },
    ]);
    expect(parts).toEqual(["Hello,\n\nRefunds take 5 days.", [1, 3], " Labels are free!", [2], " Thanks"]);
  });

  it("lead from the text to the source they name", () => {
    const citations = [
      { chunk_id: "c1", document_id: "doc", document_version: 3, title: "Returns", heading: "Refunds", quote: "Refunds take 5 days.", sentence: "We refund within 5 days" },
    ];
    renderPanel({ draft: draft({ citations }) });
    const chip = screen.getByRole("button", { name: "Source 1: Returns" });
    fireEvent.click(chip);
    expect(document.activeElement?.id).toBe("source-d1-1");
  });
});

describe("confidence bands", () => {
  it("are high from 75 %, low below 50 %", () => {
    expect([band(0.75), band(0.74), band(0.5), band(0.49)]).toEqual(["high", "medium", "medium", "low"]);
    expect(weaklySupported(draft({ confidence: 0.9, notes: ["knowledge_does_not_answer"] }))).toBe(true);
    expect(weaklySupported(draft({ confidence: 0.6 }))).toBe(false);
  });
});

describe("Composer", () => {
  it("sends the agent's own reply at once", () => {
    const onSend = renderComposer(null, "My own answer");
    fireEvent.click(screen.getByRole("button", { name: "Send reply" }));
    expect(onSend).toHaveBeenCalledWith("reply", "My own answer", false);
  });

  it("sends a weakly supported draft only after a second, explicit step", () => {
    const onSend = renderComposer(draft({ confidence: 0.3 }), "We refund within 5 days.");
    fireEvent.click(screen.getByRole("button", { name: "Send reply" }));
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole("alert").textContent).toContain("weakly supported");
    fireEvent.click(screen.getByRole("button", { name: "Confirm and send" }));
    expect(onSend).toHaveBeenCalledWith("reply", "We refund within 5 days.", false);
  });

  it("sends a well supported draft with Ctrl+Enter", () => {
    const onSend = renderComposer(draft(), "We refund within 5 days.");
    fireEvent.keyDown(screen.getByRole("textbox"), { key: "Enter", ctrlKey: true });
    expect(onSend).toHaveBeenCalledWith("reply", "We refund within 5 days.", false);
  });
});
