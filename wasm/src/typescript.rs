//! The TypeScript definitions of what the page passes in and gets back. Exported functions take
//! and return `JsValue`, so these hand-written types are the contract; keep them in step with
//! `api.rs`, `error.rs` and `panels/mount.rs`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const PANEL_TYPES: &str = r#"
/** Every failure MsSync hands to JavaScript. `code` is stable forever (see ErrorCode). */
export interface MsSyncError extends Error {
  name: "MsSyncError";
  /** The stable numeric error code, e.g. 301 for forbidden. */
  code: number;
  /** The code's snake_case name, e.g. "forbidden". */
  codeName: string;
}

/** The operations of the signed-in user the panels call (mssync_core::app::UserOperation). */
export type PanelOperation =
  | "home" | "setup" | "setup_options" | "set_company" | "change_setup"
  | "set_job_enabled" | "request_full_refresh" | "sync_now";

/** What the page supplies: one async callback to its backend, which knows who is signed in
 *  from its own session. Resolve with the answer's JSON text; reject with an object carrying
 *  the backend's `code`, `codeName` and `message` (anything else counts as a transport failure).
 *  Requests never name a user. */
export interface PanelHost {
  api(operation: PanelOperation, requestJson: string): Promise<string>;
}

/** The only panel option. A user id, a sealing key or endpoints are refused (MsSyncError 101). */
export interface PanelOptions {
  /** Shows "Sync now" on Home; default true. */
  allowSyncNow?: boolean;
}
"#;
