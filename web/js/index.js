// pocketrank: on-device personal reranking. The shopper's profile lives on this device
// (IndexedDB in browsers, memory elsewhere) and is never sent anywhere by this package.
//
// The session logic (the profile, the ring of recent events, the stored record tagged with
// the model version, rebuilding after a model update, event checks, the shop's order on
// failure) is the Rust runtime's, through the WebAssembly core. This file adds storage,
// the WebGPU path and the error policy (strict / onError / onWarning).
import initWasm, { initSync as initCoreSync, maxCandidates, Model, Session, shopOrder, simd as coreSimd, version } from './pocketrank_core.js';

export { Model, version };

// web/build.sh sets this to true in text.js, the entry point over the module with the tokenizer.
const TEXT = false;

/** Whether this entry point places new products by their titles (`pocketrank/text`). */
export function hasText() {
  return TEXT;
}

/** @typedef {import('./index.js').ErrorCode} ErrorCode */
/** @typedef {import('./index.js').PocketrankError} PocketrankError */
/** @typedef {import('./index.js').Candidate} Candidate */
/** @typedef {import('./index.js').Ranked} Ranked */
/** @typedef {import('./index.js').RerankOptions} RerankOptions */
/** @typedef {import('./index.js').PersonalizerRerankOptions} PersonalizerRerankOptions */
/** @typedef {import('./index.js').LoadOptions} LoadOptions */
/** @typedef {import('./index.js').ProfileStorage} ProfileStorage */
/** @typedef {import('./index.js').ShopperEvent} ShopperEvent */
/** @typedef {import('./index.js').RecordedEvent} RecordedEvent */
/** @typedef {import('./index.js').Calibration} Calibration */
/** @typedef {import('./index.js').ExportedProfile} ExportedProfile */
/** @typedef {import('./index.js').WasmSource} WasmSource */
/** @typedef {import('./index.js').ModelSource} ModelSource */
/** @typedef {import('./webgpu.js').WebGpuScorer} WebGpuScorer */
/** @typedef {{ ids: string[], scores: Float32Array | undefined, titles: string[] | undefined, codes: string[] | undefined }} Flat */
/** @typedef {import('./index.js').Because} Because */
/** @typedef {{ order: Uint32Array, scores: Float32Array, sources: Uint8Array, seenCount: number, becauseCounts: Uint8Array, becauseIds: string, becauseKinds: Uint8Array, becauseShares: Float32Array, error: unknown, codeWarning: string | undefined, free(): void }} CoreRanking */
/** @typedef {{ lambda: number | undefined, maxPerGroup: number | undefined, groups: Uint32Array | undefined }} DiversityArgs */

const SOURCES = /** @type {const} */ (['catalog', 'title', 'unknown', 'shop', 'code']);
const SHOP = 3;
const BACKENDS = ['auto', 'cpu', 'webgpu'];
const LOAD_OPTIONS = ['storage', 'namespace', 'backend', 'strict', 'learn', 'onError', 'onWarning', 'wasm', 'fetch'];
const RERANK_OPTIONS = ['topK'];
const PERSONALIZER_RERANK_OPTIONS = ['topK', 'excludeSeen', 'explain', 'diversity', 'maxPerGroup', 'groupOf', 'list', 'learn', 'context'];
/** How many of the first results `explain: true` explains (what a list usually shows). */
const EXPLAIN_FIRST = 10;
/** Event kinds in the core's order (its bit `i` in `excludeSeen` is the `i`-th). */
const EVENT_KINDS = ['view', 'cart', 'purchase', 'review'];
/** The list size at which "auto" measures the GPU against the CPU. */
const CALIBRATION_SIZE = 10_000;

/**
 * An `Error` with a stable `code`; the message starts with "pocketrank: ".
 * @param {ErrorCode} code
 * @param {string} message
 * @param {unknown} [cause]
 * @returns {PocketrankError}
 */
function fail(code, message, cause) {
  const error = new Error(`pocketrank: ${message}`, cause === undefined ? undefined : { cause });
  return Object.assign(error, { code });
}

/** @param {unknown} e */
const describe = (e) => String((e instanceof Error ? e.message : e) ?? e);

/** @param {unknown} v */
const show = (v) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'function' ? 'a function' : String(v));

/**
 * Errors from the core already carry a code; anything else (an engine error: a bug in
 * pocketrank) is wrapped with `code`.
 * @param {unknown} e
 * @param {ErrorCode} code
 * @returns {PocketrankError}
 */
function coded(e, code) {
  if (e instanceof Error && typeof (/** @type {{ code?: unknown }} */ (e).code) === 'string') return /** @type {PocketrankError} */ (e);
  return fail(code, describe(e), e);
}

/**
 * Rejects keys that are not options (a misspelt option would otherwise be ignored).
 * @param {unknown} options
 * @param {string[]} known
 * @param {string} where
 * @returns {Record<string, unknown>}
 */
