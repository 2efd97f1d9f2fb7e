// The storefront end to end in headless Chromium: a shopping session moves items of the
// shopper's brand/category up, the profile survives a reload, "Forget me" restores the shop's order and
// empties IndexedDB, and no request leaves 127.0.0.1 or carries what the shopper touched.
// Serves www/dist (from `trunk build --release`). Writes a screenshot to
// $POCKETRANK_SCREENSHOT (default target/storefront.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './serve.mjs';

const dist = fileURLToPath(new URL('../../www/dist', import.meta.url));
const screenshot = process.env.POCKETRANK_SCREENSHOT ?? fileURLToPath(new URL('../../target/storefront.png', import.meta.url));
const catalog = JSON.parse(await readFile(`${dist}/data/catalog.json`, 'utf8'));
let server;

before(async () => { server = await serve(dist); });
after(async () => { await server.close(); });

async function open(browser, query = '') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  context.on('request', (r) => requests.push({ url: r.url(), body: r.postData() ?? '' }));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(`${server.url}/${query}`);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 30_000 });
  return { context, page, requests, consoleErrors };
}

const forYou = (page) => page.$$eval('#for-you li', (lis) => lis.map((li) => ({ id: li.dataset.id, tags: li.dataset.tags.split('|'), because: li.querySelector('.because')?.textContent })));

const tagsOf = (it) => new Set([it.brand, it.category, ...(it.tags ?? [])].filter((t) => t && t !== 'Unknown'));

/** A brand with enough items among the 300 popular ones the "for you" list reranks. The
 * catalog's own brand field when it has one; in the Amazon data brands are the attributes
 * that only ever come first (category names also appear further down the list). */
function targetTag() {
  const later = new Set(catalog.flatMap((it) => (it.tags ?? []).slice(1)));
  const brandOf = (it) => it.brand ?? (it.tags?.[0] && !later.has(it.tags[0]) ? it.tags[0] : undefined);
  const counts = new Map();
  for (const it of catalog.slice(0, 300)) {
    const brand = brandOf(it);
    if (brand && brand !== 'Unknown') counts.set(brand, (counts.get(brand) ?? 0) + 1);
  }
  // A brand the search finds by its name: most items matching the name carry it (not a
  // word such as "Clear", which the search also finds in many other products' titles).
  const ownShare = (brand) => {
    const words = brand.toLowerCase().split(/\s+/);
    const found = catalog.filter((it) => words.every((w) => searchText(it).includes(w)));
    return found.filter((it) => tagsOf(it).has(brand)).length / Math.max(found.length, 1);
  };
  return [...counts].filter(([b, n]) => n >= 6 && ownShare(b) >= 0.8).sort((a, b) => b[1] - a[1])[0][0];
}

/** The text the storefront's search matches a query against (www/app.js). */
const searchText = (it) => [it.title, it.brand, it.category, ...(it.tags ?? [])].filter(Boolean).join(' ').toLowerCase();

const rankedPool = async (page) => (await page.getAttribute('#for-you', 'data-ranked')).split(' ');

/** Mean position of the tag's items in a reranked "for you" pool, `skip` left out. */
function meanRank(ranked, tag, skip) {
  const byId = new Map(catalog.map((it) => [it.id, it]));
  const ranks = ranked.map((id, r) => [id, r]).filter(([id]) => !skip.includes(id) && tagsOf(byId.get(id)).has(tag)).map(([, r]) => r);
  return ranks.reduce((a, b) => a + b, 0) / ranks.length;
}

async function shopBrand(page, brand) {
  await page.fill('#query', brand);
  await page.waitForFunction((b) => [...document.querySelectorAll('#results li')].some((li) => li.dataset.tags.split('|').includes(b)), brand);
  // The results rerank after every click, so pick the next item from what is shown now.
  const ids = [];
  const latencies = [];
  for (let k = 0; k < 5; k++) {
    const shown = await page.$$eval('#results li', (lis, b) => lis.filter((li) => li.dataset.tags.split('|').includes(b)).map((li) => li.dataset.id), brand);
    const id = shown.find((x) => !ids.includes(x));
    if (!id) break;
    ids.push(id);
    const clicks = Number(await page.evaluate(() => document.body.dataset.clicks ?? 0));
    await page.click(`#results li[data-id="${id}"] button[data-kind="${k % 2 ? 'cart' : 'view'}"]`);
    await page.waitForFunction((n) => Number(document.body.dataset.clicks ?? 0) > n, clicks);
    latencies.push(Number(await page.evaluate(() => document.body.dataset.lastClickMs)));
  }
  return { ids, latencies };
}

