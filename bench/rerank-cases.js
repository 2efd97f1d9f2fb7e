// One context's part of bench/rerank.mjs (a Node worker or a new page): instantiate the
// given module, then time rerank (objects in, sorted objects out) of 1,000 and 10,000
// candidates by id (the table artifact) and of 1,000 by code (the core artifact); of the
// 1,000 by id, the core's part (`Session.rankJoined` on the ids already joined and encoded,
// as the package calls it: ids looked up, scored, sorted, the shown list kept for feedback)
// and the kernel alone (`Session.scoreIndices` of the same catalog rows).
// Each number is the p50 over batches of the per-call mean: a page's clock ticks in 0.1 ms.
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perCall(fn, batches, per) {
  for (let i = 0; i < 2 * per; i++) await fn(); // warm-up (the engines' tiers)
  const times = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) await fn();
    times.push((performance.now() - t) / per);
  }
  return p50(times);
}

/**
 * @param {object} pocketrank the package (index.js)
 * @param {object} core its bindings (pocketrank_core.js), for `Session.scoreIndices`
 * @param {Uint8Array} wasm the module's bytes
 * @param {{ table: Uint8Array, core: Uint8Array, codes: { id: string, code: string }[] }} input
 */
export async function runCase(pocketrank, core, wasm, { table, core: coreArtifact, codes }) {
  await pocketrank.init(wasm);
  const pick = (n) => Array.from({ length: n }, (_, i) => codes[Math.floor((i * codes.length) / n) % codes.length]);
  const events = pick(8).map((c, k) => ({ itemId: c.id, code: c.code, ts: 1.7e12 + k * 6e4 }));
  const byId = (n) => pick(n).map(({ id }) => ({ id }));
  const out = { simd: pocketrank.simd() };

  const p = await pocketrank.Personalizer.load(table, { storage: 'memory', backend: 'cpu', strict: true });
  for (const e of events) await p.observe(e);
  const [c1k, c10k] = [byId(1000), byId(10_000)];
  out.rerank1k = await perCall(() => p.rerank(c1k), 40, 50);
  out.rerank10k = await perCall(() => p.rerank(c10k), 20, 5);
  const sources = new Set((await p.rerank(c1k)).map((r) => r.source));

  // The core's part and the kernel alone: the same candidates, the same profile.
  const model = new core.Model(table);
  const session = core.Session.restore(model, new Uint8Array());
  for (const e of events) session.observe(model, e);
  const ids = new TextEncoder().encode(c1k.map((c) => c.id).join('\n'));
  out.core1k = await perCall(() => {
    const r = session.rankJoined(model, c1k.length, ids, undefined, undefined, undefined, undefined, 0, 0, undefined, undefined, undefined, undefined, true, Date.now(), undefined);
    if (r.error) throw r.error;
    r.free();
  }, 40, 50);
  const indices = Uint32Array.from({ length: 1000 }, (_, i) => Math.floor((i * codes.length) / 1000));
  out.kernel1k = await perCall(() => session.scoreIndices(model, indices), 40, 50);
  session.free();
  model.free();

  const q = await pocketrank.Personalizer.load(coreArtifact, { storage: 'memory', backend: 'cpu', strict: true });
  for (const e of events) await q.observe(e);
  const coded = pick(1000);
  out.code1k = await perCall(() => q.rerank(coded), 40, 50);
  for (const r of await q.rerank(coded)) sources.add(r.source);
  out.sources = [...sources].sort().join(',');
  return out;
}
