// End-to-end checks of the web console in headless Chromium (Debian's chromium driven by
// playwright-core) against a real `copilot serve` that scripts/e2e starts. Each step
// waits for what a person would see; screenshots of the main screens go to $SHOTS.
import { mkdirSync } from "node:fs";
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
mkdirSync(shots, { recursive: true });

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
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: subject }).waitFor();
    await page.screenshot({ path: join(shots, "inbox.png") });
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
    await page.getByRole("button", { name: "Approve and send" }).waitFor();
    const source = page.locator(".sources summary").first();
    await source.waitFor();
    await source.click();
    await page.locator(".sources blockquote").first().waitFor();
    await page.screenshot({ path: join(shots, "ticket-draft.png"), fullPage: true });
  });

  await check("the agent edits and approves the draft, and the reply appears in the thread", async () => {
    const edited = "Hello, you can return it within 30 days, free of charge. — edited in the e2e test";
    await page.getByRole("textbox", { name: "Draft reply" }).fill(edited);
    await page.getByRole("button", { name: "Approve and send" }).click();
    await page.getByText("Approved and sent.").waitFor();
    await page.locator(".message.author-agent .body", { hasText: edited }).waitFor();
  });

  await check("the console switches to Chinese", async () => {
    await page.getByRole("button", { name: "中文" }).click();
    await page.getByRole("link", { name: "收件箱" }).waitFor();
    await page.getByRole("button", { name: /返回收件箱/ }).waitFor();
    await page.screenshot({ path: join(shots, "ticket-zh.png"), fullPage: true });
    await page.getByRole("button", { name: "English" }).click();
  });

  await check("an admin uploads a document and watches it become ready", async () => {
    await page.getByRole("link", { name: "Knowledge" }).click();
    await page.locator('input[type="file"]').setInputFiles(goodFile);
    const name = goodFile.split("/").pop().replace(/\.[^.]+$/, "");
    await page.locator("tr", { hasText: name }).locator(".doc-ready").waitFor();
    await page.screenshot({ path: join(shots, "knowledge.png"), fullPage: true });
  });

  await check("a broken upload shows its error", async () => {
    await page.locator('input[type="file"]').setInputFiles(brokenFile);
    const name = brokenFile.split("/").pop().replace(/\.[^.]+$/, "");
    const row = page.locator("tr", { hasText: name });
    await row.locator(".doc-failed").waitFor();
    await row.locator(".error").waitFor();
  });

  await check("an admin saves the e-mail settings and is told why a webhook URL is refused", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    const email = page.getByRole("form", { name: "E-mail" });
    await email.getByLabel(/Support addresses/).fill("help@acme.test");
    await email.getByLabel("From name").fill("Acme Support");
    await email.getByRole("button", { name: "Save e-mail settings" }).click();
    await email.getByRole("status").waitFor();
    await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/hook");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid_webhook_url" }).waitFor();
    await page.screenshot({ path: join(shots, "settings.png"), fullPage: true });
  });

  await check("analytics count the approved draft", async () => {
    await page.getByRole("link", { name: "Analytics" }).click();
    await page.getByRole("img", { name: "Decisions on drafts per period" }).waitFor();
    await page.locator(".totals dd", { hasText: "100%" }).first().waitFor();
    await page.screenshot({ path: join(shots, "analytics.png"), fullPage: true });
  });
} finally {
  await browser.close();
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`\nE2E: ${checks.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}
