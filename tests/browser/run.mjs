// Browser tests of the MsSync WASM package in Debian's headless Chromium, driven by playwright-core
// (which never downloads a browser). Needs wasm/pkg-test/ (wasm/build.sh --test-hooks).
// The example web client (examples/web) runs on the published package (wasm/pkg) against the
// seeded simulators (the `mssync-sims` binary, built by tests/run.sh).
// Prints one line per test and `N passed, N failed` last.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { serveExample } from "../../examples/web/server.mjs";
import { serve } from "./server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const screenshots = resolve(here, "../out/browser");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialling Google, which this machine refuses.
const flags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const tests = [];
const test = (name, body) => tests.push({ name, body });

/** Opens the test page in a fresh tab (a fresh module instance) and waits for its first run. */
async function openPage(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => message.type() === "error" && problems.push(`console: ${message.text()}`));
  await page.goto(`${url}/index.html`);
  const first = await page.evaluate(() => window.mssyncTest.ready());
  return { page, problems, first };
}

test("the package loads and the in-page memory store passes checkStore", async ({ context, url }) => {
  const { page, problems, first } = await openPage(context, url);
  assert.equal(first.conformance.ok, true, `checkStore rejected: ${JSON.stringify(first.conformance)}; ${problems.join("; ")}`);
  assert.equal(await page.textContent("#status"), "passed");
  assert.deepEqual(problems, [], "no page errors");
  await page.close();
});

test("timeZones lists every Windows zone with its IANA name", async ({ context, url }) => {
  const { page, first } = await openPage(context, url);
  const tokyo = first.zones.find((zone) => zone.id === "Tokyo Standard Time");
  assert.equal(tokyo?.iana, "Asia/Tokyo");
  assert.equal(tokyo.displayName, "(UTC+09:00) Osaka, Sapporo, Tokyo");
  assert.ok(first.zones.length > 130, `only ${first.zones.length} zones`);
  assert.equal(new Set(first.zones.map((zone) => zone.id)).size, first.zones.length, "ids are unique");
  assert.equal(await page.$eval("#zones", (select) => select.options.length), first.zones.length);
  assert.equal(await page.$eval("#zones", (select) => select.selectedOptions[0].dataset.iana), "Asia/Tokyo");
  await mkdir(screenshots, { recursive: true });
  const file = join(screenshots, "test-page.png");
  await page.screenshot({ path: file, fullPage: true });
  console.log(`   screenshot: ${file}`);
  await page.close();
});

test("a store scanning in JS string order fails checkStore with MsSyncError 104", async ({ context, url }) => {
  const { page } = await openPage(context, url);
  const result = await page.evaluate(() => window.mssyncTest.checkJsOrderStore());
  assert.equal(result.ok, false, "the suite must catch UTF-16 ordering");
  assert.equal(result.name, "MsSyncError");
  assert.equal(result.code, 104);
  assert.equal(result.codeName, "panic");
  assert.match(result.message, /\[scan\]/);
  await page.close();
});

test("an incomplete host is rejected with MsSyncError 101", async ({ context, url }) => {
  const { page } = await openPage(context, url);
  const result = await page.evaluate(() => window.mssyncTest.checkIncompleteHost());
  assert.deepEqual(result, {
    ok: false,
    name: "MsSyncError",
    code: 101,
    codeName: "invalid_argument",
    message: "host.store.scan must be a function",
  });
  await page.close();
});

test("compareUtf8 orders like UTF-8 bytes in the browser", async ({ context, url }) => {
  const { page } = await openPage(context, url);
  const keys = ["b", "\u{1F600}", "\uFFFD", "\uE000", "a", "\uD7FF", "é", "\u{10000}", "ab", ""];
  const sorted = await page.evaluate((keys) => [...keys].sort(window.mssyncTest.compareUtf8), keys);
  const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(sorted, byBytes);
  await page.close();
});


