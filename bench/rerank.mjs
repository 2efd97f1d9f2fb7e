// Rerank speed of the built package (web/pkg) in Node and headless Chromium, for each
// WebAssembly module the engine runs: the plain SIMD build and the relaxed-SIMD build (its
// 8-bit dot product scores the catalog's int8 rows; Chromium has relaxed SIMD, Node 20 has
// not). Each module runs in a fresh context (a Node worker, a new page). Prints one table.
//
// node bench/rerank.mjs RUN   (RUN/model.pkr, RUN/core.pkr, RUN/codes.jsonl, as written by
//   cargo run --release -p pocketrank-runtime --example production_shape -- RUN)
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { inWorker } from './node-worker.mjs';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from '../tests/e2e/serve.mjs';

const run = process.argv[2];
if (!run) throw new Error('usage: node bench/rerank.mjs RUN');
const root = fileURLToPath(new URL('..', import.meta.url));
const input = {
  table: new Uint8Array(await readFile(`${run}/model.pkr`)),
  core: new Uint8Array(await readFile(`${run}/core.pkr`)),
  codes: (await readFile(`${run}/codes.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)),
};
const modules = ['pocketrank_core_bg.wasm', 'pocketrank_core_relaxed_bg.wasm'];
const wasm = Object.fromEntries(await Promise.all(modules.map(async (m) => [m, new Uint8Array(await readFile(`${root}/web/pkg/${m}`))])));


// A module the engine cannot compile (relaxed SIMD in Node 20) is left out.
const rows = [];
for (const m of modules) {
  if (WebAssembly.validate(wasm[m])) rows.push({ engine: `Node ${process.versions.node}`, module: m, ...(await inWorker(new URL('./rerank-cases.js', import.meta.url), wasm[m], input)) });
}

const server = await serve(root, {});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
for (const m of modules) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/e2e/browser/index.html`);
  const out = await page.evaluate(async ({ m, input }) => {
    const [{ runCase }, pocketrank, core, wasm] = await Promise.all([
      import('/bench/rerank-cases.js'), import('/web/pkg/index.js'), import('/web/pkg/pocketrank_core.js'),
      fetch(`/web/pkg/${m}`).then((r) => r.arrayBuffer()),
    ]);
    const bytes = (a) => new Uint8Array(a);
    return runCase(pocketrank, core, bytes(wasm), { table: bytes(input.table), core: bytes(input.core), codes: input.codes });
  }, { m, input: { ...input, table: [...input.table], core: [...input.core] } });
  rows.push({ engine: `Chromium ${browser.version()}`, module: m, ...out });
  await context.close();
}
await browser.close();
await server.close();

const ms = (x) => x.toFixed(3);
const pct = (part, whole) => `${Math.round((100 * part) / whole)}%`;
console.log('| engine | module (`simd()`) | rerank 1,000 by id, ms | of it in the core (`rankJoined`), ms | of which the kernel (`scoreIndices`), ms | the wrapper (total − core) | rerank 10,000 by id, ms | rerank 1,000 by code, ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.engine} | ${r.module} (${r.simd}) | ${ms(r.rerank1k)} | ${ms(r.core1k)} | ${ms(r.kernel1k)} | ${ms(r.rerank1k - r.core1k)} (${pct(r.rerank1k - r.core1k, r.rerank1k)}) | ${ms(r.rerank10k)} | ${ms(r.code1k)} |`);
}
for (const r of rows) {
  if (r.sources !== 'catalog,code') throw new Error(`${r.engine} ${r.module}: sources ${r.sources}, expected catalog,code`);
}