for (const variant of [{ name: 'page, WebGPU flag on', webgpu: true, query: '' }, { name: 'page, CPU only (no WebGPU)', webgpu: false, query: '' }, { name: 'Web Worker', webgpu: true, query: '?worker=1' }]) {
  test(`a shopping session personalizes, persists and is forgotten (${variant.name})`, async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu: variant.webgpu }) });
    try {
      const { page, requests, consoleErrors } = await open(browser, variant.query);
      const shopOrder = await forYou(page);
      const brand = targetTag();
      const poolBefore = await rankedPool(page);
      const { ids, latencies } = await shopBrand(page, brand);
      assert.ok(ids.length >= 3, `found ${ids.length} ${brand} items`);
      await page.fill('#query', '');
      await page.waitForFunction(() => document.querySelectorAll('#results li').length > 0);
      const personal = await forYou(page);
      // The brand's other items (not the ones clicked) move up the reranked list.
      const beforeRank = meanRank(poolBefore, brand, ids);
      const afterRank = meanRank(await rankedPool(page), brand, ids);
      assert.ok(afterRank < beforeRank - 10, `${brand}: mean rank ${beforeRank.toFixed(1)} → ${afterRank.toFixed(1)} of 300`);
      console.log(`# ${variant.name}: ${brand} items' mean rank ${beforeRank.toFixed(1)} → ${afterRank.toFixed(1)} of 300`);
      assert.notDeepEqual(personal.map((i) => i.id), shopOrder.map((i) => i.id));
      // "Because you …": reasons from this shopper's own events, none before there were any.
      assert.ok(shopOrder.every((i) => i.because === undefined));
      const reasons = personal.filter((i) => i.because);
      assert.ok(reasons.length > 0 && reasons.every((i) => /^Because you (viewed|added) /.test(i.because)), JSON.stringify(reasons));
      console.log(`# ${variant.name}: ${reasons.length} of ${personal.length} recommendations explained, e.g. "${reasons[0].because}"`);
      // Items added to the cart are not recommended again: they close the reranked pool.
      const pool = await rankedPool(page);
      const carted = ids.filter((_, k) => k % 2).filter((id) => pool.includes(id));
      for (const id of carted) assert.ok(pool.indexOf(id) >= pool.length - carted.length, `${id} in the cart, at ${pool.indexOf(id)} of ${pool.length}`);
      console.log(`# ${variant.name}: ${carted.length} carted items in the pool, all at its end`);
      const events = await page.$$eval('#events li', (lis) => lis.length);
      assert.equal(events, ids.length);
      console.log(`# ${variant.name}: click → reranked list p50 ${latencies.sort((a, b) => a - b)[latencies.length >> 1].toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);

      if (variant.webgpu && !variant.query) await page.screenshot({ path: screenshot, fullPage: false });

      // Reload: the profile comes back from IndexedDB.
      await page.reload();
      await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
      assert.deepEqual((await forYou(page)).map((i) => i.id), personal.map((i) => i.id));

      // Forget me: the shop's order again, and nothing left in IndexedDB.
      await page.click('#forget');
      await page.waitForSelector('body[data-forgotten="1"]', { state: 'attached' });
      assert.deepEqual((await forYou(page)).map((i) => i.id), shopOrder.map((i) => i.id));
      assert.ok((await forYou(page)).every((i) => i.because === undefined), 'nothing left to explain');
      const stored = await page.evaluate(() => new Promise((resolve, reject) => {
        const req = indexedDB.open('pocketrank', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('profiles');
        req.onsuccess = () => {
          const keys = req.result.transaction('profiles').objectStore('profiles').getAllKeys();
          keys.onsuccess = () => resolve(keys.result);
          keys.onerror = () => reject(keys.error);
        };
        req.onerror = () => reject(req.error);
      }));
      assert.deepEqual(stored, []);

      // Zero egress: only this server, only static files, nothing the shopper touched.
      for (const r of requests) {
        assert.ok(r.url.startsWith(`${server.url}/`), `request left 127.0.0.1: ${r.url}`);
        for (const id of ids) assert.ok(!r.url.includes(id) && !r.body.includes(id), `request carried ${id}: ${r.url}`);
      }
      const paths = new Set(requests.map((r) => new URL(r.url).pathname));
      for (const p of paths) assert.match(p, /^\/(|index\.html|app\.js|worker\.js|style-[\w]+\.css|pkg\/[\w.]+|data\/(model\.pkr|catalog\.json))$/, p);
      assert.equal(await page.textContent('#egress'), '0 requests carried your data');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await browser.close();
    }
  });
}

test('keyboard only: search, then add to cart with Enter', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs() });
  try {
    const { page } = await open(browser);
    await page.setViewportSize({ width: 360, height: 740 });
    await page.focus('#query');
    await page.keyboard.type('nail');
    await page.waitForFunction(() => document.querySelectorAll('#results li').length > 0);
    await page.focus('#results li button[data-kind="cart"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-clicks="1"]', { state: 'attached' });
    assert.equal(await page.$$eval('#events li', (lis) => lis.length), 1);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, 'no horizontal scrolling at 360 px');
  } finally {
    await browser.close();
  }
});
