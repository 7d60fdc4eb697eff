// A store for MsSync's `host.store` kept in the page's Web Storage (localStorage by default), so
// sign-in, Setup and checkpoints survive reloads and the sign-in redirect. Same contract as
// MemoryStore (checked by `checkStore`): a store-wide version counter, atomic batches checked
// against the state before the batch, `scan` in UTF-8 byte order.
//
// Web Storage is synchronous, so a batch applies in one task with nothing in between; it is not
// locked across tabs, so use it from one tab at a time. A production web client keeps MsSync's
// store in its backend instead (secrets and tokens are sealed, but belong on a server).
import { compareUtf8, expectationHolds } from "./memory-store.js";

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export class WebStorageStore {
  #storage;
  #prefix;

  /** `storage`: a Web Storage object; `namespace` keeps several stores apart in one origin. */
  constructor(storage = globalThis.localStorage, namespace = "mssync") {
    this.#storage = storage;
    this.#prefix = `${namespace}:entry:`;
    this.counterKey = `${namespace}:version`;
  }

  #read(key) {
    const raw = this.#storage.getItem(this.#prefix + key);
    if (raw === null) return undefined;
    const { version, value } = JSON.parse(raw);
    return { version, value: fromBase64(value) };
  }

  async get(key) {
    return this.#read(key) ?? null;
  }

  async scan(prefix) {
    const keys = [];
    for (let i = 0; i < this.#storage.length; i++) {
      const name = this.#storage.key(i);
      if (name.startsWith(this.#prefix + prefix)) keys.push(name.slice(this.#prefix.length));
    }
    keys.sort(compareUtf8);
    return keys.map((key) => ({ key, ...this.#read(key) }));
  }

  async commit(batch) {
    for (const write of batch.writes) {
      if (!expectationHolds(write.expect, this.#read(write.key))) {
        return { ok: false, conflictKey: write.key };
      }
    }
    const staged = batch.writes.map((write) => {
      if (write.op === "delete") return { key: write.key, value: null };
      if (write.op !== "put") throw new TypeError(`unknown write op ${JSON.stringify(write.op)}`);
      if (!(write.value instanceof Uint8Array)) throw new TypeError("a stored value must be a Uint8Array");
      return { key: write.key, value: toBase64(write.value) };
    });
    let version = Number(this.#storage.getItem(this.counterKey) ?? 0);
    for (const { key, value } of staged) {
      if (value === null) {
        this.#storage.removeItem(this.#prefix + key);
      } else {
        version += 1;
        this.#storage.setItem(this.#prefix + key, JSON.stringify({ version, value }));
      }
    }
    this.#storage.setItem(this.counterKey, String(version));
    return { ok: true };
  }

  /** Forgets everything this store holds (sign-out of the demo page). */
  clear() {
    const names = [];
    for (let i = 0; i < this.#storage.length; i++) names.push(this.#storage.key(i));
    for (const name of names) {
      if (name.startsWith(this.#prefix) || name === this.counterKey) this.#storage.removeItem(name);
    }
  }
}
