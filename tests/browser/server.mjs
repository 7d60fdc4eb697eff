// A tiny static file server on 127.0.0.1 for the browser tests (node's http module only).
// Serves `page/` at `/` and the built package (wasm/pkg-test/) at `/pkg/`.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const roots = [
  ["/pkg/", resolve(here, "../../wasm/pkg-test")],
  ["/", resolve(here, "page")],
];
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm", // instantiateStreaming insists on it
  ".json": "application/json",
  ".css": "text/css",
  ".ts": "text/plain; charset=utf-8",
};

/** Starts the server on an ephemeral port; resolves to { url, close }. */
export async function serve() {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://127.0.0.1").pathname);
    const [mount, root] = roots.find(([prefix]) => path.startsWith(prefix));
    const relative = normalize(path.slice(mount.length) || "index.html");
    const file = join(root, relative);
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
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
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}
