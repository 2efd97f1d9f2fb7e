// The edge example in workerd: same ranking as the native runtime, JSON errors whose status
// comes from the error's code (never its message), no internals in a 500, and the worker
// keeps serving; its WebAssembly memory does not grow from request to request. Needs
// POCKETRANK_ARTIFACT and POCKETRANK_FIXTURE like node.test.mjs; the package comes from
// POCKETRANK_PKG_DIR (default web/pkg).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startWorkerd, pkgDir, exampleDir } from './edge.mjs';
import { errorAnswer, STATUS, INTERNAL } from '../../web/examples/edge/errors.js';

const { Personalizer, Model, rerankWithProfile } = await import(pathToFileURL(join(pkgDir, 'index.js')).href);
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
  // Candidates that carry an item code are placed by it at the edge too.
  const sources = new Map(fixture.ranked.map((r) => [r.index, r.source]));
  for (const r of out.ranked) assert.equal(r.source, sources.get(r.index), `source of candidate ${r.index}`);
  assert.ok(out.ranked.some((r) => r.source === 'code'), 'the fixture has candidates with codes');

  const p = await Personalizer.load(artifact, { storage: 'memory' });
  for (const e of fixture.events) await p.observe(e);
  const blob = p.edgeProfile();
  const viaBlob = await (await post({ profile: Buffer.from(blob).toString('base64'), candidates: fixture.candidates, options: { topK: 20 } })).json();
  const local = rerankWithProfile(new Model(artifact), blob, fixture.candidates, { topK: 20 });
  assert.deepEqual(viaBlob.ranked.map((r) => r.index), local.map((r) => r.index));
  assert.equal(viaBlob.ranked.length, 20);
});

/**
 * A POST over a plain socket that sends its head and then only `bodyBytes` of the body, and
 * reads the answer. The server has read everything sent when it refuses the body, so it cannot
 * reset the connection under an answer still on its way (which `fetch` may report as "fetch
 * failed" when the whole oversized body is pushed at a server that has stopped reading).
 */
function rawPost(head, bodyBytes, { chunked = false } = {}) {
  const { hostname, port } = new URL(edge.url);
  return new Promise((ok, fail) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let got = Buffer.alloc(0);
    const answer = () => {
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = got.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const header = (name) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
      let rest = got.subarray(end + 4);
      if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
        const parts = [];
        for (;;) {
          const eol = rest.indexOf('\r\n');
          if (eol < 0) return null;
          const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
          if (size === 0) return { status, text: Buffer.concat(parts).toString('utf8') };
          if (rest.length < eol + 2 + size + 2) return null;
          parts.push(rest.subarray(eol + 2, eol + 2 + size));
          rest = rest.subarray(eol + 2 + size + 2);
        }
      }
      const length = Number(header('content-length'));
      if (!Number.isFinite(length) || rest.length < length) return null;
      return { status, text: rest.subarray(0, length).toString('utf8') };
    };
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      const a = answer();
      if (a) { socket.destroy(); ok({ status: a.status, json: async () => JSON.parse(a.text) }); }
    });
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`connection closed before a whole answer: ${got.toString('latin1').slice(0, 200)}`)));
    socket.write(`POST /rerank HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n${head}\r\n`);
    const chunk = Buffer.alloc(1 << 16, 0x20);
    for (let left = bodyBytes; left > 0; left -= chunk.length) {
      const part = chunk.subarray(0, Math.min(left, chunk.length));
      socket.write(chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part);
    }
  });
}