/** Starts the seeded simulators; resolves to their JSON line and a stop function. */
async function startSims() {
  const target = process.env.CARGO_TARGET_DIR ?? resolve(here, "../../target");
  const child = spawn(join(target, "debug/mssync-sims"), [], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((ok, fail) => {
    lines.once("line", ok);
    child.once("exit", (code) => fail(new Error(`mssync-sims exited with ${code}`)));
  });
  return { sims: JSON.parse(first), stop: () => child.stdin.end() };
}

async function screenshotOf(locator, name) {
  await mkdir(screenshots, { recursive: true });
  const file = join(screenshots, name);
  await locator.screenshot({ path: file });
  console.log(`   screenshot: ${file}`);
}

/** Opens the example page and waits until its script settled. */
async function openExample(page, url) {
  await page.goto(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#signin-status"));
}

test("example page: connect, sign in, Setup, Calendar on, Sync now, Home, and an error state", async ({ context, example }) => {
  const { url, sims } = example;
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  const items = async () => (await fetch(sims.inspect_url)).json();

  // The administrator connects the tenant: consent at Entra ID, back through the redirect.
  await openExample(page, url);
  await page.getByRole("button", { name: "Connect the tenant" }).click();
  await page.waitForURL(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  await page.getByText(/^Connected at /).waitFor();

  // Alice signs in with Microsoft; the panels mount for her.
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.waitForURL(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  const setup = page.locator("#setup-panel section");
  const home = page.locator("#home-panel section");
  await setup.getByLabel("Enterprise company").waitFor();
  assert.equal(await home.locator("dd").first().textContent(), "Alice Adams");

  // Only the choices ERP.net allows: the inactive company and the closed office are not offered.
  const company = setup.getByLabel("Enterprise company");
  const companies = await company.locator("option:not([disabled])").allTextContents();
  assert.deepEqual(companies, ["Contoso Ltd"]);
  await company.selectOption({ label: "Contoso Ltd" });
  const location = setup.getByLabel("Location");
  await location.selectOption({ label: "Plovdiv office" });
  await page.waitForFunction(() => document.querySelector("#setup-panel section")?.getAttribute("aria-busy") === "false");
  const locations = await setup.getByLabel("Location").locator("option:not([disabled])").allTextContents();
  assert.deepEqual(locations.sort(), ["Plovdiv office", "Sofia office"]);
  assert.match(await setup.getByLabel("Location").locator("option:checked").textContent(), /Plovdiv office/);

  const zone = setup.getByLabel("Time zone");
  assert.ok((await zone.locator("option").count()) > 130, "every Windows zone is offered");
  await zone.selectOption({ label: "(UTC+02:00) Athens, Bucharest" });
  await page.waitForFunction(() => document.querySelector("#setup-panel section")?.getAttribute("aria-busy") === "false");
  assert.equal(await setup.getByLabel("Time zone").locator("option:checked").textContent(), "(UTC+02:00) Athens, Bucharest");

  // Calendar on, from the keyboard: the switch is a focusable button.
  const calendar = setup.getByRole("switch", { name: "Calendar" });
  assert.equal(await calendar.getAttribute("aria-checked"), "false");
  await calendar.focus();
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector("#setup-panel [role=switch]")?.getAttribute("aria-checked") === "true");
  // Home followed the change (the panels tell each other).
  const sync = home.getByRole("button", { name: "Sync Calendar now" });
  await page.waitForFunction(() => !document.querySelector("#home-panel button[data-action=sync]")?.disabled);
  assert.equal(await home.locator('[data-field="latest-sync"]').textContent(), "—");
  const logBefore = await home.locator(".mssync-log li").count();

  // Sync now: both sides get the other's item, Home shows checkpoints, counts and log lines.
  await sync.click();
  await page.waitForFunction(() => document.querySelector('#home-panel [data-field="latest-sync"]')?.textContent !== "—");
  await page.waitForFunction(() => document.querySelector("#home-panel section")?.getAttribute("aria-busy") === "false");
  for (const field of ["latest-sync", "remote-checkpoint", "local-checkpoint"]) {
    assert.match(await home.locator(`[data-field="${field}"]`).textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\dZ$/, field);
  }
  assert.match(await home.locator('[data-field="last-run"]').textContent(), /To Outlook: 1 created.*To ERP\.net: 1 created/);
  assert.ok((await home.locator(".mssync-log li").count()) > logBefore, "new log lines");
  assert.equal(await home.locator(".mssync-state").getAttribute("data-state"), "operational");
  const after = await items();
  assert.deepEqual(after.outlook.sort(), [sims.activity_subject, sims.event_subject].sort());
  assert.deepEqual(after.erp.sort(), [sims.activity_subject, sims.event_subject].sort());
  await screenshotOf(setup, "setup-panel.png");
  await screenshotOf(home, "home-panel.png");

  // Graph refuses access: the run fails, Home shows the code, the message and the error state.
  await fetch(`${sims.control_url}/graph/refuse`, { method: "POST" });
  try {
    await sync.click();
    await home.getByRole("alert").waitFor();
    assert.match(await home.getByRole("alert").textContent(), /^Error \d+: /);
    await page.waitForFunction(() => document.querySelector("#home-panel .mssync-state")?.dataset.state === "error");
    assert.match(await home.locator(".mssync-state").textContent(), /Error/);
    await page.waitForFunction(() => document.querySelector("#setup-panel .mssync-state")?.dataset.state === "error");
    await screenshotOf(home, "home-panel-error.png");
  } finally {
    await fetch(`${sims.control_url}/graph/allow`, { method: "POST" });
  }

  // Everything lives in the page's store: a reload shows the same Setup.
  await page.reload();
  await page.waitForSelector("body[data-ready]");
  await page.locator("#setup-panel section").getByLabel("Time zone").waitFor();
  assert.equal(await page.locator("#setup-panel").getByLabel("Time zone").locator("option:checked").textContent(), "(UTC+02:00) Athens, Bucharest");
  await page.screenshot({ path: join(screenshots, "example-page.png"), fullPage: true });
  console.log(`   screenshot: ${join(screenshots, "example-page.png")}`);
  assert.deepEqual(problems, [], "no page errors");
  await page.close();
});

test("a panel for a user who never signed in shows the error, and a bad element is a typed error", async ({ context, url }) => {
  const { page } = await openPage(context, url);
  const result = await page.evaluate(async () => {
    const { mountHomePanel, mountSetupPanel } = await import("/pkg/mssync.js");
    const { MemoryStore } = await import("/pkg/memory-store.js");
    const host = { http: async () => ({ status: 500 }), store: new MemoryStore() };
    const element = document.createElement("div");
    document.body.append(element);
    const panel = await mountHomePanel(element, host, { userId: "nobody" });
    const alert = element.querySelector("[role=alert]");
    const shown = { text: alert?.textContent, code: alert?.dataset.code, html: element.innerHTML.length };
    panel.unmount();
    let refused;
    try {
      await mountSetupPanel(element, host, {});
    } catch (error) {
      refused = { name: error.name, code: error.code, message: error.message };
    }
    return { shown, emptied: element.innerHTML, refused };
  });
  assert.match(result.shown.text, /^Error \d+: no such MsSync user; sign in with Microsoft first$/);
  assert.ok(result.shown.code, "the alert carries the code");
  assert.equal(result.emptied, "", "unmount empties the element");
  assert.deepEqual(result.refused, {
    name: "MsSyncError",
    code: 101,
    message: "options.userId (the signed-in user's id) is required",
  });
  await page.close();
});

test("the Web Storage store passes checkStore", async ({ context, url }) => {
  const { page } = await openPage(context, url);
  const result = await page.evaluate(() => window.mssyncTest.checkWebStorageStore());
  assert.equal(result.ok, true, JSON.stringify(result));
  await page.close();
});

const server = await serve();
const simulators = await startSims();
const exampleServer = await serveExample({ sims: simulators.sims });
const example = { url: exampleServer.url, sims: simulators.sims };
const userDataDir = await mkdtemp(join(tmpdir(), "mssync-chromium-"));
let context;
let passed = 0;
let failed = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
  });
  for (const { name, body } of tests) {
    try {
      await body({ context, url: server.url, example });
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}\n   ${String(error?.stack ?? error).split("\n").join("\n   ")}`);
    }
  }
} catch (error) {
  failed = tests.length - passed;
  console.log(`not ok - launching ${chromiumPath}: ${error?.message ?? error}`);
} finally {
  await context?.close();
  await server.close();
  await exampleServer.close();
  simulators.stop();
  await rm(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
