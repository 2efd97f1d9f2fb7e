// The built package (web/pkg) in Node: same results as the native runtime, and every bad
// input handled. Run by web/tests/run-node.sh with POCKETRANK_ARTIFACT and
// POCKETRANK_FIXTURE (from `cargo run -p pocketrank-model --example parity_fixture`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

const pkg = process.env.POCKETRANK_PKG ?? new URL('../pkg/index.js', import.meta.url).href;
const { Personalizer, Model, MemoryStorage, rerankWithProfile, init, loadModel } = await import(pkg);
const artifact = new Uint8Array(await readFile(process.env.POCKETRANK_ARTIFACT));
const fixture = JSON.parse(await readFile(process.env.POCKETRANK_FIXTURE, 'utf8'));

const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
const state = (bytes) => Array.from(new Float32Array(bytes.slice(20).buffer));

async function shopper(options = {}) {
  const p = await Personalizer.load(artifact, { storage: 'memory', ...options });
  for (const e of fixture.events) await p.observe(e);
  return p;
}

test('profile and ranking equal the native runtime', async () => {
  const p = await shopper();
  assert.equal(p.modelVersion, fixture.modelVersion);
  assert.equal(p.backend, 'cpu');
  const s = state(p.exportProfile().profile);
  assert.equal(s.length, fixture.profile.length);
  s.forEach((v, k) => assert.ok(close(v, fixture.profile[k]), `profile[${k}]: ${v} vs ${fixture.profile[k]}`));

  const ranked = await p.rerank(fixture.candidates);
  assert.equal(ranked.length, fixture.candidates.length);
  const native = new Map(fixture.ranked.map((r) => [r.index, r.score]));
  for (const r of ranked) assert.ok(close(r.score, native.get(r.index)), `candidate ${r.index}: ${r.score} vs ${native.get(r.index)}`);
  // Same order wherever the native scores are not within tolerance of each other.
  for (let i = 0; i + 1 < fixture.ranked.length; i++) {
    const [a, b] = [fixture.ranked[i], fixture.ranked[i + 1]];
    if (!close(a.score, b.score)) {
      const pos = (idx) => ranked.findIndex((r) => r.index === idx);
      assert.ok(pos(a.index) < pos(b.index), `order of ${a.index} and ${b.index}`);
    }
  }
  assert.equal(ranked[0].id, fixture.candidates[ranked[0].index].id);
});

test('bad artifacts are rejected with clear errors', async () => {
  await init();
  assert.throws(() => new Model(artifact.slice(0, artifact.length - 100)), /truncated/);
  const flipped = artifact.slice();
  flipped[Math.floor(flipped.length / 2)] ^= 1;
  assert.throws(() => new Model(flipped), /checksum/);
  const future = artifact.slice();
  future[8] = 9;
  assert.throws(() => new Model(future), /version 9 is not supported/);
  assert.throws(() => new Model(new TextEncoder().encode('<html>404</html>')), /not a pocketrank artifact/);
  await assert.rejects(Personalizer.load(42), /must be bytes/);
  // The WebCrypto path checks the same things: a flipped byte or a wrong digest is refused.
  await assert.rejects(loadModel(flipped), /checksum/);
  await assert.rejects(loadModel(artifact.slice(0, artifact.length - 100)), /truncated|checksum/);
  assert.throws(() => Model.withDigest(artifact, new Uint8Array(32)), /checksum/);
  assert.throws(() => Model.withDigest(artifact, new Uint8Array(5)), /32 bytes/);
  assert.equal((await loadModel(artifact)).modelVersion, fixture.modelVersion);
});

test('bad candidates give the shop order back and report the error', async () => {
  const errors = [];
  const p = await shopper({ onError: (e) => errors.push(e) });
  const shop = [{ id: 'a' }, { title: 'no id' }, { id: 'c' }];
  const out = await p.rerank(shop);
  assert.deepEqual(out.map((r) => r.index), [0, 1, 2]);
  assert.ok(out.every((r) => r.score === null));
  assert.match(errors.at(-1).message, /invalid candidates.*string id/);
  assert.deepEqual(await p.rerank('not an array'), []);
  assert.match(errors.at(-1).message, /expected an array/);
  const huge = Array.from({ length: 100_001 }, (_, i) => ({ id: `x${i}` }));
  assert.equal((await p.rerank(huge)).length, 100_001);
  assert.match(errors.at(-1).message, /more than the 100000/);
  const withNaN = await p.rerank([{ id: fixture.candidates[0].id, score: NaN }, { id: 'unknown', score: Infinity }]);
  assert.ok(withNaN.every((r) => Number.isFinite(r.score)), 'NaN/Infinity server scores read as absent');
  assert.deepEqual(await p.rerank([]), []);

  const strict = await shopper({ strict: true });
  await assert.rejects(strict.rerank([{ id: 1 }]), /invalid candidates/);
  const big = Array.from({ length: 100_000 }, (_, i) => ({ id: fixture.candidates[i % 990].id }));
  assert.equal((await strict.rerank(big, { topK: 10 })).length, 10);
});

