// Browser tests of the MsSync WASM package in Debian's headless Chromium, driven by playwright-core
// (which never downloads a browser). Needs wasm/pkg-test/ (wasm/build.sh --test-hooks).
// Prints one line per test and `N passed, N failed` last.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
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

const server = await serve();
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
      await body({ context, url: server.url });
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
  await rm(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
