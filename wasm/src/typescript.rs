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

#[wasm_bindgen(typescript_custom_section)]
const APP_TYPES: &str = r#"
/** What the host tells MsSync when it creates it: endpoints and how to reach ERP.net. */
export interface AppConfig {
  /** The Entra ID login host, e.g. "https://login.microsoftonline.com". */
  authority: string;
  /** e.g. "https://graph.microsoft.com/v1.0". */
  graphBaseUrl: string;
  /** The Domain API's OData root, e.g. "https://acme.my.erp.net/api/domain/odata/". */
  erpBaseUrl: string;
  erpAccess:
    | { kind: "host" }
    | { kind: "trusted_app"; identityBase: string; clientId: string; clientSecret: string }
    | { kind: "personal_access_token"; token: string };
  /** Where Entra ID sends sign-ins and admin consents back to. */
  redirectUri: string;
  /** Names this engine instance in leases. */
  runnerId?: string;
}

/** `new MsSync(host, options)`. Without `config` only Setup, Home and the schedule work. */
export interface MsSyncOptions {
  config?: AppConfig;
  /** 32 bytes that seal secrets and tokens before they reach the store; required with config. */
  sealingKey?: Uint8Array;
}

/** What the panels take: the signed-in user, and whether Home offers "Sync now" (default true
 *  when `config` is given). */
export interface PanelOptions extends MsSyncOptions {
  userId: string;
  allowSyncNow?: boolean;
}

export type Actor = { kind: "host" } | { kind: "user"; userId: string };
export type OperationMode = "application" | "delegated";
export type ConflictPolicy = "newest" | "erp_wins" | "outlook_wins";
export type JobKind = "calendar";

export interface ServiceChange {
  tenantId?: string;
  clientId?: string;
  mode?: OperationMode;
  credential?:
    | { kind: "secret"; secret: string }
    | { kind: "certificate"; privateKeyPem: string; certificatePem: string };
}
export interface ServiceView {
  tenantId: string | null;
  clientId: string | null;
  mode: OperationMode;
  /** The credential's kind only; never the secret. */
  credential: string | null;
  domains: string[];
  meetingDocumentType: string | null;
  connectedAt: string | null;
}
export interface ConnectReport { token: boolean; graph: boolean; missing: string[]; }
export interface PermissionsReport {
  meetingDocumentType: "existed" | "created" | "missing";
  canReadActivities: boolean;
  missing: string[];
}
export interface SignInStart { authorizeUrl: string; state: string; }
export interface Session {
  userId: string;
  email: string;
  name: string;
  isAdmin: boolean;
  firstSignIn: boolean;
}

export interface SetupChange { timeZone?: string; policy?: ConflictPolicy; }
export interface SetupView {
  companyId: string | null;
  locationId: string | null;
  /** The Windows display name, e.g. "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius". */
  timeZone: string;
  timeZoneIana: string;
  policy: ConflictPolicy;
  jobs: { job: JobKind; title: string; enabled: boolean; fullRefreshRequested: boolean }[];
}
export interface SetupOptions {
  companies: { id: string; name: string; locations: { id: string; name: string }[] }[];
  timeZones: { id: string; displayName: string; iana: string }[];
  policies: ConflictPolicy[];
}

export interface CountsView { created: number; updated: number; removed: number; }
export interface LastRun {
  finished: string | null;
  toOutlook: CountsView;
  toErp: CountsView;
  conflicts: number;
  failed: number;
  requests: number;
  durationMs: number;
  node: string | null;
}
export interface JobView {
  job: JobKind;
  title: string;
  enabled: boolean;
  state: string;
  latestSync: string | null;
  remoteCheckpoint: string | null;
  localCheckpoint: string | null;
  nextRun: string | null;
  lastRun: LastRun;
}
export interface HomeView {
  name: string;
  email: string;
  /** "Operational", "Error: ...", "Throttled until ...", "Disabled". */
  state: string;
  fix: string | null;
  jobs: JobView[];
  /** Newest last, as "[2024-02-16 07:35Z INF] Pulled 2 activities for 154ms." */
  log: string[];
}
export interface RunReport {
  started: string;
  finished: string;
  dryRun: boolean;
  fullRead: boolean;
  pulledFromErp: number;
  pulledFromOutlook: number;
  toOutlook: CountsView;
  toErp: CountsView;
  conflicts: number;
  failed: number;
  skipped: number;
  requests: number;
  checkpointsAdvanced: boolean;
  nextRun: string;
}
/** A line of the user's log; `seq` only grows. */
export interface LogEntry { seq: number; at: string; level: "INF" | "WRN" | "ERR"; text: string; line: string; }
/** A finished run: its report and exactly the log lines it wrote. */
export interface JobRun { report: RunReport; log: LogEntry[]; }
export interface DueJob { userId: string; job: JobKind; dueSince: string; notified: boolean; }
"#;
