// The static server of the browser tests: `page/` at `/` and the built package (wasm/pkg-test/)
// at `/pkg/`, on the example's file server.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serveFiles } from "../../examples/web/server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Starts the server on an ephemeral port; resolves to { url, close }. */
export function serve() {
  return serveFiles({
    roots: [
      ["/pkg/", resolve(here, "../../wasm/pkg-test")],
      ["/", resolve(here, "page")],
    ],
  });
}
