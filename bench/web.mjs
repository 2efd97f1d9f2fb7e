// Benchmarks the built package (web/pkg) in Node and in headless Chromium (Debian's, via
// playwright-core; WebGPU flag on, CPU path measured) and prints one table.
//
// node bench/web.mjs MODEL.pkr FIXTURE.json   (fixture: cargo run -p pocketrank-runtime --example parity_fixture)
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from '../tests/e2e/serve.mjs';
import { run } from './web-cases.js';

const [artifactPath, fixturePath] = process.argv.slice(2);
if (!artifactPath || !fixturePath) throw new Error('usage: node bench/web.mjs MODEL.pkr FIXTURE.json');
const artifact = new Uint8Array(await readFile(artifactPath));
const fixture = JSON.parse(await readFile(fixturePath, 'utf8'));
const root = fileURLToPath(new URL('..', import.meta.url));

const node = await run(await import('../web/pkg/index.js'), artifact, fixture);

const server = await serve(root, { '/model.pkr': artifactPath, '/fixture.json': fixturePath });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
const page = await browser.newPage();
await page.goto(`${server.url}/tests/e2e/browser/index.html`);
const chrome = await page.evaluate(async () => {
  const [{ run }, pocketrank, bytes, fixture] = await Promise.all([
    import('/bench/web-cases.js'), import('/web/pkg/index.js'),
    fetch('/model.pkr').then((r) => r.arrayBuffer()), fetch('/fixture.json').then((r) => r.json()),
  ]);
  return run(pocketrank, new Uint8Array(bytes), fixture);
});
await browser.close();
await server.close();

const wasm = await readFile(new URL('../web/pkg/pocketrank_core_bg.wasm', import.meta.url));
const js = await readFile(new URL('../web/pkg/pocketrank_core.js', import.meta.url));
const wrapper = await readFile(new URL('../web/pkg/index.js', import.meta.url));
const f = (x) => (x === undefined ? '' : x < 0.1 ? x.toFixed(4) : x.toFixed(3));
console.log('| case | Node p50 ms | Node p95 ms | Chromium p50 ms | Chromium p95 ms |');
console.log('|---|---|---|---|---|');
node.forEach((r, i) => console.log(`| ${chrome[i].case} | ${f(r.p50)} | ${f(r.p95)} | ${f(chrome[i].p50)} | ${f(chrome[i].p95)} |`));
console.log(`\nwasm ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} gzip; JS glue + wrapper ${gzipSync(Buffer.concat([js, wrapper]), { level: 9 }).length} gzip; artifact ${(await stat(artifactPath)).size} bytes`);
