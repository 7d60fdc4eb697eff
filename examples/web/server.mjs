// Serves the demo web client: this folder at `/`, the WASM package at `/pkg/`, the simulators'
// endpoints at `/sims.json`, and the page again at `/signin` (where Entra ID redirects back).
// Node's http module only. As a program: MSS_SIMS_JSON='{...}' node server.mjs [port]
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm", // instantiateStreaming insists on it
  ".json": "application/json",
  ".css": "text/css",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * A static file server on 127.0.0.1 (node's http module only). `roots`: [urlPrefix, folder]
 * pairs, first match wins; `routes`: exact paths answered with JSON (`{ "/x.json": value }`) or
 * served as another file of the same root (`{ "/signin": "index.html" }`). Resolves to
 * { url, close }.
 */
export async function serveFiles({ roots, routes = {}, port = 0 }) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://127.0.0.1").pathname);
    const route = routes[path];
    if (route !== undefined && typeof route !== "string") {
      response.writeHead(200, { "Content-Type": types[".json"], "Cache-Control": "no-store" });
      response.end(JSON.stringify(route));
      return;
    }
    const [mount, root] = roots.find(([prefix]) => path.startsWith(prefix));
    const relative = route ?? normalize(path.slice(mount.length) || "index.html");
    const file = join(root, relative);
    if (!file.startsWith(root) || relative.endsWith(".mjs")) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        "Content-Type": types[extname(file)] ?? "application/octet-stream",
        "Cache-Control": "no-store",
      });
      response.end(body);
    } catch {
      response.writeHead(404, { "Content-Type": "text/plain" }).end(`not found: ${path}`);
    }
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/** The demo web client; `sims` is the simulators' JSON line, parsed. */
export function serveExample({ sims, pkgDir = resolve(here, "../../wasm/pkg"), port = 0 }) {
  return serveFiles({
    roots: [
      ["/pkg/", resolve(pkgDir)],
      ["/", here],
    ],
    routes: { "/sims.json": sims, "/signin": "index.html" },
    port,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sims = JSON.parse(process.env.MSS_SIMS_JSON ?? "null");
  if (!sims) throw new Error("set MSS_SIMS_JSON to the simulators' JSON line (examples/web/run.sh does)");
  const { url } = await serveExample({ sims, port: Number(process.argv[2] ?? 8080) });
  console.log(`MsSync web demo: open ${url}/ (Ctrl-C stops it)`);
}
