import { Model } from './pocketrank_core.js';
export { Model, initSync, version } from './pocketrank_core.js';

/** Something the shopper did. `ts` defaults to `Date.now()`. */
export interface ShopperEvent {
  itemId: string;
  kind?: 'view' | 'cart' | 'purchase' | 'review';
  /** Milliseconds since the Unix epoch. */
  ts?: number;
  /** Lets the model place items it has never seen (when the tokenizer is embedded). */
  title?: string;
}

/** One entry of the shop's list, in the shop's order. */
export interface Candidate {
  id: string;
  title?: string;
  /** The shop's own score, if any (NaN/Infinity read as none). */
  score?: number;
}

/** A reranked candidate. `index` is its position in the input list. */
export interface Ranked {
  id: string;
  index: number;
  /** `null` when the shop's order was returned after an error. */
  score: number | null;
  /** How the item's vector was found; `"shop"` after an error. */
  source: 'catalog' | 'title' | 'unknown' | 'shop';
}

/** Where the profile is kept: IndexedDB (browsers), memory, or your own store. */
export interface ProfileStorage {
  get(key: string): Promise<unknown>;
  set(key: string, record: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface LoadOptions {
  /** Default: "indexeddb" where it exists, else "memory". */
  storage?: 'indexeddb' | 'memory' | ProfileStorage;
  /** Separates profiles of several shops or lists on one origin. Default "default". */
  namespace?: string;
  /**
   * "cpu"; "webgpu" (every list of catalog items on the GPU; a warning and the CPU where
   * there is no adapter); or "auto" (default): a hardware adapter is measured against the
   * CPU at 10,000 candidates in the background and used from there on only if it wins.
   */
  backend?: 'auto' | 'cpu' | 'webgpu';
  /** Reject `rerank` on errors instead of returning the shop's order. */
  strict?: boolean;
  /** Called with every error `rerank` recovered from. */
  onError?: (error: Error) => void;
  /** Called with storage and model-update warnings. */
  onWarning?: (message: string) => void;
  /** Override where the WebAssembly comes from (URL, bytes or module). */
  wasm?: unknown;
  /** The fetch used for a URL source. */
  fetch?: typeof fetch;
}

/** Decodes an artifact, hashing it with WebCrypto where available (checksum always verified). */
export function loadModel(bytes: Uint8Array): Promise<Model>;

/** Loads the WebAssembly module once (done by `Personalizer.load`). */
export function init(wasm?: unknown): Promise<unknown>;

/** A shopper's personalizer: profile on this device, reranking on this device. */
export class Personalizer {
  /** Loads the model (bytes or URL) and the shopper's stored profile. */
  static load(source: Uint8Array | ArrayBuffer | string | URL, options?: LoadOptions): Promise<Personalizer>;
  /** What computes the scores (for large lists with "auto"). */
  readonly backend: 'cpu' | 'webgpu';
  /** Which backend served the latest `rerank`. */
  readonly lastBackend: 'cpu' | 'webgpu';
  /** With "auto": the measurement behind the choice, once done. */
  readonly calibration?: { candidates: number; gpuMs: number; cpuMs: number; adapter: string; fallbackAdapter: boolean } | { skipped: string };
  /** The model's version tag. */
  readonly modelVersion: string;
  /** Storage and model-update warnings so far. */
  readonly warnings: string[];
  /** The events kept locally for rebuilding the profile after a model update. */
  readonly recentEvents: ShopperEvent[];
  /** Records an event into the on-device profile. Rejects for a malformed event. */
  observe(event: ShopperEvent): Promise<void>;
  /** Best first. Never rejects unless `strict`: on failure the shop's order comes back. */
  rerank(candidates: Candidate[], options?: { topK?: number }): Promise<Ranked[]>;
  /** Wipes this shopper's profile and events from this device. */
  forget(): Promise<void>;
  /** Copies of the profile and recent events, for the host app to move explicitly. */
  exportProfile(): { modelVersion: string; profile: Uint8Array; events: ShopperEvent[] };
  /** The compact quantised profile for an edge reranker (opt-in): no ids, events or times. */
  edgeProfile(): Uint8Array;
}

/**
 * Stateless rerank for edge workers: the opt-in edge blob (`Personalizer.edgeProfile()`)
 * or the raw profile vector. Throws on bad input.
 */
export function rerankWithProfile(model: Model, profile: Uint8Array | number[] | Float32Array, candidates: Candidate[], options?: { topK?: number }): Ranked[];

export class MemoryStorage implements ProfileStorage {
  get(key: string): Promise<unknown>;
  set(key: string, record: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export class IndexedDbStorage implements ProfileStorage {
  constructor(dbName?: string);
  get(key: string): Promise<unknown>;
  set(key: string, record: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}
