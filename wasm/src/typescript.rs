//! The TypeScript definitions of what the page passes in and gets back. Exported functions take
//! and return `JsValue`, so these hand-written types are the contract; keep them in step with
//! `host/dto.rs` and `error.rs`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const HOST_TYPES: &str = r#"
/** Every failure MsSync hands to JavaScript. `code` is stable forever (see ErrorCode). */
export interface MsSyncError extends Error {
  name: "MsSyncError";
  /** The stable numeric error code, e.g. 200 for store_conflict. */
  code: number;
  /** The code's snake_case name, e.g. "store_conflict". */
  codeName: string;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What `host.http` receives. */
export interface HttpRequestJs {
  method: HttpMethod;
  url: string;
  /** `[name, value]` pairs in order; a name may repeat. */
  headers: [string, string][];
  body: Uint8Array;
  /** How long the host may take before failing with a timeout. */
  timeoutMs: number;
}

/** What `host.http` resolves to, whatever the status. Reject only when no response came:
 *  a rejection with `kind: "timeout" | "connection" | "host"`, or fetch's own TypeError /
 *  AbortError / TimeoutError. */
export interface HttpResponseJs {
  status: number;
  headers?: [string, string][];
  body?: Uint8Array;
}

export interface StoredValueJs { value: Uint8Array; version: number; }
export interface ScannedEntryJs { key: string; value: Uint8Array; version: number; }
export type ExpectJs = { kind: "any" } | { kind: "absent" } | { kind: "version"; version: number };
export type WriteJs =
  | { op: "put"; key: string; value: Uint8Array; expect: ExpectJs }
  | { op: "delete"; key: string; expect: ExpectJs };
export interface WriteBatchJs { writes: WriteJs[]; }
export type CommitResultJs = { ok: true } | { ok: false; conflictKey: string };

/** Versioned key-value storage with atomic commits. Every write of a key gets a version that key
 *  never had; expectations are checked against the state before the batch; `scan` returns keys in
 *  ascending UTF-8 byte order (not JS string order). */
export interface HostStore {
  get(key: string): Promise<StoredValueJs | null>;
  scan(prefix: string): Promise<ScannedEntryJs[]>;
  commit(batch: WriteBatchJs): Promise<CommitResultJs>;
}

/** What the page supplies. */
export interface MsSyncHost {
  http(request: HttpRequestJs): Promise<HttpResponseJs>;
  store: HostStore;
}

/** One choice of the Setup time-zone list. */
export interface TimeZoneOption {
  /** The Windows id Graph takes, e.g. "FLE Standard Time". */
  id: string;
  /** e.g. "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius". */
  displayName: string;
  /** The IANA zone it maps to, e.g. "Europe/Helsinki". */
  iana: string;
}
"#;
