// Benchmark cases shared by Node and the browser page: cold start, per-event update and
// rerank latency of the pocketrank package, with and without explanations, diversity,
// feedback and (models with a basket head) the basket context.
// `pocketrank` is the imported package.
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function timeAsync(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), runs };
}

/** Per-call p50/p95 over batches of `per` calls: a page's clock ticks in 0.1 ms, too coarse for one call. */
async function timeBatches(fn, batches, per) {
  const times = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) await fn();
    times.push((performance.now() - t) / per);
  }
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), runs: batches * per };
}

function timeIt(fn, minRuns, minMs) {
  const times = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), runs: times.length };
}

export async function run(pocketrank, artifact, fixture) {
  const rows = [];
  const t0 = performance.now();
  await pocketrank.init();
  const t1 = performance.now();
  const model = await pocketrank.loadModel(artifact);
  const t2 = performance.now();
  rows.push({ case: 'cold start: instantiate wasm', p50: t1 - t0 });
  rows.push({ case: 'cold start: load artifact (WebCrypto hash)', p50: t2 - t1 });
  rows.push({ case: 'cold start: total', p50: t2 - t0 });
  const loads = timeIt(() => new pocketrank.Model(artifact).free(), 10, 300);
  rows.push({ case: 'load artifact (warm module)', ...loads });

  const p = await pocketrank.Personalizer.load(artifact, { storage: 'memory', backend: 'cpu' });
  for (const e of fixture.events) await p.observe(e);
  const blob = p.edgeProfile();
  const event = { itemId: fixture.candidates[0].id, kind: 'view', ts: Date.now() };
  // The profile update and the (in-memory) store it is queued behind.
  rows.push({ case: 'observe one event (Personalizer, memory storage)', ...(await timeAsync(() => p.observe(event), 200)) });

  for (const n of [100, 1000, 10000]) {
    const candidates = Array.from({ length: n }, (_, i) => {
      const c = fixture.candidates[i % 990];
      return i % 3 === 0 ? { id: c.id, score: 1 - i / n } : { id: c.id };
    });
    rows.push({ case: `rerank ${n} (Personalizer, objects in and out)`, ...(await timeAsync(() => p.rerank(candidates), 30)) });
    rows.push({ case: `rerank ${n} (rerankWithProfile, edge blob)`, ...timeIt(() => pocketrank.rerankWithProfile(model, blob, candidates), 20, 500) });
  }
  // The options that need the shopper's events, on 100 candidates, for a shopper with a
  // full ring of events (explanations name the latest 20 of them).
  const shopper = await pocketrank.Personalizer.load(artifact, { storage: 'memory', backend: 'cpu' });
  const catalogIds = fixture.candidates.filter((c) => !c.code && !c.id.startsWith('unknown-')).map((c) => c.id);
  for (let k = 0; k < 50; k++) await shopper.observe({ itemId: catalogIds[(k * 17) % catalogIds.length], ts: 1.7e12 + 60_000 * k });
  const shelf = catalogIds.slice(0, 100).map((id, i) => ({ id, group: `g${i % 7}` }));
  for (const [name, options] of [
    ['plain', undefined],
    ['explain: true (first 10)', { explain: true }],
    ['explain: 100', { explain: 100 }],
    ['diversity 0.3, topK 10', { diversity: 0.3, topK: 10 }],
    ['maxPerGroup 2 + groupOf, topK 10', { maxPerGroup: 2, groupOf: (c) => c.group, topK: 10 }],
  ]) {
    await timeAsync(() => shopper.rerank(shelf, options), 100);
    rows.push({ case: `rerank 100, ${name} (per call, batches of 50)`, ...(await timeBatches(() => shopper.rerank(shelf, options), 40, 50)) });
  }
  // The same shopper after feedback (a list shown, its 8th place clicked): the top 50 are
  // corrected by what it taught.
  const shown = await shopper.rerank(shelf, { list: 'bench' });
  await shopper.observe({ itemId: shown[7].id });
  await timeAsync(() => shopper.rerank(shelf, { list: 'bench' }), 100);
  rows.push({ case: 'rerank 100, after feedback (per call, batches of 50)', ...(await timeBatches(() => shopper.rerank(shelf, { list: 'bench' }), 40, 50)) });
  // The basket context (models with a basket head): a shopper with a full ring of
  // purchases of 20 products, 8 of them in the open basket now.
  if (model.manifest().basket) {
    const buyer = await pocketrank.Personalizer.load(artifact, { storage: 'memory', backend: 'cpu' });
    for (let k = 0; k < 42; k++) await buyer.observe({ itemId: catalogIds[(k * 7) % 20], kind: 'purchase', ts: 1.7e12 + 86_400_000 * k });
    for (let k = 0; k < 8; k++) await buyer.observe({ itemId: catalogIds[20 + k], kind: 'cart', ts: 1.7e12 + 86_400_000 * 43 + 60_000 * k });
    await timeAsync(() => buyer.rerank(shelf, { context: 'basket' }), 100);
    rows.push({ case: 'rerank 100, context: basket (per call, batches of 50)', ...(await timeBatches(() => buyer.rerank(shelf, { context: 'basket' }), 40, 50)) });
    rows.push({ case: 'rerank 100, same shopper, plain (per call, batches of 50)', ...(await timeBatches(() => buyer.rerank(shelf), 40, 50)) });
  }
  // WebGPU (browsers with an adapter): the same lists through the GPU path, end to end.
  const gpu = globalThis.navigator?.gpu && (await navigator.gpu.requestAdapter())
    ? await pocketrank.Personalizer.load(artifact, { storage: 'memory', backend: 'webgpu' })
    : null;
  if (gpu) for (const e of fixture.events) await gpu.observe(e);
  for (const n of [100, 1000, 10000]) {
    const candidates = Array.from({ length: n }, (_, i) => ({ id: fixture.candidates[i % 990].id }));
    if (!gpu) { rows.push({ case: `WebGPU rerank ${n}` }); continue; }
    const first = performance.now();
    await gpu.rerank(candidates);
    const row = await timeAsync(() => gpu.rerank(candidates), 10);
    rows.push({ case: `WebGPU rerank ${n} (first call ${(performance.now() - first).toFixed(0)} ms incl. upload)`, ...row });
  }
  return rows;
}
