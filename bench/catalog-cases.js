// One case of bench/catalog-scale.mjs, run in a fresh context (a Node worker or a new page)
// so that its WebAssembly memory is its own: instantiate the module, load the artifact,
// observe a few events, rerank 1,000 candidates. Works in Node and in browsers.
//
// Rerank p50 is the median over batches of the mean of 10 calls: `rerank` for the same
// shopper (what a page does when it reranks several lists between two events; coded
// candidates reuse the profile's code tables), `rerankNewProfile` with another profile on
// every call (the first rerank after an event: the tables are built again).
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * @param {object} pocketrank the package (index.js)
 * @param {object} core its WebAssembly glue (pocketrank_core.js), for the memory size
 * @param {Uint8Array} wasm the module's bytes
 * @param {{ artifact: Uint8Array, candidates: { id: string, code?: string }[], reps?: number }} input
 */
export async function runCase(pocketrank, core, wasm, { artifact, candidates, reps = 400 }) {
  const t0 = performance.now();
  await pocketrank.init(wasm);
  const t1 = performance.now();
  const p = await pocketrank.Personalizer.load(artifact, { storage: 'memory', backend: 'cpu', strict: true });
  const t2 = performance.now();
  for (let k = 0; k < 8; k++) {
    const c = candidates[(k * 131) % candidates.length];
    await p.observe({ itemId: c.id, code: c.code, ts: 1.7e12 + k * 6e4 });
  }
  const sources = [...new Set((await p.rerank(candidates)).map((r) => r.source))].join(',');
  for (let i = 0; i < 100; i++) await p.rerank(candidates); // warm-up (the engines' tiers)
  // Batches of 10 calls: browsers round performance.now() to 0.1 ms.
  const samples = [];
  for (let i = 0; i < reps / 10; i++) {
    const t = performance.now();
    for (let k = 0; k < 10; k++) await p.rerank(candidates);
    samples.push((performance.now() - t) / 10);
  }
  // A new profile on every call: two shoppers' vectors in turn, through the stateless path.
  const model = await pocketrank.loadModel(artifact);
  const a = p.exportProfile().profile;
  const b = Float32Array.from(a, (x, k) => x + (k % 2 ? 1e-3 : -1e-3));
  for (let i = 0; i < 20; i++) pocketrank.rerankWithProfile(model, i % 2 ? a : b, candidates);
  const fresh = [];
  for (let i = 0; i < reps / 20; i++) {
    const t = performance.now();
    for (let k = 0; k < 10; k++) pocketrank.rerankWithProfile(model, k % 2 ? a : b, candidates);
    fresh.push((performance.now() - t) / 10);
  }
  model.free();
  const memory = (await core.default()).memory.buffer.byteLength;
  // Decoding the artifact again once the engine has compiled the code (a warm reload).
  const decodes = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    new pocketrank.Model(artifact).free();
    decodes.push(performance.now() - t);
  }
  return { instantiate: t1 - t0, load: t2 - t1, decode: p50(decodes), memory, rerank: p50(samples), rerankNewProfile: p50(fresh), sources, simd: pocketrank.simd() };
}
