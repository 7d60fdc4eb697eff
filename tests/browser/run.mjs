// Browser tests of MsSync's panels in Debian's headless Chromium, driven by playwright-core (which
// never downloads a browser). The example web client runs in two tiers: the page (examples/web,
// with the published package wasm/pkg) -> `mssync serve` (examples/web/backend.mjs) -> the seeded
// simulators (`mssync-sims`). Two users in two browser contexts; tampered requests; the secrets
// the backend holds looked for in everything the pages saw.
// Needs wasm/pkg (wasm/build.sh) and the `mssync` and `mssync-sims` binaries (cargo build).
// Prints one line per test and `N passed, N failed` last.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { startBackend } from "../../examples/web/backend.mjs";

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

/** Everything a browser context saw: response bodies, request URLs, headers and bodies. */
function record(context) {
  const seen = [];
  context.on("request", (request) => {
    seen.push(`${request.method()} ${request.url()} ${JSON.stringify(request.headers())} ${request.postData() ?? ""}`);
  });
  context.on("response", async (response) => {
    seen.push(`${response.status()} ${response.url()} ${JSON.stringify(await response.allHeaders())}`);
    try {
      seen.push(await response.text());
    } catch {
      // Redirects have no body.
    }
  });
  return seen;
}

/** Opens the example page and waits until its script settled. */
async function openExample(page, url) {
  await page.goto(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#signin-status"));
}

/** Signs in through the page: Sign in with Microsoft, Entra ID, back to the page. */
async function signIn(page, url, email) {
  await openExample(page, url);
  await page.getByLabel("Microsoft account").fill(email);
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.waitForURL(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#signin-status"));
  await page.locator("#home-panel section dd").first().waitFor();
}

/** Waits until a panel is idle. Predicates are functions: the page's CSP forbids eval of strings. */
const idle = (page, panel) =>
  page.waitForFunction((panel) => document.querySelector(`${panel} section`)?.getAttribute("aria-busy") === "false", panel);

/** Calls the backend from a page as a script there could: any body, any headers. */
function callFrom(page, path, { body = "{}", csrf, credentials = "same-origin" } = {}) {
  return page.evaluate(
    async ({ path, body, csrf, credentials }) => {
      const headers = { "Content-Type": "application/json" };
      if (csrf !== undefined) headers["X-MsSync-CSRF"] = csrf;
      const response = await fetch(path, { method: "POST", headers, body, credentials });
      return { status: response.status, body: await response.text() };
    },
    { path, body, csrf, credentials },
  );
}

const csrfOf = (page) => page.evaluate(async () => (await (await fetch("/api/session")).json()).csrf_token);

test("user A: sign in, Setup, Calendar on, Sync now, Home in A's zone, and an error state", async ({ a, env }) => {
  const { url, sims } = env;
  const page = await a.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  const items = async () => (await fetch(sims.inspect_url)).json();

  await signIn(page, url, sims.alice_email);
  const setup = page.locator("#setup-panel section");
  const home = page.locator("#home-panel section");
  const calendarRow = home.locator('tr[data-job="calendar"]');
  await setup.getByLabel("Enterprise company").waitFor();
  assert.equal(await home.locator("dd").first().textContent(), "Alice Adams");
  assert.match(await page.textContent("#service-status"), /^Error 301 \(forbidden\): only ERP\.net administrators/);

  // Only the choices ERP.net allows: the inactive company and the closed office are not offered.
  const company = setup.getByLabel("Enterprise company");
  assert.deepEqual(await company.locator("option:not([disabled])").allTextContents(), ["Contoso Ltd"]);
  await company.selectOption({ label: "Contoso Ltd" });
  await setup.getByLabel("Location").selectOption({ label: "Plovdiv office" });
  await idle(page, "#setup-panel");
  const locations = await setup.getByLabel("Location").locator("option:not([disabled])").allTextContents();
  assert.deepEqual(locations.sort(), ["Plovdiv office", "Sofia office"]);
  assert.match(await setup.getByLabel("Location").locator("option:checked").textContent(), /Plovdiv office/);

  const zone = setup.getByLabel("Time zone");
  assert.ok((await zone.locator("option").count()) > 130, "every Windows zone is offered");
  await zone.selectOption({ label: "(UTC+02:00) Athens, Bucharest" });
  await idle(page, "#setup-panel");
  assert.equal(await setup.getByLabel("Time zone").locator("option:checked").textContent(), "(UTC+02:00) Athens, Bucharest");

  // Calendar on, from the keyboard: the switch is a focusable button.
  const calendar = setup.getByRole("switch", { name: "Calendar" });
  assert.equal(await calendar.getAttribute("aria-checked"), "false");
  await calendar.focus();
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector("#setup-panel [role=switch]")?.getAttribute("aria-checked") === "true");
  // Home followed the change (the panels tell each other).
  await page.waitForFunction(() => !document.querySelector("#home-panel button[data-action=sync]")?.disabled);
  assert.equal(await calendarRow.locator('[data-field="latest-sync"]').textContent(), "—");
  const logBefore = await home.locator(".mssync-log li").count();

  // Sync now: both sides get the other's item; Home shows checkpoints in A's zone, counts, log.
  await home.getByRole("button", { name: "Sync Calendar now" }).click();
  await page.waitForFunction(() => document.querySelector('#home-panel [data-field="latest-sync"]')?.textContent !== "—");
  await idle(page, "#home-panel");
  assert.match(await home.locator("caption").textContent(), /times in Europe\/Bucharest/);
  for (const field of ["latest-sync", "remote-checkpoint", "local-checkpoint"]) {
    const time = calendarRow.locator(`[data-field="${field}"] time`);
    const instant = await time.getAttribute("datetime");
    assert.match(instant, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/, field);
    const expected = await page.evaluate(
      (instant) => new Intl.DateTimeFormat(undefined, { timeZone: "Europe/Bucharest", dateStyle: "medium", timeStyle: "short" }).format(new Date(instant)),
      instant,
    );
    assert.equal(await time.textContent(), expected, field);
  }
  assert.match(await calendarRow.locator('[data-field="last-run"]').textContent(), /To Outlook: 1 created.*To ERP\.net: 1 created/);
  assert.ok((await home.locator(".mssync-log li").count()) > logBefore, "new log lines");
  assert.equal(await home.locator(".mssync-state").getAttribute("data-state"), "operational");
  const after = await items();
  assert.deepEqual(after.outlook.sort(), [sims.activity_subject, sims.event_subject].sort());
  assert.deepEqual(after.erp.sort(), [sims.activity_subject, sims.event_subject].sort());
  await screenshotOf(setup, "setup-panel.png");
  await screenshotOf(home, "home-panel.png");

  // Mail on: the message in Alice's Inbox reaches her ERP.net mailbox.
  const mailRow = home.locator('tr[data-job="mail"]');
  await setup.getByRole("switch", { name: "Mail" }).click();
  await page.waitForFunction(() => !document.querySelector('#home-panel button[data-job="mail"]')?.disabled);
  await home.getByRole("button", { name: "Sync Mail now" }).click();
  await page.waitForFunction(() => document.querySelector('#home-panel tr[data-job="mail"] [data-field="latest-sync"]')?.textContent !== "—");
  await idle(page, "#home-panel");
  assert.match(await mailRow.locator('[data-field="last-run"]').textContent(), /To ERP\.net: 1 created/);
  assert.deepEqual((await items()).mail_erp.map((m) => m.subject), [sims.message_subject]);

  // Graph refuses access: the run fails, Home shows the code, the message and the error state.
  await fetch(`${sims.control_url}/graph/refuse`, { method: "POST" });
  try {
    await home.getByRole("button", { name: "Sync Calendar now" }).click();
    await home.getByRole("alert").waitFor();
    assert.match(await home.getByRole("alert").textContent(), /^Error \d+: /);
    await page.waitForFunction(() => document.querySelector("#home-panel .mssync-state")?.dataset.state === "error");
    await page.waitForFunction(() => document.querySelector("#setup-panel .mssync-state")?.dataset.state === "error");
    await screenshotOf(home, "home-panel-error.png");
  } finally {
    await fetch(`${sims.control_url}/graph/allow`, { method: "POST" });
  }

  // The state lives in the backend: a reload shows the same Setup.
  await page.reload();
  await page.waitForSelector("body[data-ready]");
  await page.locator("#setup-panel section").getByLabel("Time zone").waitFor();
  assert.equal(await page.locator("#setup-panel").getByLabel("Time zone").locator("option:checked").textContent(), "(UTC+02:00) Athens, Bucharest");
  await page.screenshot({ path: join(screenshots, "example-page.png"), fullPage: true });
  console.log(`   screenshot: ${join(screenshots, "example-page.png")}`);
  assert.deepEqual(problems, [], "no page errors");
  await page.close();
});

test("user B cannot read or change A's Setup or Home, even with tampered requests", async ({ a, b, env }) => {
  const { url, sims } = env;
  const pageA = await a.newPage();
  await openExample(pageA, url);
  const pageB = await b.newPage();
  await signIn(pageB, url, sims.second_email);
  assert.equal(await pageB.locator("#home-panel section dd").first().textContent(), sims.second_name);
  assert.equal(await pageB.locator("#setup-panel").getByRole("switch", { name: "Calendar" }).getAttribute("aria-checked"), "false");
  const csrfA = await csrfOf(pageA);
  const csrfB = await csrfOf(pageB);
  assert.notEqual(csrfA, csrfB);

  const calendarOff = JSON.stringify({ job: "calendar", enabled: false });
  const attempts = [
    // Forged bodies naming A (or the host), with B's own valid session and token.
    ["panels/set_job_enabled", { body: JSON.stringify({ job: "calendar", enabled: false, user_id: sims.alice_oid }), csrf: csrfB }, 400],
    ["panels/set_job_enabled", { body: JSON.stringify({ job: "calendar", enabled: false, userId: sims.alice_oid }), csrf: csrfB }, 400],
    ["panels/change_setup", { body: JSON.stringify({ time_zone: "UTC", actor: { kind: "host" } }), csrf: csrfB }, 400],
    ["panels/home", { body: JSON.stringify({ user_id: sims.alice_oid }), csrf: csrfB }, 400],
    ["panels/setup", { body: JSON.stringify({ userId: sims.alice_oid }), csrf: csrfB }, 400],
    // B's cookie without a token, with a wrong one, with A's.
    ["panels/set_job_enabled", { body: calendarOff }, 403],
    ["panels/set_job_enabled", { body: calendarOff, csrf: "forged" }, 403],
    ["panels/set_job_enabled", { body: calendarOff, csrf: csrfA }, 403],
    ["panels/home", { csrf: csrfA }, 403],
    // A's token but no cookie at all (A's cookie is not B's to send).
    ["panels/set_job_enabled", { body: calendarOff, csrf: csrfA, credentials: "omit" }, 401],
    ["panels/home", { csrf: csrfA, credentials: "omit" }, 401],
    // Operations the panels do not have, and Service.
    ["panels/service", { csrf: csrfB }, 400],
    ["panels/due_jobs", { csrf: csrfB }, 400],
    ["service", { csrf: csrfB }, 403],
  ];
  for (const [path, options, status] of attempts) {
    const answer = await callFrom(pageB, `/api/${path}`, options);
    assert.equal(answer.status, status, `${path} ${JSON.stringify(options)}: ${answer.body}`);
    assert.ok(!answer.body.includes("Alice"), `${path}: ${answer.body}`);
  }
  // B's own Home is B's; A's Setup and Home are as A left them.
  const homeB = JSON.parse((await callFrom(pageB, "/api/panels/home", { csrf: csrfB })).body);
  assert.equal(homeB.name, sims.second_name);
  await pageA.reload();
  await pageA.waitForSelector("body[data-ready]");
  await pageA.locator("#setup-panel section").getByLabel("Time zone").waitFor();
  assert.equal(await pageA.locator("#setup-panel").getByRole("switch", { name: "Calendar" }).getAttribute("aria-checked"), "true");
  assert.equal(await pageA.locator("#setup-panel").getByLabel("Time zone").locator("option:checked").textContent(), "(UTC+02:00) Athens, Bucharest");
  assert.equal(await pageA.locator("#home-panel section dd").first().textContent(), "Alice Adams");
  assert.match(await pageB.textContent("#service-status"), /^Error 301 \(forbidden\)/);
  await screenshotOf(pageB.locator("body"), "second-user-page.png");
  await pageA.close();
  await pageB.close();
});

test("an ERP.net administrator reaches Service; the panels take no user, actor or key", async ({ admin, env }) => {
  const { url, sims } = env;
  const page = await admin.newPage();
  await signIn(page, url, sims.admin_email);
  // Service answered (the operator connected the tenant from the command line).
  assert.match(await page.textContent("#service-status"), /^(Connected at .*|Not connected yet\.)$/);
  const result = await page.evaluate(async () => {
    const { mountHomePanel, mountSetupPanel } = await import("/pkg/mssync.js");
    const element = document.createElement("div");
    document.body.append(element);
    const refusals = [];
    for (const options of [{ userId: "someone" }, { sealingKey: new Uint8Array(32) }, { actor: { kind: "host" } }]) {
      try {
        await mountSetupPanel(element, { api: async () => "{}" }, options);
        refusals.push("mounted");
      } catch (error) {
        refusals.push({ name: error.name, code: error.code, message: error.message });
      }
    }
    // A backend error shows as the panel's alert, with its code.
    const failing = { api: async () => { throw { code: 313, codeName: "domain_not_granted", message: "not <granted>" }; } };
    const panel = await mountHomePanel(element, failing);
    const alert = element.querySelector("[role=alert]");
    const shown = { text: alert?.textContent, code: alert?.dataset.code };
    panel.unmount();
    return { refusals, shown, emptied: element.innerHTML };
  });
  for (const refusal of result.refusals) {
    assert.equal(refusal.name, "MsSyncError", JSON.stringify(refusal));
    assert.equal(refusal.code, 101);
    assert.match(refusal.message, /is not a panel option: the page names no user and holds no secret/);
  }
  assert.deepEqual(result.shown, { text: "Error 313: not <granted>", code: "313" });
  assert.equal(result.emptied, "", "unmount empties the element");
  await page.close();
});

test("no token, secret or sealing key in the pages' traffic, storage, cookies or module exports", async ({ a, b, admin, env, seen }) => {
  const { url, secrets } = env;
  const found = [];
  for (const context of [a, b, admin]) {
    const page = await context.newPage();
    await openExample(page, url);
    const inPage = await page.evaluate(async () => {
      const module = await import("/pkg/mssync.js");
      const storage = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]));
      return {
        exports: Object.keys(module).sort(),
        cookie: document.cookie,
        local: storage(localStorage),
        session: storage(sessionStorage),
        html: document.documentElement.outerHTML,
        globals: Object.keys(window).filter((k) => /mssync|token|secret|key/i.test(k)),
      };
    });
    assert.deepEqual(inPage.exports, ["Panel", "default", "initSync", "mountHomePanel", "mountSetupPanel", "mssyncVersion", "start"]);
    assert.equal(inPage.cookie, "", "the session cookie is HttpOnly");
    assert.deepEqual([inPage.local, inPage.session], [{}, {}], "the page stores nothing");
    const cookies = await context.cookies();
    assert.ok(cookies.some((c) => c.name === "mssync_session" && c.httpOnly && c.sameSite === "Strict"), JSON.stringify(cookies));
    found.push(JSON.stringify(inPage));
    await page.close();
  }
  // Response bodies are read as they arrive: let the last ones land.
  await new Promise((ok) => setTimeout(ok, 500));
  const traffic = seen();
  const everything = [...traffic, ...found].join("\n");
  assert.ok(traffic.length > 50, `traffic was recorded (${traffic.length} items)`);
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(value.length >= 16, name);
    assert.ok(!everything.includes(value), `${name} reached a page`);
  }
  // No bearer token of any kind: JWTs (Entra ID, ERP.net) start with a base64 `{"`.
  assert.doesNotMatch(everything, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, "a JWT reached a page");
  assert.doesNotMatch(everything, /"(access_token|refresh_token|id_token|client_secret)"/);
});

const simulators = await startSims();
let backend;
let browser;
let passed = 0;
let failed = 0;
try {
  backend = await startBackend({ sims: simulators.sims });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: flags });
  const a = await browser.newContext();
  const b = await browser.newContext();
  const admin = await browser.newContext();
  const recorded = [a, b, admin].map(record);
  const env = { url: backend.url, sims: simulators.sims, secrets: backend.secrets };
  for (const { name, body } of tests) {
    try {
      await body({ a, b, admin, env, seen: () => recorded.flat() });
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}\n   ${String(error?.stack ?? error).split("\n").join("\n   ")}`);
    }
  }
} catch (error) {
  failed = tests.length - passed;
  console.log(`not ok - starting the backend or ${chromiumPath}: ${error?.stack ?? error}`);
} finally {
  await browser?.close();
  await backend?.stop();
  simulators.stop();
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
