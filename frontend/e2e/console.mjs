// End-to-end checks of the web console in headless Chromium (Debian's chromium driven by
// playwright-core) against a real `copilot serve` that scripts/e2e starts. Each step
// waits for what a person would see; screenshots of the main screens go to $SHOTS.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";

import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/e2e)`);
  return value;
};
const base = env("E2E_URL");
const shots = env("E2E_SHOTS");
const login = { tenant: env("E2E_TENANT"), email: env("E2E_EMAIL"), password: env("E2E_PASSWORD") };
const subject = env("E2E_SUBJECT");
const goodFile = env("E2E_GOOD_FILE");
const brokenFile = env("E2E_BROKEN_FILE");
const apiKey = env("E2E_API_KEY");
const llmUrl = env("E2E_LLM_URL");
const smtpUrl = env("E2E_SMTP_URL");
const smtpDir = env("E2E_SMTP_DIR");
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Calls the API with the tenant's key, as an integration would. */
async function callApi(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Opens a ticket as a customer would, through the API; returns it. */
async function openTicket(subjectLine, body, extra = {}) {
  return (
    await callApi("POST", "/v1/tickets", {
      subject: subjectLine,
      channel: "web",
      customer: { email: "kit@example.test", name: "Kit" },
      body,
      ...extra,
    })
  ).ticket;
}

/** Signs `on` in as `email`. */
async function signIn(on, email, password) {
  await on.goto(base);
  await on.getByLabel("Workspace").fill(login.tenant);
  await on.getByLabel("E-mail").fill(email);
  await on.getByLabel("Password").fill(password);
  await on.getByRole("button", { name: "Sign in" }).click();
  await on.getByRole("heading", { name: "Inbox" }).waitFor();
}

/** Retries `probe` until it stops throwing, for up to `within` ms. */
async function eventually(probe, within = 10_000) {
  const deadline = Date.now() + within;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Fails on serious or critical WCAG 2 A/AA violations (axe-core) on the current screen. */
async function accessible(screen) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
  if (violations.length) throw new Error(`${screen}: ${violations.join("; ")}`);
}

/** Words Chinese screens may keep: product and protocol names, keys, examples. */
const LATIN_ALLOWED = new Set(["API", "LLM", "SMTP", "Webhook", "OpenAI", "token", "Ctrl", "Shift", "Enter", "English", "Acme", "Mia", "KB", "ID", "URL"]);

/**
 * English words left in the screen's visible text and placeholders, outside what people
 * wrote (marked translate="no"), codes and times.
 */
async function englishLeft() {
  return page.evaluate((allowed) => {
    const found = new Set();
    const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
    const skipped = (element) => element.closest('[translate="no"], code, kbd, time, script, style, .visually-hidden');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const element = walker.currentNode.parentElement;
      if (!element || skipped(element) || !visible(element)) continue;
      for (const word of walker.currentNode.textContent.match(/[A-Za-z]{3,}/g) ?? []) if (!allowed.includes(word)) found.add(word);
    }
    for (const element of document.querySelectorAll("[placeholder]")) {
      if (skipped(element) || !visible(element)) continue;
      for (const word of element.getAttribute("placeholder").match(/[A-Za-z]{3,}/g) ?? []) if (!allowed.includes(word)) found.add(word);
    }
    return [...found];
  }, [...LATIN_ALLOWED]);
}

const checks = [];
async function check(name, run) {
  const started = Date.now();
  try {
    await run();
    checks.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    checks.push({ name, ok: false });
    console.log(`FAIL ${name}: ${error.message.split("\n")[0]}`);
    // What the person would have seen: the page's error messages and a screenshot.
    try {
      const shown = await page.locator('.error, [role="alert"]').allTextContents();
      if (shown.length) console.log(`     on screen: ${shown.join(" | ")}`);
      const shot = join(tmpdir(), `e2e-failed-${Date.now()}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`     screenshot: ${shot}`);
    } catch {
      // the page itself is gone
    }
    throw error;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
