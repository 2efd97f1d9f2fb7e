// pocketrank at the edge: a Workers-style module that reranks a shop's candidates with the
// profile the browser chose to send (the opt-in edge blob, or the raw vector) — never raw
// events. Copy this folder next to the built package (see README.md) and run it in
// workerd or deploy it as a Cloudflare Worker.
import wasm from './pocketrank_core_bg.wasm';
import artifact from './model.pkr';
import { initSync, Model, rerankWithProfile } from './index.js';

initSync({ module: wasm });
// Loaded once per isolate, reused by every request.
const model = new Model(new Uint8Array(artifact));
const MAX_BODY = 4 << 20;

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function profileFrom(value) {
  if (typeof value === 'string') {
    try {
      return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    } catch {
      throw new TypeError('pocketrank: invalid profile: not base64');
    }
  }
  return value;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return json({ ok: true, modelVersion: model.modelVersion });
    if (pathname !== '/rerank') return json({ error: 'not found: POST /rerank' }, 404);
    if (request.method !== 'POST') return json({ error: 'use POST /rerank' }, 405);
    if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY) {
      return json({ error: `request body is larger than ${MAX_BODY} bytes` }, 413);
    }
    const text = await request.text();
    if (text.length > MAX_BODY) return json({ error: `request body is larger than ${MAX_BODY} bytes` }, 413);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return json({ error: 'malformed JSON: expected { profile, candidates, options? }' }, 400);
    }
    if (body === null || typeof body !== 'object') return json({ error: 'expected { profile, candidates, options? }' }, 400);
    try {
      const started = performance.now();
      const ranked = rerankWithProfile(model, profileFrom(body.profile), body.candidates, body.options ?? {});
      return json({ modelVersion: model.modelVersion, ranked, ms: performance.now() - started });
    } catch (e) {
      const message = String(e?.message ?? e);
      return json({ error: message }, /more than the/.test(message) ? 413 : 400);
    }
  },
};
