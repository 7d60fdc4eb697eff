// An in-page store for MsSync's `host.store`: versioned key-value pairs in a Map, gone when the
// page unloads. It keeps the contract the Rust core checks with its conformance suite
// (`checkStore`):
// - one store-wide version counter, so every write of a key gets a version that key never had
//   (a delete and re-create can never look like the value read before: no ABA);
// - `commit` checks every expectation against the state before the batch, then applies the
//   writes in order, or applies none;
// - `scan` returns keys in ascending UTF-8 byte order, which is code point order. JS compares
//   strings by UTF-16 code unit, which puts U+E000..U+FFFF after astral characters (surrogates are
//   0xD800..0xDFFF); `compareUtf8` corrects that.

/** Orders two strings as Rust orders `str`: by UTF-8 bytes, i.e. by code point. */
export function compareUtf8(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // At the first differing unit a surrogate stands for an astral code point, above all of
    // U+E000..U+FFFF: lift surrogates over that range before comparing.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function copyBytes(value) {
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  throw new TypeError("a stored value must be a Uint8Array");
}

export class MemoryStore {
  #entries = new Map(); // key -> { value: Uint8Array, version: number }
  #lastVersion = 0;

  async get(key) {
    const entry = this.#entries.get(key);
    return entry ? { value: entry.value.slice(), version: entry.version } : null;
  }

  async scan(prefix) {
    const keys = [];
    for (const key of this.#entries.keys()) {
      // A code point prefix is a UTF-16 prefix too, so startsWith is exact here.
      if (key.startsWith(prefix)) keys.push(key);
    }
    keys.sort(compareUtf8);
    return keys.map((key) => {
      const entry = this.#entries.get(key);
      return { key, value: entry.value.slice(), version: entry.version };
    });
  }

  async commit(batch) {
    const writes = batch.writes;
    for (const write of writes) {
      const current = this.#entries.get(write.key);
      if (!expectationHolds(write.expect, current)) {
        return { ok: false, conflictKey: write.key };
      }
    }
    // Validate every write before touching anything, so a malformed one cannot half-apply.
    const staged = writes.map((write) => {
      if (write.op === "put") return { key: write.key, value: copyBytes(write.value) };
      if (write.op === "delete") return { key: write.key, value: null };
      throw new TypeError(`unknown write op ${JSON.stringify(write.op)}`);
    });
    for (const { key, value } of staged) {
      if (value === null) this.#entries.delete(key);
      else this.#entries.set(key, { value, version: ++this.#lastVersion });
    }
    return { ok: true };
  }

  /** How many keys are stored (for pages and tests). */
  get size() {
    return this.#entries.size;
  }
}

/** Whether a write's expectation holds for the current entry (undefined when absent). */
export function expectationHolds(expect, current) {
  switch (expect.kind) {
    case "any":
      return true;
    case "absent":
      return current === undefined;
    case "version":
      return current !== undefined && current.version === expect.version;
    default:
      throw new TypeError(`unknown expectation ${JSON.stringify(expect.kind)}`);
  }
}
