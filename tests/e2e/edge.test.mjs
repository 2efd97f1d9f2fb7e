// The edge example in workerd: same ranking as the native runtime, 4xx JSON errors for
// every bad request, and the worker keeps serving. Needs POCKETRANK_ARTIFACT and
// POCKETRANK_FIXTURE like node.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Personalizer, Model, rerankWithProfile } from '../../web/pkg/index.js';
import { startWorkerd } from './edge.mjs';

const fixture = JSON.parse(await readFile(process.env.POCKETRANK_FIXTURE, 'utf8'));
const artifact = new Uint8Array(await readFile(process.env.POCKETRANK_ARTIFACT));
const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
let edge;

before(async () => { edge = await startWorkerd(process.env.POCKETRANK_ARTIFACT); });
after(async () => { await edge.stop(); });

const post = (body, headers = {}) => fetch(`${edge.url}/rerank`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

test('the worker ranks like the native runtime (raw vector and edge blob)', async () => {
  const res = await post({ profile: fixture.profile, candidates: fixture.candidates });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.modelVersion, fixture.modelVersion);
  const native = new Map(fixture.ranked.map((r) => [r.index, r.score]));
  for (const r of out.ranked) assert.ok(close(r.score, native.get(r.index)), `candidate ${r.index}`);
  assert.deepEqual(out.ranked.slice(0, 10).map((r) => r.index), fixture.ranked.slice(0, 10).map((r) => r.index));

  const p = await Personalizer.load(artifact, { storage: 'memory' });
  for (const e of fixture.events) await p.observe(e);
  const blob = p.edgeProfile();
  const viaBlob = await (await post({ profile: Buffer.from(blob).toString('base64'), candidates: fixture.candidates, options: { topK: 20 } })).json();
  const local = rerankWithProfile(new Model(artifact), blob, fixture.candidates, { topK: 20 });
  assert.deepEqual(viaBlob.ranked.map((r) => r.index), local.map((r) => r.index));
  assert.equal(viaBlob.ranked.length, 20);
});

test('bad requests get 4xx JSON errors and the worker keeps serving', async () => {
  const d = fixture.profile.length;
  const cases = [
    [post('{ not json'), 400, /malformed JSON/],
    [post({ profile: fixture.profile.slice(1), candidates: [] }), 400, new RegExp(`have ${d}`)],
    [post({ profile: [...fixture.profile.slice(1), null], candidates: [] }), 400, /must hold numbers/],
    [post({ profile: 'NaN', candidates: [] }), 400, /invalid profile|edge profile/],
    [post({ profile: fixture.profile, candidates: 'nope' }), 400, /expected an array/],
    [post({ profile: fixture.profile, candidates: [{ title: 'no id' }] }), 400, /string id/],
    [post({ profile: fixture.profile, candidates: Array.from({ length: 100_001 }, (_, i) => ({ id: `i${i}` })) }), 413, /more than the 100000/],
    [post('x'.repeat(5 << 20)), 413, /larger than/],
    [fetch(`${edge.url}/rerank`), 405, /POST/],
    [fetch(`${edge.url}/elsewhere`), 404, /not found/],
  ];
  for (const [pending, status, message] of cases) {
    const res = await pending;
    assert.equal(res.status, status);
    assert.match((await res.json()).error, message);
  }
  const ok = await post({ profile: fixture.profile, candidates: fixture.candidates.slice(0, 5) });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).ranked.length, 5);
});
