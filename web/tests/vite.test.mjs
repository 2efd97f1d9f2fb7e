// The package as an app installs it: web/examples/vite built by Vite (offline, against the
// built web/pkg linked as node_modules/pocketrank, as `npm install` links a `file:`
// dependency), then run in headless Chromium under a strict Content-Security-Policy.
// Needs POCKETRANK_ARTIFACT and a catalog.json beside it (what `trainer export` writes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from '../../tests/e2e/serve.mjs';

const example = fileURLToPath(new URL('../examples/vite', import.meta.url));
const pkg = fileURLToPath(new URL('../pkg', import.meta.url));
const model = process.env.POCKETRANK_ARTIFACT;
const catalog = process.env.POCKETRANK_CATALOG ?? join(dirname(model), 'catalog.json');
const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";
let out;
const logs = [];

before(async () => {
  await mkdir(join(example, 'node_modules'), { recursive: true });
  await rm(join(example, 'node_modules/pocketrank'), { force: true, recursive: true });
  await symlink('../../../pkg', join(example, 'node_modules/pocketrank'), 'dir');
  out = await mkdtemp(join(tmpdir(), 'pocketrank-vite-'));
  const logger = { info: () => {}, warn: (m) => logs.push(m), warnOnce: (m) => logs.push(m), error: (m) => logs.push(m), clearScreen: () => {}, hasErrorLogged: () => false, hasWarned: false };
  await build({ root: example, logLevel: 'warn', customLogger: logger, build: { outDir: out, emptyOutDir: true } });
});

after(async () => { if (out) await rm(out, { recursive: true, force: true }); });

test('Vite bundles the package: the .wasm modules as assets, the WebGPU scorer as its own chunk, no warnings', async () => {
  assert.deepEqual(logs, []);
  const assets = await readdir(join(out, 'assets'));
  // Both modules (the package picks one at run time), each as the package ships it.
  const wasm = assets.filter((f) => f.endsWith('.wasm')).sort();
  assert.equal(wasm.length, 2, assets.join(', '));
  for (const [f, name] of wasm.map((f, k) => [f, ['pocketrank_core_bg.wasm', 'pocketrank_core_relaxed_bg.wasm'][k]])) {
    assert.ok(f.startsWith(name.replace('.wasm', '-')), `${f} for ${name}`);
    assert.deepEqual(await readFile(join(out, 'assets', f)), await readFile(join(pkg, name)));
  }
  const chunks = assets.filter((f) => f.endsWith('.js'));
  const gpu = [];
  for (const f of chunks) if ((await readFile(join(out, 'assets', f), 'utf8')).includes('@compute')) gpu.push(f);
  assert.equal(gpu.length, 1, 'the shader lives in one chunk');
  assert.ok(chunks.length >= 2, 'and it is not the entry chunk');
  const entry = await readFile(join(out, 'index.html'), 'utf8');
  assert.ok(!entry.includes(gpu[0]), 'the WebGPU chunk is not preloaded');
});

async function run(csp) {
  const server = await serve(out, { '/model.pkr': model, '/catalog.json': catalog }, { headers: { 'content-security-policy': csp } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu: false }) });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready], body[data-error]', { state: 'attached', timeout: 30_000 });
    return { page, errors, close: async () => { await browser.close(); await server.close(); } };
  } catch (e) {
    await browser.close();
    await server.close();
    throw e;
  }
}

test("the built app reranks in Chromium under script-src 'self' 'wasm-unsafe-eval'", async () => {
  const { page, errors, close } = await run(STRICT_CSP);
  try {
    assert.equal(await page.getAttribute('body', 'data-error'), null, await page.textContent('#status'));
    const before = (await page.getAttribute('#list', 'data-ranked')).split(' ');
    assert.equal(before.length, 10);
    for (let k = 0; k < 3; k++) {
      await page.click('#list li:last-child button');
      await page.waitForSelector(`body[data-events="${k + 1}"]`, { state: 'attached' });
    }
    const after = (await page.getAttribute('#list', 'data-ranked')).split(' ');
    assert.notDeepEqual(after, before, 'the clicks reordered the list');
    // Chromium has relaxed SIMD: the bundle's URL for that module works too.
    assert.match(await page.textContent('#status'), /on cpu \(relaxed wasm\); 3 events on this device/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test("without 'wasm-unsafe-eval' the page gets an E_WASM error that says what to add", async () => {
  const { page, close } = await run("default-src 'self'; script-src 'self'");
  try {
    assert.equal(await page.getAttribute('body', 'data-error'), 'E_WASM');
    assert.match(await page.textContent('#status'), /'wasm-unsafe-eval'/);
  } finally {
    await close();
  }
});