function optionsObject(options, known, where) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw fail('E_OPTIONS', `${where} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw fail('E_OPTIONS', `unknown ${where} option ${JSON.stringify(key)} (known: ${known.join(', ')})`);
  }
  return /** @type {Record<string, unknown>} */ (options);
}

/**
 * Checks `{ topK? }` and returns `topK`.
 * @param {unknown} options
 * @param {string[]} [known] the options this call takes
 * @returns {number | undefined}
 */
function topKOf(options, known = RERANK_OPTIONS) {
  const { topK } = optionsObject(options, known, 'rerank');
  if (topK === undefined) return undefined;
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0) {
    throw fail('E_OPTIONS', `topK must be a non-negative integer (got ${show(topK)})`);
  }
  return Math.min(topK, 2 ** 32 - 1);
}

/**
 * Checks `excludeSeen` (`true`: any event kind; a list of kinds; `false` or absent: none)
 * and returns it as the core's bit mask.
 * @param {unknown} options
 * @returns {number}
 */
function excludeSeenOf(options) {
  const value = /** @type {{ excludeSeen?: unknown } | undefined} */ (options)?.excludeSeen;
  if (value === undefined || value === false) return 0;
  if (value === true) return (1 << EVENT_KINDS.length) - 1;
  if (Array.isArray(value) && value.length > 0 && value.every((k) => EVENT_KINDS.includes(k))) {
    return value.reduce((bits, k) => bits | (1 << EVENT_KINDS.indexOf(k)), 0);
  }
  throw fail('E_OPTIONS', `excludeSeen must be true, false or a non-empty list of ${EVENT_KINDS.map((k) => `"${k}"`).join(', ')} (got ${show(value)})`);
}

/**
 * Checks `explain` (`true`: the first 10 results; a number: the first that many) and
 * returns how many results to explain.
 * @param {unknown} options
 * @returns {number}
 */
function explainOf(options) {
  const value = /** @type {{ explain?: unknown } | undefined} */ (options)?.explain;
  if (value === undefined || value === false) return 0;
  if (value === true) return EXPLAIN_FIRST;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return Math.min(value, 2 ** 32 - 1);
  throw fail('E_OPTIONS', `explain must be true, false or a non-negative integer (got ${show(value)})`);
}

/**
 * Checks `list` (the name a shown list's feedback is learned under) and `learn`.
 * @param {unknown} options
 * @returns {{ list: string | undefined, learn: boolean }}
 */
function feedbackOf(options) {
  const o = /** @type {{ list?: unknown, learn?: unknown } | undefined} */ (options);
  const list = o?.list;
  const learn = o?.learn;
  if (list !== undefined && (typeof list !== 'string' || list === '')) throw fail('E_OPTIONS', `list must be a non-empty string naming the list, e.g. "home" (got ${show(list)})`);
  if (learn !== undefined && typeof learn !== 'boolean') throw fail('E_OPTIONS', `learn must be true or false (got ${show(learn)})`);
  return { list: /** @type {string | undefined} */ (list), learn: learn !== false };
}

/**
 * Checks `context`: what the list is for ("default", or "basket" for add-ons to the open
 * basket, which needs a model with a basket head).
 * @param {unknown} options
 * @returns {'default' | 'basket' | undefined}
 */
function contextOf(options) {
  const context = /** @type {{ context?: unknown } | undefined} */ (options)?.context;
  if (context === undefined || context === 'default' || context === 'basket') return context;
  throw fail('E_OPTIONS', `context must be "default" or "basket" (got ${show(context)})`);
}

/**
 * Checks `diversity`, `maxPerGroup` and `groupOf`, and reads each candidate's group (a
 * string or number key; `undefined` or `null`: none) as a small integer for the core.
 * @param {unknown} options
 * @param {unknown} candidates
 * @returns {DiversityArgs}
 */
function diversityOf(options, candidates) {
  const { diversity, maxPerGroup, groupOf } = /** @type {{ diversity?: unknown, maxPerGroup?: unknown, groupOf?: unknown }} */ (options ?? {});
  if (diversity !== undefined && !(typeof diversity === 'number' && diversity >= 0 && diversity <= 1)) {
    throw fail('E_OPTIONS', `diversity must be a number from 0 (the model's order) to 1 (got ${show(diversity)})`);
  }
  if (maxPerGroup !== undefined && !(typeof maxPerGroup === 'number' && Number.isInteger(maxPerGroup) && maxPerGroup >= 1)) {
    throw fail('E_OPTIONS', `maxPerGroup must be a positive integer (got ${show(maxPerGroup)})`);
  }
  if (groupOf !== undefined && typeof groupOf !== 'function') throw fail('E_OPTIONS', `groupOf must be a function (candidate) => group key (got ${show(groupOf)})`);
  if (maxPerGroup !== undefined && groupOf === undefined) {
    throw fail('E_OPTIONS', 'maxPerGroup needs groupOf: a function (candidate) => group key, such as (c) => c.brand');
  }
  /** @type {Uint32Array | undefined} */
  let groups;
  if (maxPerGroup !== undefined && typeof groupOf === 'function' && Array.isArray(candidates)) {
    groups = new Uint32Array(candidates.length);
    /** @type {Map<unknown, number>} */
    const keys = new Map();
    for (let i = 0; i < candidates.length; i++) {
      let key;
      try {
        key = groupOf(candidates[i]);
      } catch (e) {
        throw fail('E_OPTIONS', `groupOf threw for candidates[${i}] (${describe(e)})`, e);
      }
      if (key === undefined || key === null) continue;
      if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
        throw fail('E_OPTIONS', `groupOf must return a string or a number (or undefined for no group); for candidates[${i}] it returned ${show(key)}`);
      }
      let id = keys.get(key);
      if (id === undefined) keys.set(key, (id = keys.size + 1));
      groups[i] = id;
    }
  }
  return { lambda: diversity, maxPerGroup, groups };
}

/**
 * Checks the candidates and flattens them: ids, server scores (NaN = none), titles.
 * @param {unknown} candidates
 * @returns {Flat}
 */
