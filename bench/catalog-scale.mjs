// What the device pays as the catalog grows, in Node and headless Chromium: the table
// artifact (one int8 row and one id per item) against the catalog-free core artifact whose
// candidates carry item codes, at 12k items (Beauty), 54,542 (the BERT4Rec Beauty catalog's
// size) and 1,000,000. The larger table artifacts are the Beauty model with its real rows
// repeated under new ids (runtime/examples/synthetic_catalog.rs); the core artifact is the
// same file at every size. Each case runs in a fresh context (a Node worker, a new page):
// bytes, cold start (instantiate the module + load the artifact: the engine compiles the
// code on its first run), a warm decode of the same artifact, the module's memory after
// loading, and rerank p50 of 1,000 candidates (objects in, sorted objects out).
//
// RUNS=5 node bench/catalog-scale.mjs RUN   (medians of RUNS fresh contexts per case; RUN/model.pkr, RUN/core.pkr, RUN/codes.jsonl from
//                                     trainer export / export --items core / export-codes;
//                                     RUN/codes.pkr from export --items codes, if present)
// For the production shape without training first:
//   cargo run --release -p pocketrank-runtime --example production_shape -- RUN
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { inWorker } from './node-worker.mjs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from '../tests/e2e/serve.mjs';

const run = process.argv[2];
if (!run) throw new Error('usage: node bench/catalog-scale.mjs RUN');
const root = fileURLToPath(new URL('..', import.meta.url));
const jsonl = async (path) => (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

// The catalogs: the real one, and the larger ones made from it (cached in RUN).
const real = await jsonl(`${run}/codes.jsonl`);
const catalogs = [{ items: real.length, table: `${run}/model.pkr`, codes: real }];
for (const n of [54_542, 1_000_000]) {
  const [table, codes] = [`${run}/table-${n}.pkr`, `${run}/codes-${n}.jsonl`];
  if (!existsSync(table)) {
    execFileSync('cargo', ['run', '-q', '--release', '-p', 'pocketrank-runtime', '--example', 'synthetic_catalog', '--',
      `${run}/model.pkr`, String(n), table, codes], { stdio: 'inherit', cwd: root });
  }
  catalogs.push({ items: n, table, codes: await jsonl(codes) });
}

// 1,000 candidates spread over the catalog; by id for the table, with codes for the core.
const cases = [];
for (const c of catalogs) {
  const picked = Array.from({ length: 1000 }, (_, i) => c.codes[Math.floor((i * c.codes.length) / 1000)]);
  cases.push({ name: `table, ${c.items.toLocaleString('en')} items, by id`, artifact: c.table, candidates: picked.map(({ id }) => ({ id })) });
  cases.push({ name: `core, ${c.items.toLocaleString('en')} items, by code`, artifact: `${run}/core.pkr`, candidates: picked });
  // The real catalog carried as codes inside the artifact (`trainer export --items codes`), when the run has it.
  if (c.codes === real && existsSync(`${run}/codes.pkr`)) {
    cases.push({ name: `codes in the artifact, ${c.items.toLocaleString('en')} items, by id`, artifact: `${run}/codes.pkr`, candidates: picked.map(({ id }) => ({ id })) });
  }
}
// The module the package picks: the relaxed-SIMD build where the engine has relaxed SIMD
// (Chromium), the plain one elsewhere (Node 20).
const modules = ['pocketrank_core_relaxed_bg.wasm', 'pocketrank_core_bg.wasm'];
const moduleBytes = await Promise.all(modules.map(async (m) => new Uint8Array(await readFile(`${root}/web/pkg/${m}`))));
const wasm = moduleBytes.find((bytes) => WebAssembly.validate(bytes));

// Every case runs RUNS times, each in a fresh context (in Node, a worker: bench/node-worker.mjs);
// the table shows each number's median.
const RUNS = Number(process.env.RUNS ?? 5);
const median = (runs) => Object.fromEntries(Object.keys(runs[0]).map((k) => {
  const xs = runs.map((r) => r[k]);
  return [k, typeof xs[0] === 'number' ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : xs[0]];
}));

const results = [];
for (const c of cases) {
  const bytes = new Uint8Array(await readFile(c.artifact));
  const runs = [];
  for (let k = 0; k < RUNS; k++) runs.push(await inWorker(new URL('./catalog-cases.js', import.meta.url), wasm, { artifact: bytes, candidates: c.candidates }));
  results.push({ ...c, bytes: bytes.length, gzip: gzipSync(bytes).length, node: median(runs) });
}

// Chromium: one page per case in a fresh browser context; the module's and the artifact's
// bytes are fetched before the clock starts (the cold start is the engine's work, not the
// network's: from this bench's local server, fetching the module alone took 8–13 ms).
const server = await serve(root, Object.fromEntries(cases.map((c, i) => [`/case-${i}.pkr`, c.artifact])));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
for (const [i, c] of cases.entries()) {
  const runs = [];
  for (let k = 0; k < RUNS; k++) runs.push(await inPage(i, c));
  results[i].chromium = median(runs);
}
async function inPage(i, c) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/e2e/browser/index.html`);
  const result = await page.evaluate(async ({ i, candidates, names }) => {
    const [{ runCase }, pocketrank, core, artifact, ...modules] = await Promise.all([
      import('/bench/catalog-cases.js'), import('/web/pkg/index.js'), import('/web/pkg/pocketrank_core.js'),
      fetch(`/case-${i}.pkr`).then((r) => r.arrayBuffer()),
      ...names.map((m) => fetch(`/web/pkg/${m}`).then((r) => r.arrayBuffer())),
    ]);
    const wasm = modules.map((m) => new Uint8Array(m)).find((bytes) => WebAssembly.validate(bytes));
    return runCase(pocketrank, core, wasm, { artifact: new Uint8Array(artifact), candidates });
  }, { i, candidates: c.candidates, names: modules });
  await context.close();
  return result;
}
await browser.close();
await server.close();

const mb = (b) => (b / 2 ** 20).toFixed(1);
const ms = (x) => (x < 1 ? x.toFixed(3) : x.toFixed(1));
console.log('| artifact, catalog, candidates | bytes (gzip) | cold start ms: Node / Chromium (instantiate + load) | warm decode ms: Node / Chromium | wasm memory MiB: Node / Chromium | rerank 1,000 ms p50, same shopper: Node / Chromium | rerank 1,000 ms p50, new profile each call: Node / Chromium |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const cold = (x) => `${ms(x.instantiate + x.load)} (${ms(x.instantiate)} + ${ms(x.load)})`;
  console.log(`| ${r.name} | ${r.bytes.toLocaleString('en')} (${r.gzip.toLocaleString('en')}) | ${cold(r.node)} / ${cold(r.chromium)} | ${ms(r.node.decode)} / ${ms(r.chromium.decode)} | ${mb(r.node.memory)} / ${mb(r.chromium.memory)} | ${ms(r.node.rerank)} / ${ms(r.chromium.rerank)} | ${ms(r.node.rerankNewProfile)} / ${ms(r.chromium.rerankNewProfile)} |`);
}
console.log(`\nModules: Node ${results[0].node.simd}, Chromium ${results[0].chromium.simd}.`);
for (const r of results) {
  const expected = r.name.includes('by code') ? 'code' : 'catalog';
  if (r.node.sources !== expected || r.chromium.sources !== expected) throw new Error(`${r.name}: sources ${r.node.sources} / ${r.chromium.sources}, expected ${expected}`);
}
