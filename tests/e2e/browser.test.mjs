// The built package in headless Chromium (Debian's, driven by playwright-core): native
// parity in a page and in a Web Worker (explanations and diversity included), IndexedDB persistence across reloads (records of
// this version and of pocketrank 0.1), forget(), coded errors, the WebGPU scorer (its
// shader built from each model's WGSL prelude) against the CPU on two models of different
// widths, pocketrank/text placing new products by title, and no request leaving
// 127.0.0.1; the basket context on a model with a basket head. Needs POCKETRANK_ARTIFACT
// and POCKETRANK_FIXTURE like node.test.mjs, POCKETRANK_TEXT_FIXTURE (the same example run
// with the runtime's `text` feature), and POCKETRANK_BASKET_ARTIFACT and
// POCKETRANK_BASKET_FIXTURE (a model distilled on basket data, and its fixture).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './serve.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = JSON.parse(await readFile(process.env.POCKETRANK_FIXTURE, 'utf8'));
const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
let server;

const small = fileURLToPath(new URL('../../web/tests/small.pkr', import.meta.url));

// A model distilled on basket data (it carries a basket head) and its parity fixture.
const basketFixture = JSON.parse(await readFile(process.env.POCKETRANK_BASKET_FIXTURE, 'utf8'));

before(async () => {
  server = await serve(root, { '/model.pkr': process.env.POCKETRANK_ARTIFACT, '/small.pkr': small, '/basket.pkr': process.env.POCKETRANK_BASKET_ARTIFACT });
});
after(async () => { await server.close(); });

