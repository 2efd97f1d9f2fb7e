// Control for bench/edge-load.mjs: the edge reranker's routes and request shape
// (web/examples/edge/worker.js) without the package, the WebAssembly module or the model.
// It reads and parses the same request body and answers a ranking of the same size, so
// memory it uses under load is workerd's (and JSON's), not pocketrank's.
const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return json({ ok: true, modelVersion: 'control' });
    if (pathname !== '/rerank') return json({ error: 'not found: POST /rerank', code: 'E_NOT_FOUND' }, 404);
    if (request.method !== 'POST') return json({ error: 'use POST /rerank', code: 'E_METHOD' }, 405);
    const started = performance.now();
    let body;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return json({ error: 'malformed JSON', code: 'E_JSON' }, 400);
    }
    const candidates = Array.isArray(body?.candidates) ? body.candidates : [];
    const k = Math.min(candidates.length, body?.options?.topK ?? candidates.length);
    const ranked = new Array(k);
    for (let i = 0; i < k; i++) ranked[i] = { id: String(candidates[i]?.id), index: i, score: 1 - i / k, source: 'catalog' };
    return json({ modelVersion: 'control', ranked, ms: performance.now() - started });
  },
};
