import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

afterEach(cleanup);

/** Every request the section made: method, path and JSON body. */
const calls: { method: string; path: string; body: unknown }[] = [];

const closed = { state: "closed", consecutive_failures: 0 };
const profiles = () => ({
  profiles: [
    { name: "default", default: true, base_url: "https://llm.example.com/v1", model: "big", api_key_set: true, supports_json_schema: false, health: closed },
    {
      name: "cheap",
      default: false,
      base_url: "https://cheap.example.com/v1",
      model: "small",
      api_key_set: true,
      temperature: 0.7,
      price_per_million_input_tokens: 0.15,
      supports_json_schema: true,
      health: { state: "open", consecutive_failures: 3, until: "2026-12-05T10:00:00Z", last_error: "the LLM endpoint answered HTTP 503: overloaded" },
    },
  ],
});
const routes = { routes: [{ feature: "draft", profiles: ["default"] }, { feature: "summary", profiles: ["default"] }] };

function answer(path: string): unknown {
  if (path === "/v1/settings/llm/profiles") return profiles();
  if (path === "/v1/settings/llm/routes") return routes;
  return {};
}

let ModelProfiles: typeof import("./Models").ModelProfiles;
beforeAll(async () => {
  vi.stubGlobal("fetch", async (input: Request) => {
    const url = new URL(input.url, "http://localhost");
    const text = await input.text();
    calls.push({ method: input.method, path: url.pathname, body: text ? JSON.parse(text) : undefined });
    return new Response(JSON.stringify(answer(url.pathname)), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  ({ ModelProfiles } = await import("./Models"));
});

describe("ModelProfiles", () => {
  it("shows a paused profile's error, keeps what it does not edit, and routes a feature", async () => {
    const { LanguageProvider } = await import("../i18n");
    render(
      <LanguageProvider initial="en">
        <ModelProfiles />
      </LanguageProvider>,
    );
    await screen.findByText("paused after failures");
    expect(screen.getByText("the LLM endpoint answered HTTP 503: overloaded")).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Save profiles" }));
    await waitFor(() => expect(calls.some((call) => call.method === "PUT" && call.path === "/v1/settings/llm/profiles")).toBe(true));
    const saved = calls.find((call) => call.method === "PUT" && call.path === "/v1/settings/llm/profiles")?.body as {
      profiles: Record<string, unknown>[];
    };
    expect(saved.profiles).toHaveLength(1);
    expect(saved.profiles[0]).toMatchObject({ name: "cheap", temperature: 0.7, supports_json_schema: true, price_per_million_input_tokens: 0.15 });
    expect(saved.profiles[0]).not.toHaveProperty("api_key");

    fireEvent.change(screen.getByRole("combobox", { name: "Drafts: Then" }), { target: { value: "cheap" } });
    await waitFor(() => expect(calls.some((call) => call.path === "/v1/settings/llm/routes" && call.method === "PUT")).toBe(true));
    const routed = calls.find((call) => call.path === "/v1/settings/llm/routes" && call.method === "PUT")?.body;
    expect(routed).toEqual({ routes: [{ feature: "draft", profiles: ["default", "cheap"] }] });
  });
});
