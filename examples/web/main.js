// The demo web client: a host for MsSync (HTTP with fetch, the store in localStorage), the
// administrator's "Connect the tenant", "Sign in with Microsoft" through a redirect, and the
// Setup and Home panels of the WASM package.
import init, { MsSync, mountHomePanel, mountSetupPanel } from "/pkg/mssync.js";
import { WebStorageStore } from "/pkg/web-storage-store.js";

const NAMESPACE = "mssync-demo";

/* This tab's binding of a sign-in: a random value kept in session storage, so a sign-in only
 * completes in the tab that began it (a real web client hashes its server session instead). */
function browserSession() {
  const key = `${NAMESPACE}:sign-in-binding`;
  let value = sessionStorage.getItem(key);
  if (!value) {
    value = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(key, value);
  }
  return value;
}
/* The state of the admin consent this tab began (random, issued by consentUrl), so the
 * redirect back is recognised as that consent and handed to completeAdminConsent. */
const CONSENT_STATE_KEY = `${NAMESPACE}:admin-consent-state`;
const $ = (id) => document.getElementById(id);

/** The longest response body this host reads (the engine's own limit, 32 MiB). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** `host.http`: one request with fetch; rejects only when no response came, or when the body
 *  grows past MAX_RESPONSE_BYTES (reading stops there: a server cannot make the page hold more). */
async function http({ method, url, headers, body, timeoutMs }) {
  const response = await fetch(url, {
    method,
    headers,
    body: body.length ? body : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return {
    status: response.status,
    headers: [...response.headers],
    body: await limitedBody(response),
  };
}

async function limitedBody(response) {
  const tooLarge = () => Object.assign(new Error(`a response longer than ${MAX_RESPONSE_BYTES} bytes`), { kind: "host" });
  if (Number(response.headers.get("content-length") ?? 0) > MAX_RESPONSE_BYTES) throw tooLarge();
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}

/** The key that seals tokens and secrets in the store, kept beside it (a demo only: a real
 *  web client keeps both in its backend). */
function sealingKey() {
  const name = `${NAMESPACE}:sealing-key`;
  let saved = localStorage.getItem(name);
  if (!saved) {
    saved = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    localStorage.setItem(name, saved);
  }
  return Uint8Array.from(atob(saved), (c) => c.charCodeAt(0));
}

function describe(error) {
  return error?.name === "MsSyncError" ? `Error ${error.code} (${error.codeName}): ${error.message}` : String(error);
}

async function main() {
  const sims = await (await fetch("/sims.json")).json();
  await init();
  const store = new WebStorageStore(localStorage, NAMESPACE);
  const host = { http, store };
  const options = {
    config: {
      authority: sims.authority,
      graphBaseUrl: sims.graph_base_url,
      erpBaseUrl: sims.erp_base_url,
      erpAccess: {
        kind: "trusted_app",
        identityBase: sims.erp_identity_base,
        clientId: sims.erp_client_id,
        clientSecret: sims.erp_client_secret,
      },
      redirectUri: `${location.origin}/signin`,
      runnerId: "web-demo",
    },
    sealingKey: sealingKey(),
  };
  const app = new MsSync(host, options);
  const admin = { kind: "host" };

  const showService = async () => {
    try {
      const view = await app.service(admin);
      $("service-status").textContent = view.connectedAt
        ? `Connected at ${view.connectedAt}; domains: ${view.domains.join(", ") || "none"}.`
        : "Not connected yet.";
    } catch (error) {
      $("service-status").textContent = describe(error);
    }
  };

  // Back from Entra ID: an admin consent, a sign-in, or a refusal.
  const query = new URLSearchParams(location.search);
  if (location.pathname === "/signin") {
    history.replaceState(null, "", "/");
    const state = query.get("state") ?? "";
    try {
      if (state && state === sessionStorage.getItem(CONSENT_STATE_KEY)) {
        sessionStorage.removeItem(CONSENT_STATE_KEY);
        await app.completeAdminConsent(admin, state, query.get("admin_consent") ?? "", query.get("tenant") ?? "",
                                       query.get("error") ?? "", query.get("error_description") ?? "");
        const report = await app.connect(admin, sims.admin_oid);
        if (report.missing.length) throw new Error(report.missing.join(" "));
        await app.givePermissions(admin);
        await app.grantDomain(admin, sims.domain);
      } else if (query.has("error")) {
        await app.failSignIn(state, query.get("error"), query.get("error_description") ?? "");
      } else {
        const session = await app.completeSignIn(state, query.get("code") ?? "", browserSession());
        localStorage.setItem(`${NAMESPACE}:user`, JSON.stringify(session));
      }
    } catch (error) {
      $("signin-status").textContent = describe(error);
    }
  }
  await showService();

  $("connect").addEventListener("click", async () => {
    try {
      await app.setService(admin, {
        tenantId: sims.tenant_id,
        clientId: sims.client_id,
        mode: "application",
        credential: { kind: "secret", secret: sims.client_secret },
      });
      const consentUrl = await app.consentUrl(admin);
      sessionStorage.setItem(CONSENT_STATE_KEY, new URL(consentUrl).searchParams.get("state") ?? "");
      location.assign(consentUrl);
    } catch (error) {
      $("service-status").textContent = describe(error);
    }
  });
  $("login-hint").value = sims.alice_email;
  $("sign-in").addEventListener("click", async () => {
    try {
      const start = await app.beginSignIn(browserSession(), $("login-hint").value || undefined);
      location.assign(start.authorizeUrl);
    } catch (error) {
      $("signin-status").textContent = describe(error);
    }
  });
  $("sign-out").addEventListener("click", () => {
    store.clear();
    localStorage.removeItem(`${NAMESPACE}:user`);
    location.reload();
  });

  const session = JSON.parse(localStorage.getItem(`${NAMESPACE}:user`) ?? "null");
  if (!session) {
    $("signin-status").textContent ||= "Not signed in.";
    return;
  }
  $("signin-status").textContent ||= `Signed in as ${session.name} (${session.email}).`;
  const panelOptions = { ...options, userId: session.userId, allowSyncNow: true };
  window.mssyncPanels = {
    setup: await mountSetupPanel($("setup-panel"), host, panelOptions),
    home: await mountHomePanel($("home-panel"), host, panelOptions),
  };
}

main().then(
  () => document.body.setAttribute("data-ready", "true"),
  (error) => {
    $("signin-status").textContent = describe(error);
    document.body.setAttribute("data-ready", "error");
  },
);
