// pocketrank: on-device personal reranking. The shopper's profile lives on this device
// (IndexedDB in browsers, memory elsewhere) and is never sent anywhere by this package.
import initWasm, { initSync, Model, version } from './pocketrank_core.js';

export { Model, initSync, version };

const STORE_VERSION = 1;
const MAX_CANDIDATES = 100_000;
const SOURCES = ['catalog', 'title', 'unknown'];
const RING = 50;
const KINDS = new Set(['view', 'cart', 'purchase', 'review']);

/** Checks the candidates and flattens them: ids, server scores (NaN = none), titles. */
function flatten(candidates) {
  if (!Array.isArray(candidates)) throw new TypeError('pocketrank: invalid candidates: expected an array of { id, title?, score? }');
  const n = candidates.length;
  if (n > MAX_CANDIDATES) throw new RangeError(`pocketrank: cannot rerank: ${n} candidates is more than the ${MAX_CANDIDATES} one call accepts`);
  const ids = new Array(n);
  let scores, titles;
  for (let i = 0; i < n; i++) {
    const c = candidates[i];
    if (c === null || typeof c !== 'object' || typeof c.id !== 'string') {
      throw new TypeError(`pocketrank: invalid candidates: candidates[${i}] has no string id (each candidate needs a string id)`);
    }
    if (c.id.includes('\n')) throw new TypeError(`pocketrank: invalid candidates: candidates[${i}].id contains a line break`);
    ids[i] = c.id;
    if (c.score !== undefined && c.score !== null) {
      scores ??= new Float32Array(n).fill(NaN);
      scores[i] = typeof c.score === 'number' ? c.score : NaN;
    }
    if (typeof c.title === 'string' && c.title !== '') {
      titles ??= new Array(n).fill('');
      titles[i] = c.title.replace(/\n/g, ' ');
    }
  }
  return { ids, scores, titles };
}

function checkTopK(topK) {
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new TypeError('pocketrank: invalid options: topK must be a non-negative integer');
}

/**
 * Reranks through the model's typed-array path: candidates are checked and flattened here,
 * one joined id string crosses into WebAssembly, and the result objects are built here.
 */
function rankOn(model, profile, candidates, topK) {
  const { ids, scores, titles } = flatten(candidates);
  checkTopK(topK);
  const n = ids.length;
  const r = model.rankJoined(profile, n, ids.join('\n'), scores, titles?.join('\n'));
  const order = r.order, sc = r.scores, src = r.sources;
  r.free();
  const k = topK === undefined ? n : Math.min(n, topK);
  const out = new Array(k);
  for (let j = 0; j < k; j++) {
    const i = order[j];
    out[j] = { id: ids[i], index: i, score: sc[j], source: SOURCES[src[j]] };
  }
  return out;
}

/**
 * The same ranking on the GPU. Only for lists whose items are all in the model's catalog
 * (others take the CPU path); returns null in that case.
 */
async function rankOnGpu(gpu, model, profile, candidates, topK) {
  const { ids, scores } = flatten(candidates);
  checkTopK(topK);
  const n = ids.length;
  const indices = model.catalogIndices(n, ids.join('\n'));
  if (indices.some((i) => i < 0)) return null;
  const context = new Float32Array(2 * n);
  if (scores) {
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(scores[i])) { context[2 * i] = Math.max(-50, Math.min(50, scores[i])); context[2 * i + 1] = 1; }
    }
  }
  const sc = await gpu.score(profile, indices, context);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sc[b] - sc[a] || a - b);
  const k = topK === undefined ? n : Math.min(n, topK);
  return order.slice(0, k).map((i) => ({ id: ids[i], index: i, score: sc[i], source: 'catalog' }));
}

let ready = null;

/**
 * Loads the WebAssembly module once. Browsers fetch `pocketrank_core_bg.wasm` next to this
 * file; Node reads it from disk; pass `wasm` (a URL, bytes or a `WebAssembly.Module`) to
 * override.
 */
export function init(wasm) {
  if (!ready) {
    ready = (async () => {
      if (wasm !== undefined) return initWasm({ module_or_path: wasm });
      if (typeof process !== 'undefined' && process.versions && process.versions.node) {
        const { readFile } = await import('node:fs/promises');
        return initWasm({ module_or_path: await readFile(new URL('./pocketrank_core_bg.wasm', import.meta.url)) });
      }
      return initWasm();
    })();
    ready.catch(() => { ready = null; });
  }
  return ready;
}