test('bad requests get JSON errors with a code; the status follows the code', async () => {
  const d = fixture.profile.length;
  const MAX_BODY = 4 << 20;
  // One request at a time: each is sent only when the one before has its answer.
  const cases = [
    ['malformed JSON', () => post('{ not json'), 400, 'E_JSON', /malformed JSON/],
    ['a JSON array', () => post('[1, 2]'), 400, 'E_JSON', /expected \{ profile/],
    ['a short profile', () => post({ profile: fixture.profile.slice(1), candidates: [] }), 400, 'E_PROFILE', new RegExp(`${d}`)],
    ['a null in the profile', () => post({ profile: [...fixture.profile.slice(1), null], candidates: [] }), 400, 'E_PROFILE', /must hold numbers/],
    ['a profile that is no edge blob', () => post({ profile: 'NaN', candidates: [] }), 400, 'E_PROFILE', /invalid profile|edge profile/],
    ['a profile that is not base64', () => post({ profile: '***', candidates: [] }), 400, 'E_PROFILE', /not base64/],
    ['candidates that are no array', () => post({ profile: fixture.profile, candidates: 'nope' }), 400, 'E_CANDIDATES', /expected an array/],
    ['a candidate without an id', () => post({ profile: fixture.profile, candidates: [{ title: 'no id' }] }), 400, 'E_CANDIDATES', /string id/],
    ['a negative topK', () => post({ profile: fixture.profile, candidates: fixture.candidates.slice(0, 3), options: { topK: -1 } }), 400, 'E_OPTIONS', /topK/],
    ['too many candidates', () => post({ profile: fixture.profile, candidates: Array.from({ length: 100_001 }, (_, i) => ({ id: `i${i}` })) }), 413, 'E_TOO_MANY', /100000/],
    // Refused from the declared length alone: the head is enough, no body byte is read.
    ['a declared body over 4 MiB', () => rawPost(`content-length: ${5 << 20}\r\n`, 0), 413, 'E_BODY_TOO_LARGE', /larger than/],
    // Refused while reading: the worker counts the chunks and stops past 4 MiB.
    ['a chunked body over 4 MiB', () => rawPost('transfer-encoding: chunked\r\n', MAX_BODY + 1, { chunked: true }), 413, 'E_BODY_TOO_LARGE', /larger than/],
    ['GET /rerank', () => fetch(`${edge.url}/rerank`), 405, 'E_METHOD', /POST/],
    ['another path', () => fetch(`${edge.url}/elsewhere`), 404, 'E_NOT_FOUND', /not found/],
  ];
  for (const [what, send, status, code, message] of cases) {
    const res = await send();
    const body = await res.json();
    assert.equal(res.status, status, `${what}: ${JSON.stringify(body).slice(0, 200)}`);
    assert.equal(body.code, code, what);
    assert.match(body.error, message, what);
  }
  const ok = await post({ profile: fixture.profile, candidates: fixture.candidates.slice(0, 5) });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).ranked.length, 5);
  assert.doesNotMatch(edge.log(), /internal error/, 'no request above is an internal error');
});

test('a status comes from the code only; anything without a known code is a generic 500', () => {
  for (const [code, status] of Object.entries(STATUS)) {
    assert.deepEqual(errorAnswer(Object.assign(new Error(`pocketrank: ${code} happened`), { code })), { status, body: { error: `pocketrank: ${code} happened`, code }, internal: false });
  }
  assert.equal(errorAnswer(Object.assign(new Error('x'), { code: 'E_TOO_MANY' })).status, 413);
  assert.equal(errorAnswer(Object.assign(new Error('x'), { code: 'E_CANDIDATES' })).status, 400);
  // The old message-matching rule is gone: the text alone decides nothing.
  assert.equal(errorAnswer(new RangeError('101 candidates is more than the 100 one call accepts')).status, 500);
  const secret = new TypeError('cannot read properties of undefined (reading "x") at /srv/worker.js:12:3');
  const engine = Object.assign(new Error('pocketrank: the wasm module trapped'), { code: 'E_WASM' });
  for (const thrown of [secret, engine, new WebAssembly.RuntimeError('unreachable'), 'a string', null, undefined, 42,
    Object.assign(new Error('odd'), { code: 7 }), Object.assign(new Error('odd'), { code: 'toString' }), { code: 'E_PROFILE' }]) {
    const a = errorAnswer(thrown);
    assert.equal(a.status, 500, String(thrown));
    assert.deepEqual(a.body, INTERNAL.body);
    assert.equal(a.internal, true);
    assert.doesNotMatch(JSON.stringify(a.body), /worker\.js|trapped|unreachable|reading/);
  }
});

test('the WebAssembly memory stops growing after warm-up', async () => {
  const health = async () => (await fetch(`${edge.url}/health`)).json();
  const first = await health();
  assert.equal(first.ok, true);
  assert.equal(first.modelVersion, fixture.modelVersion);
  assert.ok(first.wasmMemoryBytes > 0 && first.wasmMemoryBytes % 65536 === 0, `wasm memory ${first.wasmMemoryBytes}`);
  const candidates = Array.from({ length: 1000 }, (_, i) => ({ id: fixture.candidates[i % fixture.candidates.length].id, ...(i % 3 ? {} : { score: 1 - i / 1000 }) }));
  const body = JSON.stringify({ profile: fixture.profile, candidates, options: { topK: 50 } });
  const burst = async (n) => { for (let i = 0; i < n; i++) assert.equal((await post(body)).status, 200); };
  await burst(20);
  const warm = (await health()).wasmMemoryBytes;
  await burst(300);
  assert.equal((await health()).wasmMemoryBytes, warm, `wasm memory after warm-up ${warm} bytes`);
});