page.setDefaultTimeout(30_000);
try {
  await check("an agent signs in", async () => {
    await page.goto(base);
    await page.getByLabel("Workspace").fill(login.tenant);
    await page.getByLabel("E-mail").fill(login.email);
    await page.getByLabel("Password").fill(login.password);
    await page.screenshot({ path: join(shots, "login.png") });
    await accessible("login");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: subject }).waitFor();
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    // The session is an HttpOnly cookie: nothing in storage, nothing a script can read.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    const readable = await page.evaluate(() => document.cookie);
    if (stored.includes("cps_") || readable.includes("cps_")) throw new Error(`a script can read the session: ${stored} ${readable}`);
    const cookie = (await page.context().cookies()).find((c) => c.name === "copilot_session");
    if (!cookie?.httpOnly || cookie.sameSite !== "Strict") throw new Error(`session cookie: ${JSON.stringify(cookie)}`);
    await page.reload();
    await page.getByRole("link", { name: subject }).waitFor();
    // A new workspace's admin sees its first steps; the knowledge base is done already.
    const steps = page.getByRole("region", { name: "First steps" });
    await steps.getByRole("link", { name: /Connect e-mail/ }).waitFor();
    await steps.locator("li.done", { hasText: "Upload your help centre" }).waitFor();
  });

  await check("a ticket opened through the API appears in the inbox without a reload", async () => {
    const opened = Date.now();
    await callApi("POST", "/v1/tickets", {
      subject: "Live: my order arrived damaged",
      channel: "api",
      customer: { email: "lee@example.test", name: "Lee" },
      body: "The box was crushed and the lamp inside is broken. I am really disappointed.",
      tags: ["damaged"],
    });
    // Live while the stream is up: the safety refresh is a minute away, so this is the stream.
    await page.getByRole("link", { name: "Live: my order arrived damaged" }).waitFor({ timeout: 15_000 });
    console.log(`     arrived ${Date.now() - opened} ms after it was opened`);
    await page.locator("tr", { hasText: "Live: my order arrived damaged" }).locator(".sentiment-negative").waitFor();
    await page.screenshot({ path: join(shots, "inbox.png") });
    await accessible("inbox");
  });

  await check("the inbox filters by tag and assignee and sorts oldest first", async () => {
    await page.getByText("More filters").click();
    await page.getByLabel("Tag").fill("damaged");
    await page.locator("tbody tr").filter({ hasText: subject }).waitFor({ state: "detached" });
    await page.getByRole("link", { name: "Live: my order arrived damaged" }).waitFor();
    await page.getByLabel("Tag").fill("");
    await page.getByLabel("Assignee").selectOption({ label: "Mine" });
    await page.getByText("No tickets match.").waitFor();
    await page.getByLabel("Assignee").selectOption({ label: "Unassigned" });
    await page.getByLabel("Sort").selectOption({ label: "Oldest first" });
    await page.locator("tbody tr").first().filter({ hasText: subject }).waitFor();
    await page.getByLabel("Assignee").selectOption({ label: "Anyone" });
    await page.getByText("More filters").click();
  });

  await check("the inbox ranks the unhappy customer first, counts its views and shows what waits", async () => {
    await page.getByLabel("Sort").selectOption({ label: "Most negative first" });
    await page.locator("tbody tr").first().filter({ hasText: "Live: my order arrived damaged" }).waitFor();
    const row = page.locator("tr", { hasText: "Live: my order arrived damaged" });
    await row.locator(".preview", { hasText: "The box was crushed" }).waitFor();
    await row.locator("time").first().waitFor();
    await page.getByRole("button", { name: /Unhappy customers 1/ }).click();
    await page.locator("tbody tr").first().filter({ hasText: "Live: my order arrived damaged" }).waitFor();
    await eventually(async () => {
      const rows = await page.locator("tbody tr").count();
      if (rows !== 1) throw new Error(`the Unhappy customers view lists ${rows} tickets, not its one`);
    });
    await page.getByRole("button", { name: "All tickets" }).click();
    await page.getByLabel("Sort").selectOption({ label: "Newest first" });
    await page.locator("tbody tr", { hasText: subject }).locator(".draft-ready").waitFor();
    await page.screenshot({ path: join(shots, "inbox-views.png") });
  });

  await check("the agent changes several tickets at once", async () => {
    const first = await openTicket("Bulk one: invoice copy", "Please send me a copy of my invoice.");
    const second = await openTicket("Bulk two: invoice address", "Can you change the address on my invoice?");
    await page.getByRole("checkbox", { name: `Select ticket #${first.number}` }).check();
    await page.getByRole("checkbox", { name: `Select ticket #${second.number}` }).check();
    const bulk = page.getByRole("form", { name: "Change the selected tickets" });
    await bulk.getByRole("status").filter({ hasText: "2 selected" }).waitFor();
    await bulk.getByLabel("Set status").selectOption({ label: "Pending" });
    await bulk.getByLabel("Add tag").fill("invoices");
    await bulk.getByRole("button", { name: "Apply to selected" }).click();
    await page.getByRole("status").filter({ hasText: "2 tickets changed." }).waitFor();
    const tagged = (await callApi("GET", "/v1/tickets?tag=invoices")).data;
    if (tagged.length !== 2 || tagged.some((ticket) => ticket.status !== "pending")) throw new Error(`bulk: ${JSON.stringify(tagged)}`);
  });

  await check("a wrong password is refused with a message", async () => {
    const other = await browser.newPage();
    await other.goto(base);
    await other.getByLabel("Workspace").fill(login.tenant);
    await other.getByLabel("E-mail").fill(login.email);
    await other.getByLabel("Password").fill("not the password");
    await other.getByRole("button", { name: "Sign in" }).click();
    await other.getByRole("alert").waitFor();
    await other.close();
  });

  await check("the ticket shows a draft with a citation that opens its passage", async () => {
    await page.getByRole("link", { name: subject }).click();
    await page.getByRole("heading", { name: new RegExp(subject) }).waitFor();
    await page.getByRole("button", { name: "Use this draft" }).waitFor();
    // Each source shows its document, version and the quoted passage, without a click.
    await page.locator(".sources blockquote").first().waitFor();
    await page.locator(".sources", { hasText: "version 1" }).waitFor();
    await page.locator(".draft .confidence").waitFor();
    await page.screenshot({ path: join(shots, "ticket-draft.png"), fullPage: true });
    await accessible("ticket");
  });

  await check("the agent takes the ticket and tags it", async () => {
    await page.getByLabel("Assignee").selectOption({ label: login.email });
    await page.getByLabel("Tags (comma-separated)").fill("returns, tent");
    await page.getByRole("button", { name: "Save tags" }).click();
    await eventually(async () => {
      const ticket = (await callApi("GET", "/v1/tickets?tag=tent")).data[0];
      if (!ticket?.assignee_id || ticket.subject !== subject || !ticket.tags.includes("returns")) {
        throw new Error(`not assigned and tagged: ${JSON.stringify(ticket)}`);
      }
    });
  });

  await check("the agent puts the draft into the composer, edits it and sends it", async () => {
    const ticketId = (await callApi("GET", "/v1/tickets?tag=tent")).data[0].id;
    const draft = (await callApi("GET", `/v1/tickets/${ticketId}/drafts?limit=1`)).data[0];
    const weak = (draft.confidence ?? 0) < 0.5 || draft.notes.some((n) => ["no_relevant_knowledge", "knowledge_does_not_answer"].includes(n));
    await page.getByRole("button", { name: "Use this draft" }).click();
    const composer = page.getByRole("form", { name: "Reply or note" });
    const text = composer.getByRole("textbox");
    if ((await text.inputValue()) !== draft.body) throw new Error(`the composer holds: ${await text.inputValue()}`);
    const edited = "Hello, you can return it within 30 days, free of charge. — edited in the e2e test";
    await text.fill(edited);
    await composer.getByRole("button", { name: "Send reply" }).click();
    if (weak) {
      // A weakly supported draft needs a second, explicit step.
      await composer.getByRole("alert").waitFor();
      await composer.getByRole("button", { name: "Confirm and send" }).click();
    }
    await page.getByRole("status").filter({ hasText: "Reply added to the conversation." }).waitFor();
    await page.locator(".message.author-agent .body", { hasText: edited }).waitFor();
    await page.getByText("Approved: the reply is in the conversation.").waitFor();
    const decided = (await callApi("GET", `/v1/drafts/${draft.id}`));
    if (decided.status !== "approved" || decided.approved_body !== edited) throw new Error(`draft: ${JSON.stringify(decided)}`);
  });

  await check("the agent writes a reply of their own and an internal note, each under their name", async () => {
    const composer = page.getByRole("form", { name: "Reply or note" });
    const own = "Also: the return label is in your account under Orders.";
    await composer.getByRole("textbox").fill(own);
    await composer.getByRole("textbox").press("Control+Enter");
    await page.locator(".message.author-agent .body", { hasText: own }).waitFor();
    await composer.getByLabel("Internal note").check();
    await composer.getByRole("textbox").fill("Customer asked twice; watch this one.");
    await composer.getByRole("button", { name: "Add note" }).click();
    const note = page.locator(".message.author-note", { hasText: "watch this one" });
    await note.waitFor();
    const me = (await callApi("GET", "/v1/assignees")).find((person) => person.email === login.email);
    await note.locator("header strong", { hasText: me.name ?? me.email }).waitFor();
    await page.screenshot({ path: join(shots, "ticket-composer.png"), fullPage: true });
    await accessible("ticket with composer");
  });

  await check("a ticket shows its SLA countdown, and a macro fills the composer and changes the ticket", async () => {
    await callApi("POST", "/v1/sla-policies", {
      name: "Web desk",
      conditions: { channel: ["web"] },
      targets: [{ kind: "first_reply", minutes: 120 }, { kind: "resolution", minutes: 2880 }],
    });
    await callApi("POST", "/v1/macros", {
      name: "Return label sent",
      shared: true,
      body: "Hi {{customer.first_name}}, the return label for ticket #{{ticket.number}} is in your e-mail.",
      actions: { status: "pending", add_tags: ["return-label"] },
    });
    const back = page.url();
    const ticket = await openTicket("Return label please", "Could you send me a return label?");
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    await page.locator(".context .badge.sla", { hasText: /First reply due in (1 hr|2 hr|1\d\d min)/ }).waitFor();
    await page.getByRole("button", { name: "Macros" }).click();
    const macros = page.getByRole("region", { name: "Macros" });
    await macros.getByLabel("Search macros by name").fill("label");
    await macros.getByRole("button", { name: "Return label sent" }).click();
    const expected = `Hi Kit, the return label for ticket #${ticket.number} is in your e-mail.`;
    await macros.getByText(expected).waitFor();
    await macros.getByText("Status: Pending").waitFor();
    await page.screenshot({ path: join(shots, "ticket-macro.png"), fullPage: true });
    await macros.getByRole("button", { name: "Apply" }).click();
    const text = page.getByRole("form", { name: "Reply or note" }).getByRole("textbox");
    await eventually(async () => {
      if ((await text.inputValue()) !== expected) throw new Error(`the composer holds: ${await text.inputValue()}`);
    });
    await page.locator(".context .badge.sla", { hasText: "SLA paused" }).waitFor();
    const changed = await callApi("GET", `/v1/tickets/${ticket.id}`);
    if (changed.status !== "pending" || !changed.tags.includes("return-label")) throw new Error(JSON.stringify(changed));
    await text.fill("");
    // Back where the agent was, writing a note.
    await page.goto(back);
    await page.getByRole("form", { name: "Reply or note" }).getByLabel("Internal note").check();
  });

  await check("the agent saves the inbox's filters as a view of their own, counted", async () => {
    const back = page.url();
    await page.goto(`${base}/#/`);
    const sort = page.getByLabel("Sort");
    await sort.selectOption("due");
    await page.getByLabel("Name these filters").fill("Due first");
    await page.getByRole("button", { name: "Save as my view" }).click();
    const views = page.getByRole("group", { name: "Views" });
    const saved = views.getByRole("button", { name: /Due first/ });
    await saved.waitFor();
    const all = (await callApi("GET", "/v1/tickets?limit=100")).data.length;
    await saved.locator(".count", { hasText: String(all) }).waitFor();
    await saved.click();
    await page.screenshot({ path: join(shots, "inbox-saved-view.png") });
    await sort.selectOption("newest");
    await page.goto(back);
    await page.getByRole("form", { name: "Reply or note" }).getByLabel("Internal note").check();
  });

  await check("the agent splits a customer's message into a new ticket and merges it back by number", async () => {
    const ticket = await openTicket("Two questions", "Where is my order 7001?");
    await callApi("POST", `/v1/tickets/${ticket.id}/messages`, { author: "customer", body: "Also, can I change my address?" });
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    const second = page.locator(".message.author-customer", { hasText: "change my address" });
    await second.getByRole("button", { name: "Split into a new ticket" }).click();
    await second.getByRole("button", { name: "Split", exact: true }).click();
    await page.getByRole("heading", { name: /#\d+ Two questions/ }).waitFor();
    await page.waitForURL((url) => !url.hash.includes(ticket.id));
    await page.locator(".message.author-customer", { hasText: "change my address" }).waitFor();
    if ((await page.locator(".message.author-customer", { hasText: "order 7001" }).count()) !== 0) throw new Error("the first message moved too");
    await page.getByText("Merge into another ticket").click();
    const merge = page.locator(".regroup");
    await merge.getByRole("textbox", { name: "Find the ticket" }).fill(`#${ticket.number}`);
    await merge.getByRole("button", { name: "Search" }).click();
    await merge.getByRole("button", { name: new RegExp(`#${ticket.number} Two questions`) }).click();
    await merge.getByRole("button", { name: "Merge", exact: true }).click();
    await page.waitForURL((url) => url.hash.includes(ticket.id));
    await page.locator(".message.author-customer", { hasText: "change my address" }).waitFor();
    await page.locator(".message.author-note", { hasText: "Merged from" }).waitFor();
  });

  await check("the agent sets the ticket's custom fields in the sidebar", async () => {
    await callApi("POST", "/v1/ticket-fields", { key: "plan", label: "Plan", kind: "select", options: ["free", "pro", "enterprise"] });
    await callApi("POST", "/v1/ticket-fields", { key: "seats", label: "Seats", kind: "number" });
    await page.reload();
    const form = page.getByRole("form", { name: "Fields" });
    await form.getByLabel("Plan").selectOption("pro");
    await form.getByLabel("Seats").fill("12");
    await form.getByRole("button", { name: "Save fields" }).click();
    await form.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const id = page.url().split("/tickets/")[1];
    const ticket = await callApi("GET", `/v1/tickets/${id}`);
    if (ticket.fields.plan !== "pro" || ticket.fields.seats !== 12) throw new Error(JSON.stringify(ticket.fields));
    await page.screenshot({ path: join(shots, "ticket-fields.png"), fullPage: true });
    await page.getByRole("form", { name: "Reply or note" }).getByLabel("Internal note").check();
  });

  await check("a reply is rewritten as the agent watches and undone; a Chinese message arrives translated", async () => {
    const composer = page.getByRole("form", { name: "Reply or note" });
    await composer.getByLabel("Reply to the customer").check();
    const mine = "Your refund of $25.90 for order 10422 left today.";
    await composer.getByRole("textbox").fill(mine);
    await composer.getByRole("combobox", { name: "Rewrite:" }).selectOption("friendlier");
    const holds = async (expected) => {
      const value = await composer.getByRole("textbox").inputValue();
      if (value !== expected) throw new Error(`the composer holds: ${value}`);
    };
    await eventually(() => holds(`Rewritten: ${mine}`));
    await composer.getByRole("button", { name: "Undo rewrite" }).click();
    await eventually(() => holds(mine));
    await composer.getByRole("textbox").fill("");

    // Background translation into the agents' language, shown without a click.
    const { updated_at: _, ...style } = await callApi("GET", "/v1/settings/drafting");
    await callApi("PUT", "/v1/settings/drafting", { ...style, auto_translate: true });
    const chinese = "我的帐篷杆断了，可以换一个吗？";
    const ticket = await openTicket("帐篷杆", chinese);
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    await page.locator(".message.author-customer .body", { hasText: `Translated: ${chinese}` }).waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Show original" }).click();
    await page.locator(".message.author-customer .body", { hasText: new RegExp(`^${chinese}$`) }).waitFor();
    await page.getByRole("button", { name: "Show translation" }).click();
    await page.screenshot({ path: join(shots, "ticket-translated.png"), fullPage: true });
    await callApi("PUT", "/v1/settings/drafting", { ...style, auto_translate: false });
  });

  await check("keyboard only: from the inbox to a sent reply and back", async () => {
    await page.goto(`${base}/#/`);
    await page.getByRole("link", { name: subject }).waitFor();
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ state: "hidden" });
    for (let step = 0; step < 10; step++) {
      await page.keyboard.press("j");
      if ((await page.evaluate(() => document.activeElement?.textContent)) === subject) break;
    }
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: new RegExp(subject) }).waitFor();
    await page.keyboard.press("r");
    // The reply box takes the focus (as a person sees the cursor there) before typing.
    await page.waitForFunction(() => document.activeElement?.tagName === "TEXTAREA");
    const typed = "Sent without touching the mouse.";
    await page.keyboard.type(typed);
    await page.keyboard.press("Control+Enter");
    await page.locator(".message.author-agent .body", { hasText: typed }).waitFor();
    await page.keyboard.press("Escape");
    await page.keyboard.press("u");
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await page.getByRole("link", { name: subject }).click();
    await page.getByRole("heading", { name: new RegExp(subject) }).waitFor();
  });

  await check("two agents on one ticket see each other viewing and typing", async () => {
    const password = "lee's long password";
    await callApi("POST", "/v1/users", { email: "lee@acme.test", name: "Lee", role: "agent", password });
    const ticketUrl = page.url();
    const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    const lee = await context.newPage();
    try {
      await signIn(lee, "lee@acme.test", password);
      await lee.goto(ticketUrl);
      await lee.getByRole("heading", { name: new RegExp(subject) }).waitFor();
      await page.getByRole("status").filter({ hasText: "Lee is viewing" }).waitFor();
      await lee.getByRole("form", { name: "Reply or note" }).getByRole("textbox").fill("Let me check the warehouse");
      await page.getByRole("status").filter({ hasText: "Lee is typing a reply" }).waitFor();
      const me = (await callApi("GET", "/v1/assignees")).find((person) => person.email === login.email);
      await lee.getByRole("status").filter({ hasText: `${me.name ?? me.email} is viewing` }).waitFor();
      await page.screenshot({ path: join(shots, "ticket-presence.png") });
      // Lee goes back to the inbox: the ticket says so at once.
      await lee.goto(`${base}/#/`);
      await lee.getByRole("heading", { name: "Inbox" }).waitFor();
      await page.getByRole("status").filter({ hasText: "Lee is" }).waitFor({ state: "detached" });
    } finally {
      await context.close();
    }
  });

  await check("with the LLM down the agent answers by hand and can draft from the knowledge base", async () => {
    await callApi("PUT", "/v1/settings/llm", { base_url: "http://127.0.0.1:9/v1", model: "down", api_key: "sk-down" });
    try {
      const ticket = await openTicket("LLM down: return shipping", "Who pays the return shipping for my tent?");
      await page.goto(`${base}/#/tickets/${ticket.id}`);
      const panel = page.getByRole("complementary", { name: "Draft" });
      await panel.getByRole("alert").filter({ hasText: "The draft could not be written" }).waitFor({ timeout: 60_000 });
      const composer = page.getByRole("form", { name: "Reply or note" });
      const own = "We pay the return shipping; the label is in your account.";
      await composer.getByRole("textbox").fill(own);
      await composer.getByRole("button", { name: "Send reply" }).click();
      await page.locator(".message.author-agent .body", { hasText: own }).waitFor();
      await panel.getByRole("button", { name: "Draft from the knowledge base" }).click();
      await panel.getByText("quoted from the knowledge base").waitFor({ timeout: 30_000 });
      await panel.getByRole("button", { name: "Use this draft" }).waitFor();
      await page.screenshot({ path: join(shots, "ticket-llm-down.png"), fullPage: true });
    } finally {
      await callApi("PUT", "/v1/settings/llm", { base_url: llmUrl, model: "instant", api_key: "sk-instant" });
    }
  });

  await check("a draft the knowledge base does not back needs a second step to send", async () => {
    const ticket = await openTicket("Liquid nitrogen", "What is the boiling point of liquid nitrogen in Kelvin?");
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    const panel = page.getByRole("complementary", { name: "Draft" });
    await panel.getByText("Low confidence").waitFor({ timeout: 30_000 });
    await panel.getByRole("button", { name: "Use this draft" }).click();
    const composer = page.getByRole("form", { name: "Reply or note" });
    await composer.getByRole("button", { name: "Send reply" }).click();
    await composer.getByRole("alert").waitFor();
    if ((await page.locator(".message.author-agent").count()) !== 0) throw new Error("sent before the second step");
    await composer.getByRole("button", { name: "Confirm and send" }).click();
    await page.locator(".message.author-agent").first().waitFor();
  });

  await check("the console switches to Chinese and leaves no English on the main screens", async () => {
    const ticketUrl = page.url();
    await page.getByRole("button", { name: "中文" }).click();
    await page.getByRole("link", { name: "收件箱" }).waitFor();
    await page.getByRole("button", { name: /返回收件箱/ }).waitFor();
    await page.locator(".draft .confidence").waitFor();
    await page.screenshot({ path: join(shots, "ticket-zh.png"), fullPage: true });
    const screens = [
      ["ticket", ticketUrl.split("#")[1], () => page.locator(".draft .confidence").waitFor()],
      ["inbox", "/", () => page.locator("tbody tr").first().waitFor()],
      ["knowledge", "/knowledge", () => page.locator("table tbody tr").first().waitFor()],
      ["analytics", "/analytics", () => page.locator(".totals dd").first().waitFor()],
      ["settings", "/settings", () => page.locator(".hooks, .card").first().waitFor()],
      ["audit", "/audit", () => page.locator("table.log tbody tr").first().waitFor()],
    ];
    const left = [];
    for (const [name, route, ready] of screens) {
      await page.goto(`${base}/#${route}`);
      await ready();
      const words = await englishLeft();
      if (words.length > 0) left.push(`${name}: ${words.join(", ")}`);
    }
    if (left.length > 0) throw new Error(`English left on Chinese screens — ${left.join("; ")}`);
    await page.goto(`${base}/#/`);
    await page.locator("tbody tr").first().waitFor();
    await page.screenshot({ path: join(shots, "inbox-zh.png") });
    await page.getByRole("button", { name: "English" }).click();
    await page.goto(ticketUrl);
    await page.locator(".draft .confidence").waitFor();
  });

  await check("an admin uploads a document and watches it become ready", async () => {
    await page.getByRole("link", { name: "Knowledge" }).click();
    await page.locator('.dropzone input[type="file"]').setInputFiles(goodFile);
    const name = goodFile.split("/").pop().replace(/\.[^.]+$/, "");
    await page.locator("tr", { hasText: name }).locator(".doc-ready").waitFor();
    await page.locator("tr", { hasText: name }).getByRole("button", { name: "Preview chunks" }).click();
    await page.getByRole("region", { name: /Chunks of/ }).locator("li").first().waitFor();
    await page.screenshot({ path: join(shots, "knowledge.png"), fullPage: true });
    await accessible("knowledge");
  });

  await check("a broken upload shows its error", async () => {
    await page.locator('.dropzone input[type="file"]').setInputFiles(brokenFile);
    const name = brokenFile.split("/").pop().replace(/\.[^.]+$/, "");
    const row = page.locator("tr", { hasText: name });
    await row.locator(".doc-failed").waitFor();
    await row.locator(".error").waitFor();
  });

  await check("an admin uploads a new version of a document and search finds only the new one", async () => {
    const name = goodFile.split("/").pop();
    const row = page.locator("tr", { hasText: name.replace(/\.[^.]+$/, "") });
    const folder = mkdtempSync(join(tmpdir(), "e2e-"));
    const changed = join(folder, name);
    writeFileSync(changed, "<h1>Shipping</h1><p>Parcels to the Faroe Islands travel by zeppelin and take nine days.</p>");
    await row.getByText("Upload new version").waitFor();
    try {
      await row.locator('input[type="file"]').setInputFiles(changed);
      // The browser reads the file when it sends it, so it stays until the upload landed.
      await row.getByText("v2").waitFor();
    } finally {
      rmSync(folder, { recursive: true });
    }
    await row.locator(".doc-ready").waitFor();
    const listed = (await callApi("GET", "/v1/knowledge/documents?limit=100")).data.filter((d) => d.filename === name);
    if (listed.length !== 1 || listed[0].active_version !== 2) throw new Error(`documents: ${JSON.stringify(listed)}`);
    await page.getByRole("searchbox", { name: /Search/ }).fill("zeppelin Faroe Islands");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.locator(".columns li", { hasText: "zeppelin" }).first().waitFor();
    await page.getByRole("status").filter({ hasText: "A confident match" }).waitFor();
    await page.getByRole("searchbox", { name: /Search/ }).fill("What is the boiling point of liquid nitrogen in Kelvin?");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "No confident match" }).waitFor();
    await page.screenshot({ path: join(shots, "knowledge-versions.png"), fullPage: true });
  });

  await check("the next draft cites the new version only, each cited sentence marked", async () => {
    const ticket = await openTicket("Faroe Islands", "How do parcels travel to the Faroe Islands, and how long does it take?");
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    const panel = page.getByRole("complementary", { name: "Draft" });
    await panel.getByRole("button", { name: "Use this draft" }).waitFor({ timeout: 30_000 });
    const sources = await panel.locator(".sources li").allTextContents();
    const shipping = sources.filter((text) => text.includes("shipping"));
    if (shipping.length === 0 || shipping.some((text) => !text.includes("version 2"))) throw new Error(`sources: ${sources.join(" | ")}`);
    await panel.locator(".sources", { hasText: "zeppelin" }).waitFor();
    const chip = panel.getByRole("button", { name: /^Source 1: / });
    await chip.click();
    const focused = await page.evaluate(() => document.activeElement?.id ?? "");
    if (!focused.startsWith("source-")) throw new Error(`the mark leads to: ${focused}`);
    await page.screenshot({ path: join(shots, "ticket-citations.png"), fullPage: true });
    // A well-supported draft is approved and sent with one key.
    await page.keyboard.press("a");
    await page.locator(".message.author-agent .body", { hasText: "Thank you for your question" }).waitFor();
    await panel.getByText("Approved: the reply is in the conversation.").waitFor();
  });

  await check("an admin saves the e-mail settings and is told why a webhook URL is refused", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    const email = page.getByRole("form", { name: "E-mail" });
    await email.getByLabel(/Support addresses/).fill("help@acme.test");
    await email.getByLabel("From name").fill("Acme Support");
    await email.getByRole("button", { name: "Save e-mail settings" }).click();
    await email.getByRole("status").waitFor();
    // Saved is not working: the test e-mail says that no server is set, in words.
    await email.getByLabel("Send a test e-mail to").fill("owner@acme.test");
    await email.getByRole("button", { name: "Send test e-mail" }).click();
    await email.getByRole("alert").filter({ hasText: "Not sent — replies would fail too: smtp_not_configured" }).waitFor();
    // How drafts sound: a signature and auto-drafting, saved.
    const drafting = page.getByRole("form", { name: "Drafts" });
    await drafting.getByLabel("Signature").fill("Sam from Acme");
    await drafting.getByLabel(/Language of drafts/).selectOption({ label: "Chinese" });
    await drafting.getByRole("button", { name: "Save draft settings" }).click();
    await drafting.getByRole("status").waitFor();
    const stored = await callApi("GET", "/v1/settings/drafting");
    if (stored.signature !== "Sam from Acme" || !stored.auto_draft || stored.default_language !== "zh") {
      throw new Error(`drafting: ${JSON.stringify(stored)}`);
    }
    await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/hook");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid_webhook_url" }).waitFor();
    await page.screenshot({ path: join(shots, "settings.png"), fullPage: true });
    await accessible("settings");
  });

  await check("an admin sets business hours and orders SLA policies; bad hours are refused with a reason", async () => {
    const hours = page.getByRole("form", { name: "Business hours" });
    await hours.getByLabel("Time zone").fill("Europe/Berlin");
    await hours.getByLabel("Monday").fill("25:00-26:00");
    await hours.getByRole("button", { name: "Save business hours" }).click();
    await hours.getByRole("alert").filter({ hasText: "invalid_hours" }).waitFor();
    await hours.getByLabel("Monday").fill("08:00-12:00, 13:00-17:00");
    await hours.getByLabel("Saturday").fill("");
    await hours.getByRole("button", { name: "Save business hours" }).click();
    await hours.getByRole("status").waitFor();
    const stored = await callApi("GET", "/v1/settings/business-hours");
    const monday = JSON.stringify(stored.schedules[0].week.mon);
    if (stored.schedules[0].time_zone !== "Europe/Berlin" || monday !== '[["08:00","12:00"],["13:00","17:00"]]') {
      throw new Error(`hours: ${JSON.stringify(stored)}`);
    }
    const policies = page.getByRole("region", { name: "SLA policies" });
    const form = policies.getByRole("form", { name: "New policy" });
    await form.getByLabel("Policy name").fill("Urgent first");
    await form.getByLabel("First reply (minutes)").fill("30");
    await form.getByRole("group", { name: "Priority" }).getByLabel("Urgent").check();
    await form.getByRole("button", { name: "Add policy" }).click();
    await policies.getByText("Urgent first").waitFor();
    // The web desk's policy (made earlier) applies after it: the new one moves up.
    await policies.getByRole("button", { name: "Move up: Urgent first" }).click();
    await eventually(async () => {
      const order = (await callApi("GET", "/v1/sla-policies")).policies.map((policy) => policy.name);
      if (order[0] !== "Urgent first") throw new Error(`order: ${order}`);
    });
    await policies.getByRole("listitem").first().filter({ hasText: "Urgent first" }).waitFor();
    await policies.screenshot({ path: join(shots, "settings-sla-policies.png") });
    await accessible("settings with service levels");
  });

  await check("a reply shows its delivery truthfully: refused by the mail server, retried, then sent", async () => {
    await callApi("PUT", "/v1/settings/email", { addresses: ["help@acme.test"], from_name: "Acme Support", smtp_url: smtpUrl });
    const ticket = await openTicket("Mail: where is my order?", "Where is my order 5521?", { channel: "email", customer: { email: "mia@example.test", name: "Mia" } });
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    const composer = page.getByRole("form", { name: "Reply or note" });
    await composer.getByRole("textbox").fill("Your order 5521 left our depot this morning.");
    await composer.getByRole("button", { name: "Send reply" }).click();
    const state = page.locator(".message.author-agent [role=status]");
    await state.filter({ hasText: /will retry.*451/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, "ticket-delivery-retrying.png") });
    rmSync(join(smtpDir, "fail"));
    await state.filter({ hasText: /^Sent$/ }).waitFor({ timeout: 60_000 });
  });

  await check("an admin reads the audit log by action", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.getByLabel("Action").fill("ticket.status_changed");
    await eventually(async () => {
      const actions = await page.locator("table.log tbody td:nth-child(3)").allTextContents();
      if (actions.length === 0 || actions.some((action) => action !== "ticket.status_changed")) {
        throw new Error(`actions: ${actions.join(", ")}`);
      }
    });
    await page.screenshot({ path: join(shots, "audit.png"), fullPage: true });
    await accessible("audit log");
  });

  await check("an admin adds a person and creates and revokes an API key", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    const people = page.getByRole("region", { name: "People" });
    await people.getByLabel("E-mail").fill("dana@acme.test");
    await people.getByLabel("Name").fill("Dana");
    await people.getByLabel("Password").fill("dana's long password");
    await people.getByRole("button", { name: "Add person" }).click();
    await people.getByRole("cell", { name: "dana@acme.test", exact: true }).waitFor();
    const keys = page.getByRole("region", { name: "API keys" });
    await keys.getByLabel("Name").fill("crm");
    await keys.getByRole("button", { name: "Create key" }).click();
    const shown = await keys.getByRole("status").locator("code").textContent();
    const works = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${shown}` } });
    if (works.status !== 200) throw new Error(`the new key is refused: ${works.status}`);
    page.once("dialog", (dialog) => dialog.accept());
    await keys.getByRole("button", { name: "Revoke crm" }).click();
    await keys.getByText("revoked").waitFor();
    const refused = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${shown}` } });
    if (refused.status !== 401) throw new Error(`the revoked key still works: ${refused.status}`);
    await page.screenshot({ path: join(shots, "people-and-keys.png"), fullPage: true });
  });

  await check("an admin gives two intents examples, trains, and sees the accuracy", async () => {
    await page.getByRole("link", { name: "Intents" }).click();
    const examples = page.getByLabel("Example messages (one per line)");
    await examples.first().waitFor();
    await examples.nth(0).fill(
      ["Where is my parcel?", "My order has not arrived yet", "Tracking shows no movement for a week", "When will my package be delivered?", "The courier never came"].join("\n"),
    );
    await examples.nth(1).fill(
      ["I want my money back", "Please refund my order", "How do I get a refund?", "Refund the duplicate charge", "I was charged twice, refund me"].join("\n"),
    );
    await page.getByLabel("Name people see (optional, any language)").first().fill("Where is my parcel / 包裹在哪");
    await page.getByRole("button", { name: "Save taxonomy" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const stored = (await callApi("GET", "/v1/intents")).labels;
    if (!stored.some((label) => label.display_name === "Where is my parcel / 包裹在哪")) throw new Error(`taxonomy: ${JSON.stringify(stored)}`);
    await page.getByRole("button", { name: "Train" }).click();
    await page.getByText(/Cross-validated accuracy: \d+/).waitFor({ timeout: 120_000 });
    // The LLM labels the desk's messages with the taxonomy, for the next training.
    await page.getByRole("button", { name: "Start labelling" }).click();
    await page.locator(".labelling .badge", { hasText: "Done" }).waitFor({ timeout: 30_000 });
    const job = (await callApi("GET", "/v1/intents/labelling")).data[0];
    if (!(job.labelled > 0) || job.invalid !== 0 || job.labelled + job.skipped !== job.total) throw new Error(`labelling: ${JSON.stringify(job)}`);
    // The first version serves; one key settles a disagreement between the model and the LLM.
    await page.locator(".versions .badge", { hasText: "Serving" }).first().waitFor();
    await page.reload();
    const before = (await callApi("GET", "/v1/intents/review")).total;
    if (before > 0) {
      await page.getByLabel("Message to review").click();
      await page.keyboard.press("2");
      await page.locator(".review h2 .badge", { hasText: new RegExp(`^${before - 1}$`) }).waitFor();
    }
    // A second version, trained with the LLM's labels: the gate decides and says why.
    await page.getByRole("button", { name: "Train" }).click();
    await page.locator(".versions tbody tr").nth(1).waitFor({ timeout: 120_000 });
    const versions = (await callApi("GET", "/v1/intents/models")).data;
    if (versions.length !== 2 || !versions[0].gate?.reason) throw new Error(`versions: ${JSON.stringify(versions)}`);
    await page.getByRole("button", { name: "Find intents" }).click();
    await page.getByText(/groups found/).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(shots, "intents.png"), fullPage: true });
    await page.locator(".training").screenshot({ path: join(shots, "intents-training.png") });
    await page.locator(".versions").screenshot({ path: join(shots, "intents-versions.png") });
    await page.locator(".review").screenshot({ path: join(shots, "intents-review.png") });
    await page.locator(".discovery").screenshot({ path: join(shots, "intents-discovery.png") });
    await accessible("intents");
  });

  await check("analytics count the approved draft", async () => {
    await page.getByRole("link", { name: "Analytics" }).click();
    await page.getByRole("img", { name: "Decisions on drafts per period" }).waitFor();
    await page.locator(".totals dd", { hasText: "100%" }).first().waitFor();
    await page.getByRole("img", { name: "Tickets opened per period, by sentiment" }).waitFor();
    const opened = await page.getByRole("table", { name: "Tickets by channel" }).textContent();
    if (!opened.includes("Integration (API)") || !opened.includes("Web form")) throw new Error(`channels: ${opened}`);
    await page.screenshot({ path: join(shots, "analytics.png"), fullPage: true });
    await accessible("analytics");
  });

  await check("surveys turned on: the customer rates a solved ticket on the survey page, seen on the ticket and in analytics", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    const surveys = page.getByRole("form", { name: "Satisfaction surveys" });
    await surveys.getByLabel("Ask customers to rate solved tickets").check();
    await surveys.getByRole("button", { name: "Save survey settings" }).click();
    await surveys.getByRole("status").waitFor();
    const ticket = await openTicket("Survey: tent pegs", "Are tent pegs included?");
    await callApi("POST", `/v1/tickets/${ticket.id}/messages`, { author: "agent", body: "Yes, eight pegs come with every tent." });
    await callApi("PATCH", `/v1/tickets/${ticket.id}`, { status: "solved" });
    const survey = await eventually(async () => {
      const found = await callApi("GET", `/v1/tickets/${ticket.id}/csat`);
      if (!found.url) throw new Error(`no link yet: ${JSON.stringify(found)}`);
      return found;
    });
    if (!survey.url.startsWith(`${base}/survey/`)) throw new Error(`link: ${survey.url}`);
    // The customer's phone: no session, no script.
    const customer = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await customer.goto(`${survey.url}?rating=4`);
    await customer.getByRole("heading", { name: "How did we do?" }).waitFor();
    if (!(await customer.getByLabel("Good", { exact: true }).isChecked())) throw new Error("the mail's rating is not ticked");
    await customer.screenshot({ path: join(shots, "survey-page.png"), fullPage: true });
    await customer.getByLabel(/Anything you would like to add/).fill("Quick answer, thanks!");
    await customer.keyboard.press("Tab");
    await customer.keyboard.press("Enter");
    await customer.getByRole("status").filter({ hasText: "Your rating is saved" }).waitFor();
    await customer.getByRole("link", { name: "中文" }).click();
    await customer.getByRole("heading", { name: "请评价我们的服务" }).waitFor();
    await customer.screenshot({ path: join(shots, "survey-page-zh.png"), fullPage: true });
    await customer.close();
    // The survey page passes axe too (WCAG 2.1 A/AA), rated and in English.
    await page.goto(`${survey.url}?lang=en`);
    await page.getByRole("heading", { name: "How did we do?" }).waitFor();
    await accessible("survey page");
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    const card = page.getByRole("region", { name: "Satisfaction" });
    await card.getByText("4 / 5").waitFor();
    await card.getByText("Quick answer, thanks!").waitFor();
    await page.getByRole("link", { name: "Analytics" }).click();
    await page.getByRole("heading", { name: "Customer satisfaction" }).waitFor();
    await page.getByRole("table", { name: "AI-drafted or typed" }).getByRole("row", { name: /Typed replies/ }).waitFor();
    await page.getByRole("heading", { name: "Service levels" }).waitFor();
    await page.getByRole("heading", { name: "Customer satisfaction" }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, "analytics-satisfaction.png") });
    await accessible("analytics with satisfaction");
  });

  await check("a question asked in words is answered, charted and pinned as a card", async () => {
    await page.getByLabel("Question about your desk").fill("How many tickets came in over the last 30 days, by channel?");
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    const sentence = page.locator(".answer-sentence");
    await sentence.waitFor();
    if (!/leads with \d+/.test(await sentence.textContent())) throw new Error(`answer: ${await sentence.textContent()}`);
    await page.locator(".answer .result-bars li").first().waitFor();
    await page.getByText("The query that ran").click();
    const shown = await page.locator(".answer details p").first().textContent();
    if (!shown.includes('created_at between ["') || !shown.includes("grouped by channel")) throw new Error(`query: ${shown}`);
    await page.locator(".ask").screenshot({ path: join(shots, "analytics-ask.png") });
    await page.getByRole("button", { name: "Pin to this page" }).click();
    const card = page.locator(".cards article").first();
    await card.locator(".result-bars li").first().waitFor();
    // The card runs again when the page opens.
    await page.reload();
    await page.locator(".cards article .result-bars li").first().waitFor();
    const text = await page.locator(".cards article").first().textContent();
    if (!text.includes("created_at between last_30_days")) throw new Error(`card: ${text}`);
    await page.locator(".cards").screenshot({ path: join(shots, "analytics-cards.png") });
    await accessible("analytics-ask");
  });

  for (const width of [390, 768, 1366, 1920]) {
    await check(`at ${width} px every main screen fits the width and passes axe`, async () => {
      const ticketId = (await callApi("GET", "/v1/tickets?tag=tent")).data[0].id;
      await page.setViewportSize({ width, height: { 390: 844, 768: 1024, 1366: 800, 1920: 1080 }[width] });
      const screens = [
        ["inbox", "/", () => page.getByRole("link", { name: subject }).first().waitFor()],
        ["ticket", `/tickets/${ticketId}`, () => page.getByRole("form", { name: "Reply or note" }).waitFor()],
        ["knowledge", "/knowledge", () => page.getByRole("heading", { name: "Knowledge base" }).waitFor()],
        ["settings", "/settings", () => page.getByRole("form", { name: "E-mail" }).waitFor()],
        ["analytics", "/analytics", () => page.getByRole("img", { name: "Decisions on drafts per period" }).waitFor()],
        ["audit", "/audit", () => page.locator("table.log tbody tr").first().waitFor()],
        ["intents", "/intents", async () => {
          await page.locator(".versions tbody tr:visible").first().waitFor();
          await page.getByText(/groups found/).first().waitFor();
        }],
      ];
      try {
        for (const [name, route, ready] of screens) {
          const started = Date.now();
          await page.goto(`${base}/#${route}`);
          await ready();
          const took = Date.now() - started;
          console.log(`     ${name} at ${width} px: ready ${took} ms after navigation`);
          // The target: every main screen ready within 1 s of navigation on the test data.
          if (took > 1000) throw new Error(`${name} took ${took} ms to render at ${width} px`);
          const [scroll, limit, wide] = await page.evaluate(() => {
            const limit = window.innerWidth;
            // The outermost elements that reach past the window: their parents do not.
            const past = (e) => e.getBoundingClientRect().right > limit + 1;
            const over = [...document.querySelectorAll("body *")]
              .filter((e) => past(e) && !past(e.parentElement))
              .slice(0, 4)
              .map((e) => `${e.tagName.toLowerCase()}.${e.className} in ${e.parentElement.tagName.toLowerCase()}.${e.parentElement.className} (${Math.round(e.getBoundingClientRect().right)})`);
            return [document.documentElement.scrollWidth, limit, over.join(", ")];
          });
          if (scroll > limit + 1) throw new Error(`${name} scrolls sideways at ${width} px: ${scroll} > ${limit}: ${wide}`);
          await accessible(`${name} at ${width} px`);
          if (width === 390 || (width !== 1366 && ["inbox", "ticket"].includes(name))) {
            await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: width === 390 });
          }
        }
      } finally {
        await page.setViewportSize({ width: 1366, height: 800 });
      }
    });
  }

  await check("signing out ends the session on the server and in the browser", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    const status = await page.evaluate(async () => (await fetch("/v1/me")).status);
    if (status !== 401) throw new Error(`/v1/me after signing out: ${status}`);
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await accessible("login at 390 px");
      await page.screenshot({ path: join(shots, "login-390.png") });
    } finally {
      await page.setViewportSize({ width: 1366, height: 800 });
    }
  });
} finally {
  await browser.close();
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`\nE2E: ${checks.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}