async function open(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/tests/e2e/browser/index.html`);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  return { context, page, requests, errors };
}

function checkParity(ranked) {
  const native = new Map(fixture.ranked.map((r) => [r.index, r.score]));
  assert.equal(ranked.length, fixture.ranked.length);
  for (const r of ranked) assert.ok(close(r.score, native.get(r.index)), `candidate ${r.index}: ${r.score} vs ${native.get(r.index)}`);
  const top = (xs) => xs.slice(0, 10).map((r) => r.index);
  assert.deepEqual(top(ranked), top(fixture.ranked));
}

async function session(page, namespace = 'test') {
  return page.evaluate(async ({ events, candidates, namespace, options, adaptedRecord }) => {
    const { Personalizer, MemoryStorage } = window.pocketrank;
    // A stored session that learned from a click: its correction, as the native runtime's.
    const storage = new MemoryStorage();
    await storage.set('profile:fb', new TextEncoder().encode(adaptedRecord));
    const learned = await Personalizer.load('/model.pkr', { storage, namespace: 'fb' });
    const adapted = await learned.rerank(candidates, { topK: 60 });
    const p = await Personalizer.load('/model.pkr', { namespace });
    for (const e of events) await p.observe(e);
    const bought = events.filter((e) => e.kind === 'purchase').map((e) => ({ id: e.itemId }));
    return {
      backend: p.backend,
      ranked: await p.rerank(candidates),
      // The items already bought, put last on request (IndexedDB-backed session).
      excluded: await p.rerank([...candidates, ...bought], { excludeSeen: ['purchase'] }),
      // Explanations and a diversified top, capped per group.
      diverse: await p.rerank(candidates, { ...options, groupOf: (c) => c.group }),
      adapted,
      warnings: p.warnings.map((w) => `${w.code}: ${w.message}`),
    };
  }, { events: fixture.events, candidates: fixture.candidates, namespace, options: fixture.diverseOptions, adaptedRecord: fixture.adaptedRecord });
}

/** The rerank corrected by a stored session's feedback, as the native runtime made it. */
function checkAdapted(out) {
  assert.deepEqual(out.map((r) => r.index), fixture.adapted.map((r) => r.index));
  out.forEach((r, j) => assert.ok(close(r.score, fixture.adapted[j].score), `place ${j}: ${r.score} vs ${fixture.adapted[j].score}`));
}

/** Explanations and the diversified top as the native runtime made them. */
function checkDiverse(out) {
  assert.deepEqual(out.map((r) => r.index), fixture.diverse.map((r) => r.index));
  out.forEach((r, j) => {
    const native = fixture.diverse[j];
    assert.deepEqual(r.because.map((b) => b.itemId), native.because.map((b) => b.itemId), `place ${j}`);
    r.because.forEach((b, k) => assert.ok(Math.abs(b.share - native.because[k].share) <= 1e-3, `place ${j}: ${b.share} vs ${native.because[k].share}`));
  });
}

/** `excludeSeen: ['purchase']`: the purchased items come last, marked, the rest in the model's order. */
function checkExcluded(out) {
  const bought = new Set(fixture.events.filter((e) => e.kind === 'purchase').map((e) => e.itemId));
  const n = fixture.candidates.length;
  const seen = out.excluded.filter((r) => r.seen);
  assert.ok(seen.length >= bought.size && seen.every((r) => bought.has(r.id)), 'the purchased items are marked');
  assert.deepEqual(out.excluded.slice(-seen.length), seen, 'and come last');
  const fresh = out.excluded.slice(0, -seen.length).filter((r) => r.index < n).map((r) => r.index);
  assert.deepEqual(fresh, out.ranked.filter((r) => !bought.has(r.id)).map((r) => r.index));
}

for (const webgpu of [true, false]) {
  test(`same ranking as native in a page (WebGPU flag ${webgpu ? 'on' : 'off'}) and in a worker`, async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu }) });
    try {
      const { page, requests, errors } = await open(browser);
      const adapter = await page.evaluate(() => window.gpuAdapter());
      if (webgpu) assert.ok(adapter, 'a (software) WebGPU adapter with --enable-unsafe-webgpu');
      else assert.equal(adapter, null);
      const out = await session(page);
      assert.equal(out.backend, 'cpu');
      checkParity(out.ranked);
      checkExcluded(out);
      checkDiverse(out.diverse);
      checkAdapted(out.adapted);
      const inWorker = await page.evaluate(({ events, candidates }) => window.workerRerank(events, candidates),
        { events: fixture.events, candidates: fixture.candidates });
      checkParity(inWorker.ranked);
      assert.deepEqual(errors, []);
      for (const url of requests) assert.ok(url.startsWith(server.url), `request left the test server: ${url}`);
    } finally {
      await browser.close();
    }
  });
}

test('Chromium runs the relaxed-SIMD module, which ranks as the plain module does, to the bit', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    // Each context instantiates the package anew: the module it picks, or the one it is given.
    const rank = async (wasm) => {
      const { context, page, errors } = await open(browser);
      const out = await page.evaluate(async ({ wasm, events, lists }) => {
        const { init, simd, Personalizer } = window.pocketrank;
        await init(wasm ?? undefined);
        const p = await Personalizer.load('/model.pkr', { storage: 'memory', backend: 'cpu' });
        for (const e of events) await p.observe(e);
        const ranked = [];
        for (const c of lists) ranked.push((await p.rerank(c)).map((r) => [r.index, r.score, r.source]));
        return { simd: simd(), ranked };
      }, { wasm, events: fixture.events, lists: [fixture.candidates, fixture.candidates.slice(0, 7)] });
      await context.close();
      assert.deepEqual(errors, []);
      return out;
    };
    const auto = await rank(null);
    const plain = await rank('/web/pkg/pocketrank_core_bg.wasm');
    assert.deepEqual([auto.simd, plain.simd], ['relaxed', 'simd128']);
    checkParity(auto.ranked[0].map(([index, score]) => ({ index, score })));
    assert.ok(auto.ranked[0].some(([, , source]) => source === 'catalog'), 'catalog rows are scored by the integer kernel');
    assert.deepEqual(auto.ranked, plain.ranked);
  } finally {
    await browser.close();
  }
});

test('the basket context in a page: add-ons ranked as the native runtime ranks them, the basket last', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    const { page, requests, errors } = await open(browser);
    const out = await page.evaluate(async ({ events, candidates }) => {
      const { Personalizer } = window.pocketrank;
      const p = await Personalizer.load('/basket.pkr', { namespace: 'basket', strict: true });
      for (const e of events) await p.observe(e);
      const basket = await p.rerank(candidates, { context: 'basket' });
      const refused = [];
      const q = await Personalizer.load('/model.pkr', { namespace: 'plain', onError: (e) => refused.push(e.code) });
      const shop = await q.rerank(candidates.slice(0, 5), { context: 'basket' });
      return { basket, refused, shop: shop.map((r) => r.source) };
    }, { events: [...basketFixture.events, ...basketFixture.basket.events], candidates: basketFixture.candidates });
    const native = basketFixture.basket.ranked;
    // The same order up to near-ties (see web/tests/basket.test.mjs).
    const nativeScore = new Map(native.map((r) => [r.index, r.score]));
    out.basket.slice(0, 20).forEach((r, j) => assert.ok(close(nativeScore.get(r.index), native[j].score), `place ${j}: candidate ${r.index}`));
    out.basket.forEach((r, j) => assert.ok(close(r.score, native[j].score), `place ${j}: ${r.score} vs ${native[j].score}`));
    assert.equal(out.basket.filter((r) => r.seen).length, basketFixture.basket.seen);
    assert.ok(out.basket.slice(-basketFixture.basket.seen).every((r) => r.seen), 'the basket comes last');
    // The other model has no basket head: E_OPTIONS, the shop's order.
    assert.deepEqual(out.refused, ['E_OPTIONS']);
    assert.deepEqual(out.shop, Array(5).fill('shop'));
    assert.deepEqual(errors, []);
    for (const url of requests) assert.ok(url.startsWith(server.url), `request left the test server: ${url}`);
  } finally {
    await browser.close();
  }
});

test('the profile survives a reload; forget() leaves nothing in IndexedDB', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    const { page } = await open(browser);
    const first = await session(page, 'shop-a');
    assert.deepEqual(await page.evaluate(() => window.idbKeys()), ['profile:shop-a']);
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const again = await page.evaluate(async (candidates) => {
      const p = await window.pocketrank.Personalizer.load('/model.pkr', { namespace: 'shop-a' });
      return { events: p.recentEvents.length, ranked: await p.rerank(candidates) };
    }, fixture.candidates);
    assert.equal(again.events, fixture.events.length);
    assert.deepEqual(again.ranked, first.ranked);
    await page.evaluate(async () => {
      const p = await window.pocketrank.Personalizer.load('/model.pkr', { namespace: 'shop-a' });
      await p.forget();
    });
    assert.deepEqual(await page.evaluate(() => window.idbKeys()), []);

    // A record pocketrank 0.1 left in IndexedDB ({ v: 1, modelVersion, profile, events })
    // is rebuilt from its events, with a warning, and stored again in the new format.
    const legacy = await page.evaluate(async ({ events, candidates, modelVersion }) => {
      const store = new window.pocketrank.IndexedDbStorage();
      await store.set('profile:legacy', { v: 1, modelVersion, profile: new Uint8Array(24), events });
      const warnings = [];
      const p = await window.pocketrank.Personalizer.load('/model.pkr', { namespace: 'legacy', onWarning: (w) => warnings.push([w.code, w.message]) });
      const stored = await store.get('profile:legacy');
      return { warnings, events: p.recentEvents.length, ranked: await p.rerank(candidates), storedBytes: stored instanceof Uint8Array };
    }, { events: fixture.events, candidates: fixture.candidates, modelVersion: fixture.modelVersion });
    // E_CODE: the fixture's two candidates whose codes do not read.
    assert.deepEqual(legacy.warnings.map(([code]) => code), ['E_PROFILE', 'E_CODE']);
    assert.match(legacy.warnings[0][1], new RegExp(`earlier pocketrank version; rebuilt from ${fixture.events.length} recent events`));
    assert.equal(legacy.events, fixture.events.length);
    assert.ok(legacy.storedBytes);
    checkParity(legacy.ranked);
  } finally {
    await browser.close();
  }
});

test('bad inputs reject with clear errors and the shop order comes back', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    const { page, errors } = await open(browser);
    const out = await page.evaluate(async () => {
      const { Personalizer } = window.pocketrank;
      const seen = [];
      const p = await Personalizer.load('/model.pkr', { storage: 'memory', onError: (e) => seen.push(`${e.code}: ${e.message}`) });
      const shop = await p.rerank([{ id: 'a' }, { nope: 1 }]);
      const cut = await p.rerank([{ id: 'a' }, { id: 'b' }, { id: 'c' }], { topK: -1 });
      const strict = await Personalizer.load('/model.pkr', { storage: 'memory', strict: true });
      const failed = (e) => `${e.code}: ${e.message}`;
      const rejected = await strict.rerank({ not: 'an array' }).then(() => 'resolved', failed);
      const missing = await Personalizer.load('/missing.pkr').then(() => 'loaded', failed);
      const truncated = await fetch('/model.pkr').then((r) => r.arrayBuffer())
        .then((b) => Personalizer.load(b.slice(0, 1000))).then(() => 'loaded', failed);
      const storage = await Personalizer.load('/model.pkr', { storage: 'sessionStorage' }).then(() => 'loaded', failed);
      const event = await p.observe({ itemId: 'x', kind: 'wishlist' }).then(() => 'stored', failed);
      return { shop, cut, seen, rejected, missing, truncated, storage, event };
    });
    assert.deepEqual(out.shop.map((r) => [r.index, r.score]), [[0, null], [1, null]]);
    assert.match(out.seen[0], /^E_CANDIDATES: pocketrank: invalid candidates/);
    assert.deepEqual(out.cut.map((r) => r.index), [0, 1, 2]);
    assert.match(out.seen[1], /^E_OPTIONS: .*topK must be a non-negative integer/);
    assert.match(out.rejected, /^E_CANDIDATES: .*expected an array/);
    assert.match(out.missing, /^E_FETCH: .*HTTP 404/);
    assert.match(out.truncated, /^E_ARTIFACT: .*truncated/);
    assert.match(out.storage, /^E_OPTIONS: .*storage must be/);
    assert.match(out.event, /^E_EVENT: .*kind must be one of/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the WebGPU path gives the CPU scores for models of different widths; without an adapter it falls back to the CPU', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu: true }) });
  try {
    const { page, errors } = await open(browser);
    // The CI model and web/tests/small.pkr (d = 4, hidden = 4): the shader's widths and
    // offsets come from each model's WGSL prelude.
    const models = [
      // Catalog items without codes (lists with codes take the CPU path).
      { url: '/model.pkr', events: fixture.events, candidates: fixture.candidates.filter((c) => !c.code && !c.id.startsWith('unknown-')) },
      {
        url: '/small.pkr',
        events: [{ itemId: 'b', kind: 'cart', ts: 1_700_000_000_000 }, { itemId: 'c', kind: 'view', ts: 1_700_000_090_000 }],
        candidates: [{ id: 'a' }, { id: 'c', score: 0.5 }, { id: 'b', score: -3 }, { id: 'a', score: 80 }],
      },
    ];
    const outs = await page.evaluate(async (models) => {
      const { Personalizer, loadModel } = window.pocketrank;
      const out = [];
      for (const { url, events, candidates } of models) {
        const load = async (backend) => {
          const p = await Personalizer.load(url, { storage: 'memory', backend });
          for (const e of events) await p.observe(e);
          return p;
        };
        const gpu = await load('webgpu');
        const cpu = await load('cpu');
        const g = await gpu.rerank(candidates);
        const c = await cpu.rerank(candidates);
        const auto = await load('auto');
        for (let i = 0; i < 200 && !auto.calibration; i++) await new Promise((r) => setTimeout(r, 50));
        const { dims } = (await loadModel(new Uint8Array(await (await fetch(url)).arrayBuffer()))).manifest();
        out.push({ dims, backend: gpu.backend, last: gpu.lastBackend, cpuBackend: cpu.backend, g, c, calibration: auto.calibration, autoBackend: auto.backend, warnings: gpu.warnings.map((w) => w.message) });
      }
      return out;
    }, models);
    assert.notEqual(outs[0].dims.hidden, outs[1].dims.hidden, 'two hidden widths');
    for (const out of outs) {
      const what = `d ${out.dims.d}, hidden ${out.dims.hidden}`;
      assert.deepEqual(out.warnings, [], what);
      assert.equal(out.backend, 'webgpu', what);
      assert.equal(out.last, 'webgpu', what);
      assert.equal(out.cpuBackend, 'cpu');
      assert.equal(out.g.length, out.c.length);
      const cpu = new Map(out.c.map((r) => [r.index, r.score]));
      for (const r of out.g) assert.ok(close(r.score, cpu.get(r.index)), `${what}, candidate ${r.index}: GPU ${r.score} vs CPU ${cpu.get(r.index)}`);
      // The same order, except that candidates whose scores agree within float rounding
      // may come in either order: the GPU's order must be sorted by the CPU's scores.
      const order = out.g.map((r) => r.index);
      assert.deepEqual([...order].sort((a, b) => a - b), out.c.map((r) => r.index).sort((a, b) => a - b), `${what}: same candidates`);
      for (let i = 1; i < order.length; i++) {
        const [before, after] = [cpu.get(order[i - 1]), cpu.get(order[i])];
        assert.ok(before >= after || close(before, after), `${what}: GPU puts ${order[i - 1]} (CPU ${before}) before ${order[i]} (CPU ${after})`);
      }
      // Here the only adapter is SwiftShader's software one: "auto" keeps the CPU.
      assert.deepEqual(out.calibration, { skipped: 'no hardware WebGPU adapter' });
      assert.equal(out.autoBackend, 'cpu');
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  const noGpu = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu: false }) });
  try {
    const { page } = await open(noGpu);
    const out = await page.evaluate(async () => {
      const p = await window.pocketrank.Personalizer.load('/model.pkr', { storage: 'memory', backend: 'webgpu' });
      return { backend: p.backend, warnings: p.warnings.map((w) => [w.code, w.message]) };
    });
    assert.equal(out.backend, 'cpu');
    assert.deepEqual(out.warnings.map(([code]) => code), ['E_WEBGPU']);
    assert.match(out.warnings[0][1], /no WebGPU adapter/);
  } finally {
    await noGpu.close();
  }
});

test('pocketrank/text in a page: new products are placed by their titles, as the native text runtime places them', async () => {
  const textFixture = JSON.parse(await readFile(process.env.POCKETRANK_TEXT_FIXTURE, 'utf8'));
  assert.equal(textFixture.text, true);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    const { page, errors } = await open(browser);
    const out = await page.evaluate(async ({ events, candidates }) => {
      const text = await import('/web/pkg/text.js');
      const p = await text.Personalizer.load('/model.pkr', { storage: 'memory', backend: 'cpu', namespace: 'text' });
      for (const e of events) await p.observe(e);
      return { hasText: text.hasText(), coreHasText: window.pocketrank.hasText(), ranked: await p.rerank(candidates) };
    }, { events: textFixture.events, candidates: textFixture.candidates });
    assert.deepEqual([out.hasText, out.coreHasText], [true, false]);
    const native = new Map(textFixture.ranked.map((r) => [r.index, r]));
    for (const r of out.ranked) {
      assert.ok(close(r.score, native.get(r.index).score), `candidate ${r.index}: ${r.score} vs ${native.get(r.index).score}`);
      assert.equal(r.source, native.get(r.index).source);
    }
    assert.ok(out.ranked.some((r) => r.source === 'title'), 'some candidates are placed by their titles');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