function flatten(candidates) {
  if (!Array.isArray(candidates)) throw fail('E_CANDIDATES', 'invalid candidates: expected an array of { id, title?, score? }');
  const n = candidates.length;
  const max = maxCandidates();
  if (n > max) throw fail('E_TOO_MANY', `${n} candidates is more than the ${max} one call accepts; send the shop's top candidates`);
  const ids = new Array(n);
  /** @type {Float32Array | undefined} */
  let scores;
  /** @type {string[] | undefined} */
  let titles;
  /** @type {string[] | undefined} */
  let codes;
  for (let i = 0; i < n; i++) {
    const c = candidates[i];
    if (c === null || typeof c !== 'object' || typeof c.id !== 'string') {
      throw fail('E_CANDIDATES', `invalid candidates: candidates[${i}] has no string id (each candidate needs a string id)`);
    }
    ids[i] = c.id;
    if (c.score !== undefined && c.score !== null) {
      scores ??= new Float32Array(n).fill(NaN);
      scores[i] = typeof c.score === 'number' ? c.score : NaN;
    }
    if (typeof c.title === 'string' && c.title !== '') {
      titles ??= new Array(n).fill('');
      titles[i] = c.title.replace(/\n/g, ' ');
    }
    if (typeof c.code === 'string' && c.code !== '') {
      codes ??= new Array(n).fill('');
      // A line break cannot be part of a code: such a code is read as malformed.
      codes[i] = c.code.includes('\n') ? '!' : c.code;
    }
  }
  return { ids, scores, titles, codes };
}

/**
 * The core's error for a list it could not read, named more precisely when an id holds a
 * line break (ids cross to the core joined by line breaks, so such an id splits in two;
 * looking for one only when the core reports a miscount keeps the check off every call).
 * @param {unknown} error
 * @param {string[]} ids
 * @returns {unknown}
 */
function candidatesError(error, ids) {
  if (/** @type {{ code?: unknown }} */ (error)?.code !== 'E_CANDIDATES') return error;
  const i = ids.findIndex((id) => id.includes('\n'));
  return i < 0 ? error : fail('E_CANDIDATES', `invalid candidates: candidates[${i}].id contains a line break`);
}

const utf8 = new TextEncoder();
/** One reusable buffer per text field (ids, titles, codes) of the fast path. */
const scratch = [new Uint8Array(1 << 16), new Uint8Array(1 << 10), new Uint8Array(1 << 16)];
/** Larger texts get a buffer of their own, so a huge list leaves no huge buffer behind. */
const SCRATCH_MAX = 1 << 20;

/**
 * Newline-joined UTF-8: how the fast path passes a text field to the core (one native
 * encode into a reused buffer, instead of the bindings' character-by-character copy of a
 * string). The view is valid until the next call for the same `field`.
 * @param {string[]} list
 * @param {0 | 1 | 2} field 0 ids, 1 titles, 2 codes
 * @returns {Uint8Array}
 */
function joined(list, field) {
  const text = list.join('\n');
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (3 * text.length > SCRATCH_MAX) return utf8.encode(text);
  if (scratch[field].length < 3 * text.length) scratch[field] = new Uint8Array(3 * text.length);
  const { written } = utf8.encodeInto(text, scratch[field]);
  return scratch[field].subarray(0, written);
}

/**
 * The reasons of the explained results, from the core's flat arrays.
 * @param {CoreRanking} r
 * @returns {Because[][]}
 */
function reasonsOf(r) {
  const counts = r.becauseCounts, ids = r.becauseIds.split('\u001e'), kinds = r.becauseKinds, shares = r.becauseShares;
  const out = new Array(counts.length);
  let k = 0;
  for (let j = 0; j < counts.length; j++) {
    const list = (out[j] = new Array(counts[j]));
    for (let i = 0; i < counts[j]; i++, k++) list[i] = { itemId: ids[k], kind: /** @type {Because['kind']} */ (EVENT_KINDS[kinds[k]]), share: shares[k] };
  }
  return out;
}

/**
 * The ranked objects from the core's typed arrays.
 * @param {string[]} ids
 * @param {CoreRanking} r
 * @param {number} [explained] how many results were asked to be explained
 * @returns {Ranked[]}
 */
function results(ids, r, explained = 0) {
  const order = r.order, sc = r.scores, src = r.sources, seenFrom = order.length - r.seenCount;
  const because = explained > 0 ? reasonsOf(r) : [];
  r.free();
  const out = new Array(order.length);
  for (let j = 0; j < order.length; j++) {
    const i = order[j];
    out[j] = { id: ids[i], index: i, score: src[j] === SHOP ? null : sc[j], source: SOURCES[src[j]] };
    if (j >= seenFrom) out[j].seen = true;
    if (j < because.length) out[j].because = because[j];
  }
  return out;
}

/**
 * What a failed rerank returns: the candidates in the shop's order (the core's cut).
 * @param {unknown} candidates
 * @param {number | undefined} topK
 * @returns {Ranked[]}
 */
function shopResults(candidates, topK) {
  const list = Array.isArray(candidates) ? candidates : [];
  /** @param {unknown} c */
  const idOf = (c) => {
    try {
      return /** @type {{ id?: string } | undefined} */ (c)?.id;
    } catch {
      return undefined; // a getter that throws: the failure is already reported
    }
  };
  return Array.from(shopOrder(list.length, topK), (index) => /** @type {Ranked} */ ({ id: idOf(list[index]), index, score: null, source: 'shop' }));
}

/** @type {Promise<void> | null} */
let ready = null;
/** Whether the module is instantiated. */
let loaded = false;

/**
 * The WebAssembly SIMD of the loaded module: `"relaxed"` or `"simd128"` (`undefined` before
 * `init`, or before the first model loads).
 * @returns {'relaxed' | 'simd128' | undefined}
 */
export function simd() {
  return loaded ? /** @type {'relaxed' | 'simd128'} */ (coreSimd()) : undefined;
}

