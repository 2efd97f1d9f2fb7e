// pocketrank at the edge: a Workers-style module that reranks a shop's candidates with the
// profile the browser chose to send (the opt-in edge blob, or the raw vector) — never raw
// events. Copy this folder next to the built package (see README.md) and run it in
// workerd or deploy it as a Cloudflare Worker.
import wasm from './pocketrank_core_bg.wasm';
import artifact from './model.pkr';
import { initSync, Model, rerankWithProfile } from './index.js';
import { initSync as coreInstance } from './pocketrank_core.js';
import { errorAnswer, fail } from './errors.js';

initSync({ module: wasm });
// wasm-bindgen's initSync hands back the instance index.js has just made (it does not make
// a second one): its linear memory is reported on /health.
const { memory } = coreInstance({ module: wasm });
// Loaded once per isolate, reused by every request; `artifact` is an ArrayBuffer the
// platform holds, viewed here, not copied.
const model = new Model(new Uint8Array(artifact));
const modelVersion = model.modelVersion;
const MAX_BODY = 4 << 20;
const HEADERS = { 'content-type': 'application/json' };

const json = (body, status = 200) => new Response(JSON.stringify(body), { status, headers: HEADERS });

function errorResponse(e) {
  const { status, body, internal } = errorAnswer(e);
  if (internal) console.error('pocketrank edge: internal error:', e?.stack ?? e);
  return json(body, status);
}

const tooLarge = () => fail('E_BODY_TOO_LARGE', `request body is larger than ${MAX_BODY} bytes`);

/** The body as text, refusing more than MAX_BODY bytes even without a content-length. */
async function bodyText(request) {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (Number(declared) > MAX_BODY) throw tooLarge();
    return request.text();
  }
  if (request.body === null) return '';
  const chunks = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.byteLength; }
  return new TextDecoder().decode(all);
}

function profileFrom(value) {
  if (typeof value === 'string') {
    try {
      return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    } catch {
      throw fail('E_PROFILE', 'pocketrank: invalid profile: not base64');
    }
  }
  return value;
}

async function rerank(request) {
  const text = await bodyText(request);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw fail('E_JSON', 'malformed JSON: expected { profile, candidates, options? }');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('E_JSON', 'expected { profile, candidates, options? }');
  const started = performance.now();
  const ranked = rerankWithProfile(model, profileFrom(body.profile), body.candidates, body.options ?? {});
  return json({ modelVersion, ranked, ms: performance.now() - started });
}

export default {
  async fetch(request) {
    try {
      const { pathname } = new URL(request.url);
      if (pathname === '/health') return json({ ok: true, modelVersion, wasmMemoryBytes: memory.buffer.byteLength });
      if (pathname !== '/rerank') throw fail('E_NOT_FOUND', 'not found: POST /rerank');
      if (request.method !== 'POST') throw fail('E_METHOD', 'use POST /rerank');
      return await rerank(request);
    } catch (e) {
      return errorResponse(e);
    }
  },
};
