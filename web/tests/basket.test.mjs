// The basket context in Node: a model distilled on basket data (it carries a basket head)
// ranks a shopper's add-ons as the native runtime does; the basket's own products come
// last, marked seen; a model without a head and a bad context answer E_OPTIONS with the
// shop's order. Needs POCKETRANK_BASKET_ARTIFACT and POCKETRANK_BASKET_FIXTURE (the parity
// fixture of that model, which then has a `basket` part), and POCKETRANK_ARTIFACT (a model
// without a head).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const pkg = process.env.POCKETRANK_PKG ? pathToFileURL(process.env.POCKETRANK_PKG).href : new URL('../pkg/index.js', import.meta.url).href;
const { Personalizer, Model, init } = await import(pkg);
await init();
const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const artifact = new Uint8Array(await readFile(need('POCKETRANK_BASKET_ARTIFACT')));
const fixture = JSON.parse(await readFile(need('POCKETRANK_BASKET_FIXTURE'), 'utf8'));
const plain = new Uint8Array(await readFile(need('POCKETRANK_ARTIFACT')));
const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));

async function shopper(bytes) {
  const p = await Personalizer.load(bytes, { storage: 'memory', strict: true });
  for (const e of [...fixture.events, ...fixture.basket.events]) await p.observe(e);
  return p;
}

test('a model with a basket head ranks add-ons as the native runtime does', async () => {
  assert.ok(fixture.basket, 'the fixture has a basket part: the model carries a basket head');
  assert.ok(new Model(artifact).manifest().basket, 'the manifest names the weights');
  const p = await shopper(artifact);
  const out = await p.rerank(fixture.candidates, { context: 'basket' });
  const native = fixture.basket.ranked;
  assert.equal(out.length, native.length);
  // The same order: each of the first 20 places holds an item whose native score is that
  // place's (items closer than the tolerance may swap).
  const nativeScore = new Map(native.map((r) => [r.index, r.score]));
  out.slice(0, 20).forEach((r, j) => assert.ok(close(nativeScore.get(r.index), native[j].score), `place ${j}: candidate ${r.index}`));
  out.forEach((r, j) => assert.ok(close(r.score, native[j].score), `place ${j}: ${r.score} vs ${native[j].score}`));
  // The products in the basket now (the last two cart events) come last, marked seen.
  const carted = fixture.basket.events.filter((e) => e.kind === 'cart').map((e) => e.itemId);
  const seen = out.filter((r) => r.seen);
  assert.equal(seen.length, fixture.basket.seen);
  assert.ok(seen.length >= carted.length && seen.every((r) => carted.includes(r.id)));
  assert.deepEqual(out.slice(-seen.length), seen);
  // Something bought before is lifted above where the model alone puts it.
  const alone = await p.rerank(fixture.candidates, { learn: false });
  const bought = fixture.basket.events.find((e) => e.kind === 'purchase').itemId;
  const place = (list) => list.findIndex((r) => r.id === bought);
  assert.ok(place(out) < place(alone), `bought before: place ${place(out)} in the basket context, ${place(alone)} without`);
});

test('the basket context without a basket head, or a bad context: E_OPTIONS and the shop order', async () => {
  assert.equal(new Model(plain).manifest().basket, undefined);
  const errors = [];
  const p = await Personalizer.load(plain, { storage: 'memory', onError: (e) => errors.push(e) });
  await p.observe(fixture.basket.events.at(-1));
  const candidates = fixture.candidates.slice(0, 30);
  for (const context of ['basket', 'cart', 7]) {
    const out = await p.rerank(candidates, { context });
    assert.deepEqual(out.map((r) => r.index), candidates.map((_, i) => i), String(context));
    assert.ok(out.every((r) => r.score === null && r.source === 'shop'));
    const e = errors.pop();
    assert.equal(e?.code, 'E_OPTIONS', String(context));
    assert.match(e.message, context === 'basket' ? /basket head/ : /context must be "default" or "basket"/);
  }
  const strict = await Personalizer.load(plain, { storage: 'memory', strict: true });
  await assert.rejects(strict.rerank(candidates, { context: 'basket' }), (e) => e.code === 'E_OPTIONS');
});
