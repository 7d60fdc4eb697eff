// The example web client: the page of a two-tier app. It holds no secret, names no user and
// talks to Graph, ERP.net or Entra ID never: everything goes to its own backend (`mssync serve`),
// which signed the browser in with Microsoft, keeps the session in an HttpOnly cookie, and runs
// MsSync for that user. The page reads the session's CSRF token and sends it with every call.
import init, { mountHomePanel, mountSetupPanel } from "/pkg/mssync.js";

const $ = (id) => document.getElementById(id);

/** The backend's error answer `{code, code_name, reason}` as the panels read errors. */
async function backendError(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON: the status says enough.
  }
  return Object.assign(new Error(body.reason ?? `the backend answered ${response.status}`), {
    name: "MsSyncError",
    code: body.code ?? 202,
    codeName: body.code_name ?? "transport_failure",
  });
}

/** POST /api/{path} with the session's CSRF token; the answer's JSON text. */
async function post(path, csrfToken, body = "{}") {
  const response = await fetch(`/api/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-MsSync-CSRF": csrfToken },
    body,
  });
  if (!response.ok) throw await backendError(response);
  return response.status === 204 ? "" : response.text();
}

function describe(error) {
  return error?.name === "MsSyncError" ? `Error ${error.code} (${error.codeName}): ${error.message}` : String(error);
}

async function main() {
  await init();
  $("sign-in").addEventListener("click", () => {
    const hint = $("login-hint").value.trim();
    location.assign(`/signin/start${hint ? `?login_hint=${encodeURIComponent(hint)}` : ""}`);
  });

  const response = await fetch("/api/session", { credentials: "same-origin" });
  if (response.status === 401) {
    $("signin-status").textContent = "Not signed in.";
    $("service-status").textContent = "Sign in as an ERP.net administrator to see Service.";
    return;
  }
  if (!response.ok) throw await backendError(response);
  const session = await response.json();
  $("signin-status").textContent = `Signed in as ${session.name} (${session.email}).`;
  $("sign-in").hidden = true;
  $("login-hint").hidden = true;
  document.querySelector('label[for="login-hint"]').hidden = true;
  $("sign-out").hidden = false;
  $("sign-out").addEventListener("click", async () => {
    await post("signout", session.csrf_token);
    location.reload();
  });

  // Service: the backend lets only ERP.net administrators read it.
  try {
    const service = JSON.parse(await post("service", session.csrf_token));
    $("service-status").textContent = service.connected_at
      ? `Connected at ${service.connected_at}; domains: ${service.domains.join(", ") || "none"}.`
      : "Not connected yet.";
  } catch (error) {
    $("service-status").textContent = describe(error);
  }

  // The panels' one way to the backend: the operation and its request, for this session's user.
  const host = { api: (operation, requestJson) => post(`panels/${operation}`, session.csrf_token, requestJson) };
  window.mssyncPanels = {
    setup: await mountSetupPanel($("setup-panel"), host),
    home: await mountHomePanel($("home-panel"), host, { allowSyncNow: true }),
  };
}

main().then(
  () => document.body.setAttribute("data-ready", "true"),
  (error) => {
    $("signin-status").textContent = describe(error);
    document.body.setAttribute("data-ready", "error");
  },
);