async function artifactBytes(source, fetchImpl) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source === 'string' || source instanceof URL) {
    const res = await fetchImpl(source);
    if (!res.ok) throw new Error(`pocketrank: cannot fetch the model from ${source}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  throw new TypeError('pocketrank: the model source must be bytes (Uint8Array/ArrayBuffer) or a URL');
}

/**
 * Decodes an artifact into a `Model`, hashing it with the platform's WebCrypto when there
 * is one (several times faster than hashing inside WebAssembly on a cold start); the
 * checksum is verified either way.
 */
export async function loadModel(bytes) {
  await init();
  const subtle = globalThis.crypto?.subtle;
  if (subtle && bytes.length > 32) {
    const digest = new Uint8Array(await subtle.digest('SHA-256', bytes.subarray(0, bytes.length - 32)));
    return Model.withDigest(bytes, digest);
  }
  return new Model(bytes);
}

/** Profile storage that lives as long as the page or process. */
export class MemoryStorage {
  #records = new Map();
  async get(key) { return this.#records.get(key); }
  async set(key, record) { this.#records.set(key, structuredClone(record)); }
  async delete(key) { this.#records.delete(key); }
}

/** Profile storage in the browser's IndexedDB (database `pocketrank`, store `profiles`). */
export class IndexedDbStorage {
  #db;
  constructor(dbName = 'pocketrank') { this.dbName = dbName; }
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
  get(key) { return this.#tx('readonly', (s) => s.get(key)); }
  set(key, record) { return this.#tx('readwrite', (s) => s.put(record, key)); }
  delete(key) { return this.#tx('readwrite', (s) => s.delete(key)); }
}

function checkEvent(event) {
  if (event === null || typeof event !== 'object') throw new TypeError('pocketrank: an event must be an object { itemId, kind?, ts?, title? }');
  if (typeof event.itemId !== 'string' || event.itemId === '') throw new TypeError('pocketrank: event.itemId must be a non-empty string');
  const kind = event.kind ?? 'view';
  if (!KINDS.has(kind)) throw new TypeError(`pocketrank: event.kind must be one of view, cart, purchase, review (got ${JSON.stringify(kind)})`);
  const ts = event.ts ?? Date.now();
  if (!Number.isFinite(ts)) throw new TypeError('pocketrank: event.ts must be a finite number of milliseconds');
  const out = { itemId: event.itemId, kind, ts };
  if (typeof event.title === 'string' && event.title !== '') out.title = event.title;
  return out;
}

/**
 * A shopper's personalizer: records their events into a profile kept on this device and
 * reranks the shop's lists for them.
 */
export class Personalizer {
  #model; #storage; #key; #profile; #events = []; #queue = Promise.resolve();
  #onError; #onWarning; #strict;
  /** The WebGPU scorer, when one is in use, and the list size from which it is used. */
  #gpu = null; #gpuFrom = Infinity; #lastBackend = 'cpu';
  /** Warnings so far (e.g. storage unavailable, profile rebuilt after a model update). */
  warnings = [];

  constructor(model, storage, key, options) {
    this.#model = model;
    this.#storage = storage;
    this.#key = key;
    this.#onError = options.onError;
    this.#onWarning = options.onWarning;
    this.#strict = Boolean(options.strict);
    this.#profile = model.newProfile();
  }

  /**
   * Loads a model and the shopper's stored profile.
   * @param source the artifact: bytes or a URL to fetch.
   * @param options `{ storage: "indexeddb" | "memory" | store, namespace, backend, strict, onError, onWarning, wasm, fetch }`
   */
  static async load(source, options = {}) {
    await init(options.wasm);
    const bytes = await artifactBytes(source, options.fetch ?? globalThis.fetch?.bind(globalThis));
    const model = await loadModel(bytes);
    const namespace = options.namespace ?? 'default';
    const warnings = [];
    let storage = options.storage ?? (typeof indexedDB !== 'undefined' ? 'indexeddb' : 'memory');
    if (storage === 'indexeddb') {
      if (typeof indexedDB === 'undefined') { warnings.push('IndexedDB is not available here: the profile is kept in memory'); storage = new MemoryStorage(); }
      else storage = new IndexedDbStorage();
    } else if (storage === 'memory') storage = new MemoryStorage();
    const p = new Personalizer(model, storage, `profile:${namespace}`, options);
    for (const w of warnings) p.#warn(w);
    await p.#restore();
    const backend = options.backend ?? 'auto';
    if (backend === 'webgpu') await p.#startGpu(0);
    else if (backend === 'auto') p.#startGpu(null).catch(() => {}); // in the background
    return p;
  }

  /**
   * Sets up the WebGPU scorer. `from`: the list size from which to use it, or null to
   * measure: the GPU is used from 10,000 candidates only if it beats the CPU there.
   */
  async #startGpu(from) {
    let gpu;
    try {
      const { createWebGpuScorer } = await import('./webgpu.js');
      // "auto" never picks a software adapter: it cannot beat the CPU path.
      gpu = await createWebGpuScorer(this.#model, { allowFallback: from !== null });
    } catch (e) {
      this.#warn(`WebGPU is unavailable (${e?.message ?? e}); scoring runs on the CPU`);
      return;
    }
    if (!gpu) {
      if (from !== null) this.#warn('no WebGPU adapter here; scoring runs on the CPU');
      else this.calibration = { skipped: 'no hardware WebGPU adapter' };
      return;
    }
    if (from === null) {
      const n = Math.min(10_000, this.#model.itemCount);
      const indices = Int32Array.from({ length: n }, (_, i) => i);
      const context = new Float32Array(2 * n);
      await gpu.score(this.#profile, indices, context); // compiles the pipeline
      let t = performance.now();
      await gpu.score(this.#profile, indices, context);
      const gpuMs = performance.now() - t;
      t = performance.now();
      this.#model.scoreIndices(this.#profile, Uint32Array.from(indices));
      const cpuMs = performance.now() - t;
      from = gpuMs < cpuMs ? n : Infinity;
      this.calibration = { candidates: n, gpuMs, cpuMs, adapter: gpu.description, fallbackAdapter: gpu.fallback };
    }
    this.#gpu = gpu;
    this.#gpuFrom = from;
  }

  /**
   * What computes the scores: "webgpu" when the GPU path is in use (always with
   * `backend: "webgpu"`; with "auto" only from the measured list size on), else "cpu".
   * `lastBackend` tells which one served the latest `rerank`.
   */
  get backend() { return this.#gpu && this.#gpuFrom < Infinity ? 'webgpu' : 'cpu'; }
  get lastBackend() { return this.#lastBackend; }
  /** The model's version tag (stored profiles are tagged with it). */
  get modelVersion() { return this.#model.modelVersion; }
  /** Events folded into the profile that are still in the local ring buffer. */
  get recentEvents() { return this.#events.map((e) => ({ ...e })); }

  #warn(message) {
    this.warnings.push(message);
    if (this.#onWarning) this.#onWarning(message);
  }

  async #restore() {
    let record;
    try {
      record = await this.#storage.get(this.#key);
    } catch (e) {
      this.#warn(`stored profile unavailable (${e?.message ?? e}); using an in-memory profile`);
      this.#storage = new MemoryStorage();
      return;
    }
    if (record === undefined) return;
    const events = Array.isArray(record?.events) ? record.events : [];
    if (record?.v === STORE_VERSION && record.modelVersion === this.#model.modelVersion && record.profile instanceof Uint8Array) {
      try {
        rankOn(this.#model, record.profile, [], undefined); // validates the bytes
        this.#profile = record.profile;
        this.#events = events.slice(-RING);
        return;
      } catch { /* corrupt: rebuild below */ }
    }
    // Another model version or a damaged record: rebuild from the recent events.
    let profile = this.#model.newProfile();
    const kept = [];
    for (const raw of events.slice(-RING)) {
      try { const e = checkEvent(raw); profile = this.#model.observe(profile, e); kept.push(e); } catch { /* skip */ }
    }
    this.#profile = profile;
    this.#events = kept;
    this.#warn(record?.modelVersion !== this.#model.modelVersion
      ? `profile rebuilt from ${kept.length} recent events for model ${this.#model.modelVersion}`
      : `stored profile was damaged; rebuilt from ${kept.length} recent events`);
    await this.#persist();
  }

  async #persist() {
    const record = { v: STORE_VERSION, modelVersion: this.#model.modelVersion, profile: this.#profile, events: this.#events };
    try {
      await this.#storage.set(this.#key, record);
    } catch (e) {
      this.#warn(`could not store the profile (${e?.name ?? ''} ${e?.message ?? e}); keeping it in memory`);
      this.#storage = new MemoryStorage();
      await this.#storage.set(this.#key, record);
    }
  }

  /**
   * Records an event: `{ itemId, kind?: "view" | "cart" | "purchase" | "review", ts?: ms, title? }`.
   * The profile is updated at once (the next `rerank` sees it) and stored on this device
   * only; the promise settles when it is stored. Rejects with an Error for a malformed
   * event (the profile is left unchanged).
   */
  observe(event) {
    // The profile changes now, in call order, so a `rerank` right after sees the event;
    // storing it is queued and the returned promise settles when it is stored.
    let e;
    try {
      e = checkEvent(event);
      this.#profile = this.#model.observe(this.#profile, e);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#events.push(e);
    if (this.#events.length > RING) this.#events.splice(0, this.#events.length - RING);
    const done = this.#queue.then(() => this.#persist());
    this.#queue = done.catch(() => {});
    return done;
  }

  /**
   * Reorders the shop's candidates for this shopper: `[{ id, title?, score? }]` →
   * `[{ id, index, score, source }]`, best first. On any failure the candidates come back
   * in the shop's order (with `score: null`) and the error goes to `onError` — unless the
   * personalizer was loaded with `strict: true`, in which case the promise rejects.
   */
  async rerank(candidates, options = {}) {
    try {
      if (this.#gpu && Array.isArray(candidates) && candidates.length >= this.#gpuFrom) {
        const ranked = await rankOnGpu(this.#gpu, this.#model, this.#profile, candidates, options.topK);
        if (ranked) {
          this.#lastBackend = 'webgpu';
          return ranked;
        }
      }
      this.#lastBackend = 'cpu';
      return rankOn(this.#model, this.#profile, candidates, options.topK);
    } catch (e) {
      if (this.#strict) throw e;
      if (this.#onError) this.#onError(e);
      return shopOrder(candidates, options.topK);
    }
  }

  /** Wipes this shopper's profile and events from this device. */
  async forget() {
    await this.#queue;
    this.#profile = this.#model.newProfile();
    this.#events = [];
    await this.#storage.delete(this.#key);
  }

  /**
   * The profile, for the host app to move explicitly (e.g. to another device).
   * Returns copies; nothing is sent anywhere.
   */
  exportProfile() {
    return { modelVersion: this.#model.modelVersion, profile: this.#profile.slice(), events: this.recentEvents };
  }

  /**
   * The compact, quantised profile blob for an edge reranker (opt-in only): no item ids,
   * no events, no times — see the package README's privacy note.
   */
  edgeProfile() { return this.#model.exportEdgeProfile(this.#profile); }
}

function shopOrder(candidates, topK) {
  if (!Array.isArray(candidates)) return [];
  const out = candidates.map((c, index) => ({ id: c?.id, index, score: null, source: 'shop' }));
  return topK === undefined ? out : out.slice(0, topK);
}

/**
 * Stateless rerank for edge workers: a loaded `Model`, the shopper's opt-in profile — the
 * edge blob from `Personalizer.edgeProfile()` (a `Uint8Array`) or the raw profile vector
 * (an array of numbers) — and the candidates. Throws on bad input.
 */
export function rerankWithProfile(model, profile, candidates, options = {}) {
  let bytes;
  if (profile instanceof Uint8Array) bytes = model.importEdgeProfile(profile);
  else if (Array.isArray(profile) || profile instanceof Float32Array) {
    if (!Array.from(profile).every((v) => typeof v === 'number')) throw new TypeError('pocketrank: invalid profile: the vector must hold numbers');
    bytes = model.profileFromVector(Float32Array.from(profile));
  } else throw new TypeError('pocketrank: invalid profile: expected the edge blob (Uint8Array) or a number array');
  return rankOn(model, bytes, candidates, options.topK);
}
