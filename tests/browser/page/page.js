// The test page: loads the package, lists the Setup time zones, runs the store conformance suite
// against the in-page memory store, and exposes `window.mssyncTest` for the harness.
import init, { checkStore, mssyncVersion, timeZones } from "/pkg/mssync.js";
import { MemoryStore, compareUtf8 } from "/pkg/memory-store.js";
import { WebStorageStore } from "/pkg/web-storage-store.js";

// No HTTP is needed by the conformance suite; a host must still supply the member.
const noHttp = async () => {
  throw Object.assign(new Error("no network in this page"), { kind: "connection" });
};

/** Settles a promise into plain data the harness can read across the page boundary. */
async function outcome(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, name: error?.name, code: error?.code, codeName: error?.codeName, message: error?.message };
  }
}

/** A memory store whose scan sorts with JS string order, the mistake compareUtf8 prevents. */
function storeSortingByJsOrder() {
  const inner = new MemoryStore();
  return {
    get: (key) => inner.get(key),
    commit: (batch) => inner.commit(batch),
    scan: async (prefix) => (await inner.scan(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

const ready = (async () => {
  await init();
  document.getElementById("version").textContent = mssyncVersion();
  const zones = timeZones();
  const select = document.getElementById("zones");
  for (const zone of zones) {
    const option = new Option(zone.displayName, zone.id);
    option.dataset.iana = zone.iana;
    select.add(option);
  }
  select.value = "Tokyo Standard Time";
  document.getElementById("zone-count").textContent = `${zones.length} zones`;

  const status = document.getElementById("status");
  const result = await outcome(checkStore({ http: noHttp, store: new MemoryStore() }));
  status.textContent = result.ok ? "passed" : `failed: ${result.code} ${result.message}`;
  status.className = result.ok ? "passed" : "failed";
  return { conformance: result, zones };
})();

window.mssyncTest = {
  ready: () => ready,
  checkStore: (host) => outcome(checkStore(host)),
  checkJsOrderStore: () => outcome(checkStore({ http: noHttp, store: storeSortingByJsOrder() })),
  // In sessionStorage under a fresh namespace: the suite writes and deletes freely.
  checkWebStorageStore: () =>
    outcome(checkStore({ http: noHttp, store: new WebStorageStore(sessionStorage, `conformance-${Date.now()}`) })),
  checkIncompleteHost: () => outcome(checkStore({ http: noHttp, store: { get() {} } })),
  compareUtf8,
};
