// What the device pays as the catalog grows, in Node: the table artifact (one int8 row per
// item) against the catalog-free core artifact whose candidates carry item codes.
// Bytes, cold start (decode + checks) and rerank p50 of 1,000 candidates; for the core path
// also a 1M-item catalog of codes drawn from the real codebooks' centroids.
//
// node bench/catalog-scale.mjs RUN   (RUN/model.pkr, RUN/core.pkr, RUN/codes.jsonl from
//                                     trainer export / export --items core / export-codes)
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Model, Personalizer } from '../web/pkg/index.js';

const run = process.argv[2];
if (!run) throw new Error('usage: node bench/catalog-scale.mjs RUN');
const table = new Uint8Array(await readFile(`${run}/model.pkr`));
const core = new Uint8Array(await readFile(`${run}/core.pkr`));
const codes = (await readFile(`${run}/codes.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

const p50 = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn, reps) {
  const out = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return p50(out);
}

// A synthetic catalog of `n` items: random centroid indices with the real codebooks' tag.
function syntheticCodes(n, sample) {
  const bytes = Buffer.from(sample, 'base64url');
  const m = bytes.length - 2;
  const out = new Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(bytes);
    for (let s = 0; s < m; s++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[s] = x >>> 24;
    }
    out[i] = b.toString('base64url');
  }
  return out;
}

const rows = [];
async function measure(name, bytes, candidatesOf) {
  const p = await Personalizer.load(bytes, { storage: 'memory' });
  // Cold start: decode and check the artifact (the wasm module is already instantiated).
  const cold = time(() => new Model(bytes).free(), 15);
  for (let k = 0; k < 8; k++) await p.observe({ itemId: codes[k * 31].id, code: codes[k * 31].code, ts: 1.7e12 + k * 6e4 });
  const list = candidatesOf();
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await p.rerank(list);
    samples.push(performance.now() - t);
  }
  rows.push({ name, bytes: bytes.length, gzip: gzipSync(bytes).length, cold, rerank: p50(samples) });
}

const ids = codes.slice(0, 1000);
await measure(`table, ${codes.length} items, candidates by id`, table, () => ids.map((c) => ({ id: c.id })));
await measure(`table, ${codes.length} items, candidates with codes`, table, () => ids.map((c) => ({ id: c.id, code: c.code })));
await measure(`core, ${codes.length}-item catalog (codes)`, core, () => ids.map((c) => ({ id: c.id, code: c.code })));
const million = syntheticCodes(1_000_000, codes[0].code);
await measure('core, 1,000,000-item catalog (codes)', core, () =>
  Array.from({ length: 1000 }, (_, i) => { const k = (i * 7919) % million.length; return { id: `sku-${k}`, code: million[k] }; }));

console.log('| artifact / candidates | bytes | gzip | cold start ms (p50) | rerank 1,000 ms (p50) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.bytes} | ${r.gzip} | ${r.cold.toFixed(2)} | ${r.rerank.toFixed(3)} |`);