/**
 * A module whose one function returns lane 0 of relaxed SIMD's 8-bit dot product
 * (`i32x4.relaxed_dot_i8x16_i7x16_add_s`) of `[-128, 127, -3, 5, 0, …]` by `[127, 1, 64, 0, …]`:
 * `-128·127 + 127·1 - 3·64 = -16321` where the engine runs it as the specification says
 * (Node 20 with `--experimental-wasm-relaxed-simd` returns twice that).
 */
const RELAXED_PROBE = (() => {
  const a = [0x80, 0x7f, 0xfd, 5, ...new Array(12).fill(0)];
  const b = [0x7f, 1, 0x40, 0, ...new Array(12).fill(0)];
  const zero = new Array(16).fill(0);
  const body = [0, 0xfd, 0x0c, ...a, 0xfd, 0x0c, ...b, 0xfd, 0x0c, ...zero, 0xfd, 0x93, 0x02, 0xfd, 0x1b, 0, 0x0b];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
    1, 5, 1, 0x60, 0, 1, 0x7f, // type: () -> i32
    3, 2, 1, 0, // one function of that type
    7, 5, 1, 1, 0x66, 0, 0, // exported as "f"
    0x0a, body.length + 2, 1, body.length, ...body, // its body
  ]);
})();

/** Whether this engine runs WebAssembly relaxed SIMD's 8-bit dot product as specified. */
function hasRelaxedSimd() {
  try {
    if (!WebAssembly.validate(RELAXED_PROBE)) return false;
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(RELAXED_PROBE));
    return /** @type {() => number} */ (exports.f)() === -16321;
  } catch {
    return false;
  }
}

/**
 * The module files to try, best first: the build with relaxed SIMD where the engine has it
 * (same scores, faster scoring of the catalog's rows), the plain SIMD build after it.
 * @returns {URL[]}
 */
function moduleFiles() {
  const plain = new URL('./pocketrank_core_bg.wasm', import.meta.url);
  return !TEXT && hasRelaxedSimd() ? [new URL('./pocketrank_core_relaxed_bg.wasm', import.meta.url), plain] : [plain];
}

/**
 * Loads the WebAssembly module once. Browsers and bundlers fetch `pocketrank_core_relaxed_bg.wasm`
 * next to this file where the engine has relaxed SIMD, and `pocketrank_core_bg.wasm` otherwise
 * (or when the first cannot be loaded); Node reads them from disk; `wasm` (a URL, a Response,
 * bytes or a `WebAssembly.Module`) overrides both.
 * @param {WasmSource} [wasm]
 * @returns {Promise<void>}
 */
export function init(wasm) {
  if (!ready) {
    ready = (async () => {
      try {
        if (wasm !== undefined) {
          await initWasm({ module_or_path: wasm });
          loaded = true;
          return;
        }
        const files = moduleFiles();
        for (const [k, file] of files.entries()) {
          try {
            await initWasm({ module_or_path: await moduleSource(file) });
            loaded = true;
            return;
          } catch (e) {
            if (k === files.length - 1) throw e;
          }
        }
      } catch (e) {
        throw fail('E_WASM', `cannot load the WebAssembly module (${describe(e)}). Serve pocketrank_core_bg.wasm (and pocketrank_core_relaxed_bg.wasm) next to index.js or pass its URL as \`wasm\`; a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src`, e);
      }
    })();
    ready.catch(() => { ready = null; });
  }
  return ready;
}

/**
 * What `initWasm` takes for a module file: its bytes in Node (read from disk), its URL
 * elsewhere (fetched and compiled as it streams in).
 * @param {URL} file
 * @returns {Promise<URL | Uint8Array>}
 */
async function moduleSource(file) {
  const node = /** @type {{ process?: { versions?: { node?: string } } }} */ (globalThis).process?.versions?.node;
  if (file.protocol === 'file:' && node) {
    // Kept out of bundlers' sight: they would try to resolve it for the browser.
    const fs = 'node:fs/promises';
    const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ fs);
    return readFile(file);
  }
  return file;
}

/**
 * Instantiates the WebAssembly module synchronously (edge workers, where the platform hands
 * the module over): `initSync({ module })` or `initSync(module)`.
 * @param {{ module: WebAssembly.Module | BufferSource } | WebAssembly.Module | BufferSource} input
 * @returns {void}
 */
export function initSync(input) {
  const module = input !== null && typeof input === 'object' && 'module' in input ? input.module : input;
  try {
    initCoreSync({ module: /** @type {WebAssembly.Module | BufferSource} */ (module) });
    loaded = true;
  } catch (e) {
    throw fail('E_WASM', `cannot instantiate the WebAssembly module (${describe(e)})`, e);
  }
  ready ??= Promise.resolve();
}

/**
 * @param {ModelSource} source
 * @param {typeof fetch | undefined} fetchImpl
 * @returns {Promise<Uint8Array>}
 */
async function artifactBytes(source, fetchImpl) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source === 'string' || source instanceof URL) {
    if (!fetchImpl) throw fail('E_FETCH', `cannot fetch the model from ${source}: there is no fetch here; pass the model's bytes or a \`fetch\` option`);
    let res;
    try {
      res = await fetchImpl(source);
    } catch (e) {
      throw fail('E_FETCH', `cannot fetch the model from ${source}: ${describe(e)}`, e);
    }
    if (!res.ok) throw fail('E_FETCH', `cannot fetch the model from ${source}: HTTP ${res.status}`);
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw fail('E_FETCH', `cannot fetch the model from ${source}: the download failed (${describe(e)})`, e);
    }
  }
  throw fail('E_OPTIONS', 'the model source must be bytes (Uint8Array/ArrayBuffer) or a URL');
}

