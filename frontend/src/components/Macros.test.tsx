import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

const MACRO = {
  id: "m1",
  name: "Refund done",
  shared: true,
  body: "Hi {{customer.first_name}}",
  actions: { status: "solved", add_tags: ["refund"], remove_tags: [] },
  placeholders: ["customer.first_name"],
  problems: [],
  usage_count: 3,
  created_at: "2027-03-01T09:00:00Z",
  updated_at: "2027-03-01T09:00:00Z",
};
const calls: { url: string; body: unknown }[] = [];
let MacroPicker: typeof import("./Macros").MacroPicker;
let LanguageProvider: typeof import("../i18n").LanguageProvider;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const body = request.method === "POST" ? await request.json() : undefined;
    calls.push({ url: request.url, body });
    const answer = request.url.includes("/apply")
      ? {
          macro_id: "m1",
          reply: "Hi Zoe",
          changes: { status: "solved", tags_added: ["refund"], tags_removed: [] },
          preview: (body as { preview: boolean }).preview,
          ticket: { id: "t1", status: (body as { preview: boolean }).preview ? "open" : "solved" },
        }
      : { macros: [MACRO] };
    return new Response(JSON.stringify(answer), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  ({ MacroPicker } = await import("./Macros"));
  ({ LanguageProvider } = await import("../i18n"));
});

describe("macro picker", () => {
  it("previews a macro's reply and changes, then applies it", async () => {
    const onApplied = vi.fn();
    render(
      <LanguageProvider initial="en">
        <MacroPicker ticketId="t1" onApplied={onApplied} />
      </LanguageProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Macros" }));
    fireEvent.click(await screen.findByRole("button", { name: "Refund done" }));
    expect(await screen.findByText("Hi Zoe")).toBeTruthy();
    expect(screen.getByText("Status: Solved")).toBeTruthy();
    expect(screen.getByText("Add tags: refund")).toBeTruthy();
    expect(onApplied).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => expect(onApplied).toHaveBeenCalledTimes(1));
    expect(onApplied.mock.calls[0][0].reply).toBe("Hi Zoe");
    const applies = calls.filter((call) => call.url.includes("/v1/tickets/t1/macros/m1/apply")).map((call) => call.body);
    expect(applies).toEqual([{ preview: true }, { preview: false }]);
  });
});
