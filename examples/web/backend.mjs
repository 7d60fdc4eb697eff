// The example's backend: `mssync serve` over the seeded simulators (tests/sim's `mssync-sims`),
// serving this folder as the page, wasm/pkg at /pkg/, and the panels' API to signed-in browsers.
// The operator connects the tenant first with the `mssync service` commands (the backend's own
// administrator; the page never acts as the host). Node's standard library only.
// As a program: MSS_SIMS_JSON='{...}' node backend.mjs [port]   (run.sh starts the simulators)
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");

/** The `mssync` binary cargo built (`cargo build -p mssync-cli --bin mssync`). */
export function mssyncBinary() {
  return join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug/mssync");
}

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/**
 * Starts the backend on `port` (a free one when 0). `sims` is the simulators' JSON line, parsed.
 * Resolves to { url, secrets, stop }: `secrets` are the values only the backend holds (the
 * Entra ID and ERP.net client secrets, the sealing key), for tests that look for them in a page.
 */
export async function startBackend({ sims, port = 0, pkgDir = resolve(root, "wasm/pkg") }) {
  port ||= await freePort();
  const dir = await mkdtemp(join(tmpdir(), "mssync-web-"));
  const sealingKey = randomBytes(32);
  const config = `mode = "application"
store = "mssync.db"
listen = "127.0.0.1:${port}"

[web]
root = ${JSON.stringify(here)}
package = ${JSON.stringify(resolve(pkgDir))}

[entra]
authority = "${sims.authority}"
tenant_id = "${sims.tenant_id}"
client_id = "${sims.client_id}"

[graph]
base_url = "${sims.graph_base_url}"

[erp]
domain_api_url = "${sims.erp_base_url}"
token_endpoint = "${sims.erp_identity_base}/connect/token"
auth = "trusted_app"
trusted_app_client_id = "${sims.erp_client_id}"
`;
  await writeFile(join(dir, "mssync.toml"), config);
  // Credentials reach mssync only through its environment, never its arguments or config.
  const env = {
    ...process.env,
    MSSYNC_CONFIG: join(dir, "mssync.toml"),
    MSSYNC_ENTRA_CLIENT_SECRET: sims.client_secret,
    MSSYNC_ERP_CLIENT_SECRET: sims.erp_client_secret,
    MSSYNC_SEALING_KEY: sealingKey.toString("base64"),
  };
  const mssync = (...args) => promisify(execFile)(mssyncBinary(), args, { cwd: dir, env });

  // The operator connects the tenant; the tenant's administrator consents (the simulator
  // answers the consent page with its redirect at once).
  await mssync("service", "set");
  const consentUrl = (await mssync("service", "consent-url")).stdout.trim();
  const consent = await fetch(consentUrl, { redirect: "manual" });
  if (!consent.headers.get("location")?.includes("admin_consent=True")) {
    throw new Error(`admin consent refused: ${consent.status} ${consent.headers.get("location")}`);
  }
  await mssync("service", "give-permissions");
  await mssync("service", "grant-domain", sims.domain);

  const child = spawn(mssyncBinary(), ["serve"], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  const lines = createInterface({ input: child.stderr });
  const log = [];
  await new Promise((ok, fail) => {
    lines.on("line", (line) => {
      log.push(line);
      if (line.startsWith("Serving the panels")) ok();
    });
    child.once("exit", (code) => fail(new Error(`mssync serve exited with ${code}: ${log.join("\n")}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    secrets: {
      entraClientSecret: sims.client_secret,
      erpClientSecret: sims.erp_client_secret,
      sealingKeyBase64: sealingKey.toString("base64"),
      sealingKeyHex: sealingKey.toString("hex"),
    },
    log,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", ok);
        child.kill("SIGTERM");
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sims = JSON.parse(process.env.MSS_SIMS_JSON ?? "null");
  if (!sims) throw new Error("set MSS_SIMS_JSON to the simulators' JSON line (examples/web/run.sh does)");
  const backend = await startBackend({ sims, port: Number(process.argv[2] ?? 8080) });
  console.log(`MsSync web example: open ${backend.url}/ and sign in as ${sims.alice_email} (Ctrl-C stops it)`);
  process.on("SIGINT", async () => {
    await backend.stop();
    process.exit(0);
  });
}