/**
 * Decodes an artifact into a `Model`, hashing it with the platform's WebCrypto when there
 * is one (several times faster than hashing inside WebAssembly on a cold start); the
 * checksum is verified either way.
 * @param {Uint8Array | ArrayBuffer} bytes
 * @returns {Promise<Model>}
 */
export async function loadModel(bytes) {
  if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) throw fail('E_OPTIONS', 'loadModel needs the artifact bytes (Uint8Array or ArrayBuffer)');
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  await init();
  const subtle = globalThis.crypto?.subtle;
  let digest;
  if (subtle && data.length > 32) {
    try {
      const body = /** @type {Uint8Array<ArrayBuffer>} */ (data.subarray(0, data.length - 32));
      digest = new Uint8Array(await subtle.digest('SHA-256', body));
    } catch { /* hashed in WebAssembly below */ }
  }
  try {
    return digest ? Model.withDigest(data, digest) : new Model(data);
  } catch (e) {
    throw coded(e, 'E_INTERNAL');
  }
}

/**
 * Profile storage that lives as long as the page or process.
 * @implements {ProfileStorage}
 */
export class MemoryStorage {
  /** @type {Map<string, Uint8Array>} */
  #records = new Map();
  /** @param {string} key */
  async get(key) { return this.#records.get(key)?.slice(); }
  /** @param {string} key @param {Uint8Array} record */
  async set(key, record) { this.#records.set(key, record.slice()); }
  /** @param {string} key */
  async delete(key) { this.#records.delete(key); }
}

/**
 * Profile storage in the browser's IndexedDB (database `pocketrank`, store `profiles`).
 * @implements {ProfileStorage}
 */
export class IndexedDbStorage {
  /** @type {Promise<IDBDatabase> | undefined} */
  #db;
  /** @param {string} [dbName] */
  constructor(dbName = 'pocketrank') { this.dbName = dbName; }
  /** @returns {Promise<IDBDatabase>} */
  #open() {
    if (!this.#db) {
      this.#db = new Promise((resolve, reject) => {
        const req = indexedDB.open(this.dbName, 1);
        req.onupgradeneeded = () => req.result.createObjectStore('profiles');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
      });
      this.#db.catch(() => { this.#db = undefined; });
    }
    return this.#db;
  }
  /**
   * @template T
   * @param {IDBTransactionMode} mode
   * @param {(store: IDBObjectStore) => IDBRequest<T>} fn
   * @returns {Promise<T>}
   */
  async #tx(mode, fn) {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('profiles', mode);
      const req = fn(tx.objectStore('profiles'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
    });
  }
  /** @param {string} key @returns {Promise<unknown>} */
  get(key) { return this.#tx('readonly', (s) => s.get(key)); }
  /** @param {string} key @param {Uint8Array} record @returns {Promise<void>} */
  async set(key, record) { await this.#tx('readwrite', (s) => s.put(record, key)); }
  /** @param {string} key @returns {Promise<void>} */
  async delete(key) { await this.#tx('readwrite', (s) => s.delete(key)); }
}

/**
 * @param {unknown} value
 * @returns {value is ProfileStorage}
 */
function isStorage(value) {
  const s = /** @type {Record<string, unknown>} */ (value);
  return value !== null && typeof value === 'object' && typeof s.get === 'function' && typeof s.set === 'function' && typeof s.delete === 'function';
}

/**
 * Checks `Personalizer.load`'s options.
 * @param {unknown} options
 * @returns {LoadOptions}
 */
function loadOptions(options) {
  const o = optionsObject(options, LOAD_OPTIONS, 'Personalizer.load');
  if (o.backend !== undefined && !BACKENDS.includes(/** @type {string} */ (o.backend))) {
    throw fail('E_OPTIONS', `backend must be "auto", "cpu" or "webgpu" (got ${show(o.backend)})`);
  }
  if (o.storage !== undefined && o.storage !== 'indexeddb' && o.storage !== 'memory' && !isStorage(o.storage)) {
    throw fail('E_OPTIONS', `storage must be "indexeddb", "memory" or an object with get, set and delete methods (got ${show(o.storage)})`);
  }
  if (o.namespace !== undefined && (typeof o.namespace !== 'string' || o.namespace === '')) throw fail('E_OPTIONS', 'namespace must be a non-empty string');
  if (o.strict !== undefined && typeof o.strict !== 'boolean') throw fail('E_OPTIONS', 'strict must be true or false');
  if (o.learn !== undefined && typeof o.learn !== 'boolean') throw fail('E_OPTIONS', 'learn must be true or false');
  for (const f of ['onError', 'onWarning', 'fetch']) {
    if (o[f] !== undefined && typeof o[f] !== 'function') throw fail('E_OPTIONS', `${f} must be a function`);
  }
  return /** @type {LoadOptions} */ (o);
}

/**
 * A record stored by pocketrank 0.1's JavaScript session: `{ v: 1, modelVersion, profile, events }`.
 * @param {unknown} record
 * @returns {record is { v: 1, events: unknown[] }}
 */
function isLegacyRecord(record) {
  const r = /** @type {{ v?: unknown, events?: unknown }} */ (record);
  return record !== null && typeof record === 'object' && r.v === 1 && Array.isArray(r.events);
}

const token = Symbol('pocketrank.Personalizer');

/**
 * A shopper's personalizer: records their events into a profile kept on this device and
 * reranks the shop's lists for them.
 */
export class Personalizer {
  /** @type {Model} */ #model;
  /** @type {Session} */ #session;
  /** @type {ProfileStorage} */ #storage;
  /** @type {string} */ #key;
  /** @type {Promise<unknown>} */ #queue = Promise.resolve();
  /** @type {((error: PocketrankError) => void) | undefined} */ #onError;
  /** @type {((warning: PocketrankError) => void) | undefined} */ #onWarning;
  /** @type {boolean} */ #strict;
  /** Whether this shopper's feedback on shown lists is learned from (`learn` option). */
  /** @type {boolean} */ #learn;
  /** The WebGPU scorer, when one is in use, and the list size from which it is used. */
  /** @type {WebGpuScorer | null} */ #gpu = null;
  #gpuFrom = Infinity;
  /** @type {'cpu' | 'webgpu'} */ #lastBackend = 'cpu';
  /**
   * Warnings so far (storage unavailable, profile rebuilt after a model update, no GPU).
   * @type {PocketrankError[]}
   */
  warnings = [];
  /**
   * With backend "auto": the measurement behind the choice, once done.
   * @type {Calibration | undefined}
   */
  calibration = undefined;

  /**
   * Use `Personalizer.load`.
   * @param {symbol} key
   * @param {Model} model
   * @param {ProfileStorage} storage
   * @param {string} storageKey
   * @param {LoadOptions} options
   */
  constructor(key, model, storage, storageKey, options) {
    if (key !== token) throw fail('E_OPTIONS', 'create a Personalizer with `await Personalizer.load(model, options)`');
    this.#model = model;
    this.#storage = storage;
    this.#key = storageKey;
    this.#onError = options.onError;
    this.#onWarning = options.onWarning;
    this.#strict = Boolean(options.strict);
    this.#learn = options.learn !== false;
    this.#session = Session.restore(model, new Uint8Array(0));
    this.#session.setLearning(this.#learn);
  }

  /**
   * Loads a model and the shopper's stored profile.
   * @param {ModelSource} source the artifact: bytes or a URL to fetch.
   * @param {LoadOptions} [options]
   * @returns {Promise<Personalizer>}
   */
  static async load(source, options) {
    const o = loadOptions(options);
    await init(o.wasm);
    const bytes = await artifactBytes(source, o.fetch ?? globalThis.fetch?.bind(globalThis));
    const model = await loadModel(bytes);
    const namespace = o.namespace ?? 'default';
    /** @type {[ErrorCode, string][]} */
    const warnings = [];
    const wanted = o.storage ?? (typeof indexedDB !== 'undefined' ? 'indexeddb' : 'memory');
    /** @type {ProfileStorage} */
    let storage;
    if (wanted === 'indexeddb') {
      if (typeof indexedDB === 'undefined') {
        warnings.push(['E_STORAGE', 'IndexedDB is not available here: the profile is kept in memory for this session']);
        storage = new MemoryStorage();
      } else storage = new IndexedDbStorage();
    } else if (wanted === 'memory') storage = new MemoryStorage();
    else storage = wanted;
    const p = new Personalizer(token, model, storage, `profile:${namespace}`, o);
    for (const [code, message] of warnings) p.#warn(code, message);
    await p.#restore();
    const backend = o.backend ?? 'auto';
    if (backend === 'webgpu') await p.#startGpu(0);
    else if (backend === 'auto') p.#startGpu(null).catch(() => {}); // in the background
    return p;
  }

  /**
   * Sets up the WebGPU scorer. `from`: the list size from which to use it, or null to
   * measure: the GPU is used from 10,000 candidates only if it beats the CPU there.
   * @param {number | null} from
   */
  async #startGpu(from) {
    let gpu;
    try {
      const { createWebGpuScorer } = await import('./webgpu.js');
      // "auto" never picks a software adapter: it cannot beat the CPU path.
      gpu = await createWebGpuScorer(this.#model, { allowFallback: from !== null });
    } catch (e) {
      this.#warn('E_WEBGPU', `WebGPU is unavailable (${describe(e)}); scoring runs on the CPU`);
      return;
    }
    if (!gpu) {
      if (from !== null) this.#warn('E_WEBGPU', 'no WebGPU adapter here; scoring runs on the CPU');
      else this.calibration = { skipped: 'no hardware WebGPU adapter' };
      return;
    }
    if (from === null) {
      try {
        const n = Math.min(CALIBRATION_SIZE, this.#model.itemCount);
        const indices = Int32Array.from({ length: n }, (_, i) => i);
        const context = this.#model.contextFeatures(n);
        const params = this.#session.kernelParams(this.#model);
        await gpu.score(params, indices, context); // compiles the pipeline
        let t = performance.now();
        await gpu.score(params, indices, context);
        const gpuMs = performance.now() - t;
        t = performance.now();
        this.#session.scoreIndices(this.#model, Uint32Array.from(indices));
        const cpuMs = performance.now() - t;
        from = gpuMs < cpuMs ? n : Infinity;
        this.calibration = { candidates: n, gpuMs, cpuMs, adapter: gpu.description, fallbackAdapter: gpu.fallback };
      } catch (e) {
        this.#warn('E_WEBGPU', `the WebGPU scorer failed while measuring it (${describe(e)}); scoring runs on the CPU`);
        gpu.destroy();
        return;
      }
    }
    this.#gpu = gpu;
    this.#gpuFrom = from;
  }

  /**
   * What computes the scores: "webgpu" when the GPU path is in use (always with
   * `backend: "webgpu"`; with "auto" only from the measured list size on), else "cpu".
   * @returns {'cpu' | 'webgpu'}
   */
  get backend() { return this.#gpu && this.#gpuFrom < Infinity ? 'webgpu' : 'cpu'; }
  /** Which backend served the latest `rerank`. @returns {'cpu' | 'webgpu'} */
  get lastBackend() { return this.#lastBackend; }
  /** The model's version tag (stored profiles are tagged with it). @returns {string} */
  get modelVersion() { return this.#model.modelVersion; }
  /** The events the profile was folded from that are still in the ring of recent events. @returns {RecordedEvent[]} */
  get recentEvents() { return this.#session.recentEvents(); }

  /** @param {ErrorCode} code @param {string} message */
  #warn(code, message) {
    const warning = fail(code, message);
    this.warnings.push(warning);
    if (this.#onWarning) {
      try { this.#onWarning(warning); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
  }

  /** @param {PocketrankError} error */
  #report(error) {
    if (this.#onError) {
      try { this.#onError(error); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
  }

  async #restore() {
    let record;
    try {
      record = await this.#storage.get(this.#key);
    } catch (e) {
      this.#warn('E_STORAGE', `the stored profile cannot be read (${describe(e)}); the profile is kept in memory for this session`);
      this.#storage = new MemoryStorage();
      return;
    }
    if (record === undefined || record === null) return;
    if (ArrayBuffer.isView(record)) {
      this.#session.free();
      this.#session = Session.restore(this.#model, new Uint8Array(record.buffer, record.byteOffset, record.byteLength));
    } else if (isLegacyRecord(record)) {
      this.#session.free();
      this.#session = Session.fromEvents(this.#model, record.events);
    } else {
      this.#warn('E_PROFILE', 'the stored profile is not a pocketrank record; starting a new profile');
      await this.#persist();
      return;
    }
    this.#session.setLearning(this.#learn);
    const warning = this.#session.warning;
    if (warning) {
      this.#warn('E_PROFILE', warning);
      await this.#persist();
    }
  }

  async #persist() {
    const record = this.#session.toBytes();
    try {
      await this.#storage.set(this.#key, record);
    } catch (e) {
      this.#warn('E_STORAGE', `could not store the profile (${describe(e)}); keeping it in memory for this session`);
      this.#storage = new MemoryStorage();
      await this.#storage.set(this.#key, record);
    }
  }

  /**
   * Records an event. The profile is updated at once (the next `rerank` sees it) and stored
   * on this device only; the promise settles when it is stored. Rejects with an `E_EVENT`
   * error for a malformed event (the profile is left unchanged).
   * @param {ShopperEvent} event
   * @returns {Promise<void>}
   */
  observe(event) {
    try {
      this.#session.observe(this.#model, event);
    } catch (e) {
      return Promise.reject(coded(e, 'E_INTERNAL'));
    }
    const done = this.#queue.then(() => this.#persist());
    this.#queue = done.catch(() => {});
    return done;
  }

  /**
   * Reorders the shop's candidates for this shopper, best first. On any failure the
   * candidates come back in the shop's order (with `score: null`, `source: "shop"`) and the
   * error goes to `onError` — unless the personalizer was loaded with `strict: true`, in
   * which case the promise rejects. With `excludeSeen`, the items this shopper already had
   * (recent events of those kinds) come after all the others, marked `seen: true`. With
   * `explain`, the first results carry `because`: the shopper's recent items that raised
   * their scores most. `diversity` (0–1) and `maxPerGroup` + `groupOf` reorder the first
   * places (`topK`'s, at most 100) so that they are not all alike. `context: "basket"`
   * ranks add-ons to the open basket with the model's basket head (items bought again,
   * products that go with the basket).
   * @param {Candidate[]} candidates
   * @param {PersonalizerRerankOptions} [options]
   * @returns {Promise<Ranked[]>}
   */
  async rerank(candidates, options) {
    /** @type {number | undefined} */
    let topK;
    try {
      topK = topKOf(options, PERSONALIZER_RERANK_OPTIONS);
      const seen = excludeSeenOf(options);
      const explain = explainOf(options);
      const diverse = diversityOf(options, candidates);
      const feedback = feedbackOf(options);
      const context = contextOf(options);
      const flat = flatten(candidates);
      const n = flat.ids.length;
      const adapted = feedback.learn && this.#session.adapting;
      const plain = seen === 0 && explain === 0 && diverse.lambda === undefined && diverse.maxPerGroup === undefined && !adapted && (context ?? 'default') === 'default';
      const learned = this.#session.learned;
      if (this.#gpu && n >= this.#gpuFrom && plain) {
        try {
          const ranked = await this.#rankOnGpu(this.#gpu, flat, topK);
          if (ranked) {
            this.#lastBackend = 'webgpu';
            if (feedback.learn) this.#shown(ranked, feedback.list, learned);
            return ranked;
          }
        } catch (e) {
          this.#warn('E_WEBGPU', `the WebGPU scorer failed (${describe(e)}); scoring runs on the CPU from now on`);
          this.#gpu.destroy();
          this.#gpu = null;
        }
      }
      this.#lastBackend = 'cpu';
      const r = this.#session.rankJoined(this.#model, n, joined(flat.ids, 0), flat.scores, flat.titles && joined(flat.titles, 1), flat.codes && joined(flat.codes, 2), topK, seen, explain, diverse.lambda, diverse.maxPerGroup, diverse.groups, feedback.list, feedback.learn, Date.now(), context);
      if (this.#session.learned !== learned) this.#store();
      const error = r.error;
      if (error) {
        r.free();
        throw candidatesError(error, flat.ids);
      }
      const codeWarning = r.codeWarning;
      if (codeWarning) this.#warn('E_CODE', codeWarning);
      return results(flat.ids, r, explain);
    } catch (e) {
      const error = coded(e, 'E_INTERNAL');
      if (this.#strict) throw error;
      this.#report(error);
      return shopResults(candidates, topK);
    }
  }

  /**
   * Remembers what a GPU-ranked list showed (as `rankJoined` does on the CPU path).
   * @param {Ranked[]} ranked
   * @param {string | undefined} list
   * @param {number} learned what feedback had judged before this rerank
   */
  #shown(ranked, list, learned) {
    const ids = ranked.map((r) => r.id);
    this.#session.shown(this.#model, ids.length, joined(ids, 0), list, Date.now());
    if (this.#session.learned !== learned) this.#store();
  }

  /** Stores the record in the background (what feedback learned while reranking). */
  #store() {
    this.#queue = this.#queue.then(() => this.#persist()).catch(() => {});
  }

  /**
   * The same ranking on the GPU, for lists whose items are all in the model's catalog
   * (null otherwise, or when candidates carry codes: those take the CPU path).
   * @param {WebGpuScorer} gpu
   * @param {Flat} flat
   * @param {number | undefined} topK
   * @returns {Promise<Ranked[] | null>}
   */
  async #rankOnGpu(gpu, { ids, scores, codes }, topK) {
    if (codes) return null;
    const n = ids.length;
    const indices = this.#model.catalogIndices(n, ids.join('\n'));
    if (indices.some((i) => i < 0)) return null;
    const context = this.#model.contextFeatures(n, scores);
    const sc = await gpu.score(this.#session.kernelParams(this.#model), indices, context);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sc[b] - sc[a] || a - b);
    const k = topK === undefined ? n : Math.min(n, topK);
    return order.slice(0, k).map((i) => ({ id: ids[i], index: i, score: sc[i], source: 'catalog' }));
  }

  /**
   * Wipes this shopper's profile, events and what their feedback taught from this device. The profile in memory is
   * reset at once; the promise settles when the stored record is deleted (rejects with an
   * `E_STORAGE` error if the storage refused).
   * @returns {Promise<void>}
   */
  forget() {
    this.#session.forget(this.#model);
    const done = this.#queue.then(async () => {
      try {
        await this.#storage.delete(this.#key);
      } catch (e) {
        throw fail('E_STORAGE', `the stored profile could not be deleted (${describe(e)})`, e);
      }
    });
    this.#queue = done.catch(() => {});
    return done;
  }

  /**
   * Copies of the profile vector and the recent events, for the host app to move
   * explicitly (the vector is what `rerankWithProfile` accepts). Nothing is sent anywhere.
   * @returns {ExportedProfile}
   */
  exportProfile() {
    return { modelVersion: this.#model.modelVersion, profile: this.#session.profileVector(), events: this.recentEvents };
  }

  /**
   * The compact, quantised profile blob for an edge reranker (opt-in only): no item ids,
   * no events, no times — see the package README's privacy note.
   * @returns {Uint8Array}
   */
  edgeProfile() { return this.#session.edgeProfile(); }
}

/**
 * Stateless rerank for edge workers: a loaded `Model`, the shopper's opt-in profile — the
 * edge blob from `Personalizer.edgeProfile()` (a `Uint8Array`) or the raw profile vector
 * (an array of numbers) — and the candidates. Throws an Error with a `code` on bad input:
 * `E_TOO_MANY`, `E_CANDIDATES`, `E_PROFILE` or `E_OPTIONS`.
 * @param {import('./index.js').Model} model
 * @param {Uint8Array | number[] | Float32Array} profile
 * @param {Candidate[]} candidates
 * @param {RerankOptions} [options]
 * @returns {Ranked[]}
 */
export function rerankWithProfile(model, profile, candidates, options) {
  if (!(model instanceof Model)) throw fail('E_OPTIONS', 'rerankWithProfile needs a loaded Model (`new Model(bytes)` or `await loadModel(bytes)`)');
  const topK = topKOf(options);
  /** @type {Flat | undefined} */
  let flat;
  try {
    let state;
    if (profile instanceof Uint8Array) state = model.edgeState(profile);
    else if (Array.isArray(profile) || profile instanceof Float32Array) {
      if (!Array.prototype.every.call(profile, (/** @type {unknown} */ v) => typeof v === 'number')) {
        throw fail('E_PROFILE', 'invalid profile: the vector must hold numbers');
      }
      state = Float32Array.from(profile);
    } else throw fail('E_PROFILE', 'invalid profile: expected the edge blob (Uint8Array) or a number array');
    flat = flatten(candidates);
    const r = model.rankState(state, flat.ids.length, joined(flat.ids, 0), flat.scores, flat.titles && joined(flat.titles, 1), flat.codes && joined(flat.codes, 2), topK);
    return results(flat.ids, r);
  } catch (e) {
    // Core errors carry their code; anything else is a misuse, such as a freed Model.
    if (/null pointer passed to rust/.test(describe(e))) throw fail('E_OPTIONS', 'the Model was freed (model.free()); load it again', e);
    throw coded(flat ? candidatesError(e, flat.ids) : e, 'E_INTERNAL');
  }
}

// Checked by `tsc -p web` against index.d.ts (a pure expression: no run-time effect, and
// bundlers drop it): every export has the type the package declares for it (Personalizer:
// its instances and `load`; its constructor is private to the package).
/** @typedef {typeof import('./index.js')} Declared */
void (/** @satisfies {Omit<Declared, 'Personalizer'> & { Personalizer: Pick<Declared['Personalizer'], 'load' | 'prototype'> }} */ ({
  Model, version, simd, hasText, init, initSync, loadModel, Personalizer, rerankWithProfile, MemoryStorage, IndexedDbStorage,
}));