test('bad events are rejected and leave the profile alone', async () => {
  const p = await shopper();
  const before = p.exportProfile().profile;
  await assert.rejects(p.observe({ itemId: 'x', kind: 'wishlist' }), /kind must be one of/);
  await assert.rejects(p.observe({ kind: 'view' }), /itemId/);
  await assert.rejects(p.observe({ itemId: 'x', ts: NaN }), /ts must be a finite/);
  await assert.rejects(p.observe(null), /must be an object/);
  assert.deepEqual(p.exportProfile().profile, before);
});

test('concurrent calls are ordered and a forgotten shopper leaves nothing', async () => {
  const storage = new MemoryStorage();
  const p = await Personalizer.load(artifact, { storage, namespace: 'shop-a' });
  const ids = fixture.candidates.slice(0, 20).map((c) => c.id);
  await Promise.all(ids.map((itemId, k) => p.observe({ itemId, ts: 1000 * k })));
  assert.deepEqual(p.recentEvents.map((e) => e.itemId), ids);
  const ranks = await Promise.all([p.rerank(fixture.candidates), p.rerank(fixture.candidates)]);
  assert.deepEqual(ranks[0], ranks[1]);
  assert.ok(await storage.get('profile:shop-a'));
  // Reload: the profile comes back from storage.
  const again = await Personalizer.load(artifact, { storage, namespace: 'shop-a' });
  assert.deepEqual(again.exportProfile().profile, p.exportProfile().profile);
  await again.forget();
  assert.equal(await storage.get('profile:shop-a'), undefined);
  assert.ok(state(again.exportProfile().profile).every((v) => v === 0), 'back to the empty profile');
  assert.equal(again.recentEvents.length, 0);
});

test('a profile from another model version is rebuilt from recent events', async () => {
  const storage = new MemoryStorage();
  const p = await Personalizer.load(artifact, { storage, namespace: 'n' });
  for (const e of fixture.events) await p.observe(e);
  const record = await storage.get('profile:n');
  await storage.set('profile:n', { ...record, modelVersion: 'older-model', profile: new Uint8Array([1, 2, 3]) });
  const warnings = [];
  const q = await Personalizer.load(artifact, { storage, namespace: 'n', onWarning: (w) => warnings.push(w) });
  assert.match(warnings.join('\n'), /rebuilt from 9 recent events/);
  assert.deepEqual(q.exportProfile().profile, p.exportProfile().profile);
  // Garbage in storage: a fresh profile and a warning, never a failure.
  await storage.set('profile:n', 'garbage');
  const r = await Personalizer.load(artifact, { storage, namespace: 'n', onWarning: (w) => warnings.push(w) });
  assert.equal(r.recentEvents.length, 0);
});

test('a failing store falls back to memory with a warning', async () => {
  const broken = { get: async () => { throw new Error('QuotaExceededError'); }, set: async () => { throw new Error('QuotaExceededError'); }, delete: async () => {} };
  const warnings = [];
  const p = await Personalizer.load(artifact, { storage: broken, onWarning: (w) => warnings.push(w) });
  await p.observe(fixture.events[0]);
  assert.match(warnings.join('\n'), /in-memory profile/);
  assert.equal(p.recentEvents.length, 1);
});

test('edge profiles are compact and rank like the full profile', async () => {
  const p = await shopper();
  const blob = p.edgeProfile();
  assert.ok(blob.length < 100, `${blob.length} bytes`);
  const model = new Model(artifact);
  const edge = rerankWithProfile(model, blob, fixture.candidates);
  const full = new Map((await p.rerank(fixture.candidates)).map((r) => [r.index, r.score]));
  const xs = edge.map((r) => r.score), ys = edge.map((r) => full.get(r.index));
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  const cov = mean(xs.map((x, i) => (x - mx) * (ys[i] - my)));
  const corr = cov / Math.sqrt(mean(xs.map((x) => (x - mx) ** 2)) * mean(ys.map((y) => (y - my) ** 2)));
  assert.ok(corr > 0.99, `correlation ${corr}`);
  assert.throws(() => rerankWithProfile(model, blob.slice(0, 20), fixture.candidates), /invalid edge profile/);
});
