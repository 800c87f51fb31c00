import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

// The composer asks for the rewrite tools when it opens: stub `fetch` before the API client is made.
let Composer: typeof import("./Composer").Composer;
let LanguageProvider: typeof import("../i18n").LanguageProvider;
beforeAll(async () => {
  vi.stubGlobal("fetch", async () =>
    new Response(JSON.stringify({ built_in: ["shorter", "friendlier"], tools: [{ name: "brand-voice", instruction: "x" }] }), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    }),
  );
  ({ Composer } = await import("./Composer"));
  ({ LanguageProvider } = await import("../i18n"));
});

function renderComposer(onRewrite: (tool: string, onPreview: (soFar: string) => void) => Promise<string>) {
  const onSend = vi.fn();
  let text = "Your refund of $25.90 left today.";
  const view = () => (
    <LanguageProvider initial="en">
      <Composer
        mode="reply"
        onMode={vi.fn()}
        text={text}
        onText={(next) => {
          text = next;
          rerender(view());
        }}
        fromDraft={null}
        onDropDraft={vi.fn()}
        busy={false}
        onSend={onSend}
        onRewrite={onRewrite}
      />
    </LanguageProvider>
  );
  const { rerender } = render(view());
  return onSend;
}

describe("Composer tools", () => {
  it("rewrites with a tool as a streamed preview, undoes it, and sends in the customer's language", async () => {
    let finish: (text: string) => void = () => {};
    const onRewrite = vi.fn(
      (_tool: string, onPreview: (soFar: string) => void) =>
        new Promise<string>((resolve) => {
          onPreview("Good news: your");
          finish = resolve;
        }),
    );
    const onSend = renderComposer(onRewrite);
    const tools = await screen.findByRole("combobox", { name: "Rewrite:" });
    await screen.findByRole("option", { name: "brand-voice" });
    fireEvent.change(tools, { target: { value: "shorter" } });
    await screen.findByText("Good news: your");
    expect((screen.getByRole("textbox") as HTMLTextAreaElement).readOnly).toBe(true);
    finish("Good news: your $25.90 refund left today.");
    await screen.findByDisplayValue("Good news: your $25.90 refund left today.");
    expect(onRewrite.mock.calls[0][0]).toBe("shorter");
    expect(screen.queryByText("Good news: your")).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Undo rewrite" }));
    await screen.findByDisplayValue("Your refund of $25.90 left today.");

    fireEvent.click(screen.getByRole("checkbox", { name: "Send in the customer's language" }));
    fireEvent.click(screen.getByRole("button", { name: "Send reply" }));
    expect(onSend).toHaveBeenCalledWith("reply", "Your refund of $25.90 left today.", true);
  });

  it("keeps the text and says why when a rewrite is refused", async () => {
    const refused = Object.assign(new Error("the rewrite dropped or changed $25.90; keep the original"), { code: "rewrite_altered_facts" });
    renderComposer(async () => {
      throw refused;
    });
    const tools = await screen.findByRole("combobox", { name: "Rewrite:" });
    await screen.findByRole("option", { name: "Shorter" });
    fireEvent.change(tools, { target: { value: "shorter" } });
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("keep the original"));
    expect(screen.getByDisplayValue("Your refund of $25.90 left today.")).toBeTruthy();
  });
});
