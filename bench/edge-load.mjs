// Load test of the edge reranker in workerd on loopback: a fixed request rate for a fixed
// time (it stops by itself), 1,000 candidates per request; prints latency, throughput,
// errors, and the workerd process's memory sampled through the run (RSS split into
// anonymous and file-backed pages, and the WebAssembly memory the worker reports on
// /health), with the value after warm-up against the end of the run.
//
// node bench/edge-load.mjs MODEL.pkr FIXTURE.json [seconds=30] [rate=200]
//   --minutes M | --seconds S   how long to load (10 minutes: --minutes 10)
//   --rate R                    requests per second, all connections together (200)
//   --connections C             autocannon connections (4; or CONNECTIONS in the environment)
//   --sample S                  seconds between memory samples (5)
//   --warmup S                  seconds of load counted as warm-up (60, at most a fifth of the run)
//   --path /rerank|/health      what to load (/rerank with the shop-shaped body)
//   --worker edge|control       our worker, or bench/edge-control (same routes and request
//                               shape, no package, no wasm, no model)
//   --v8-flag F                 a V8 flag added after the config's (repeatable; the last of
//                               a flag wins: --v8-flag --initial-old-space-size=0 --v8-flag
//                               --no-optimize-for-size runs with V8's default limits)
//   --trace-gc                  count V8's full (mark-compact) collections per sample
// The package comes from POCKETRANK_PKG_DIR (default web/pkg).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startWorkerd, exampleDir, configV8Flags } from '../tests/e2e/edge.mjs';

const argv = process.argv.slice(2);
const positional = [];
const flags = {};
const v8Flags = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--trace-gc') flags['trace-gc'] = true;
  else if (argv[i] === '--v8-flag') v8Flags.push(argv[++i]);
  else if (argv[i].startsWith('--')) flags[argv[i].slice(2)] = argv[++i];
  else positional.push(argv[i]);
}
const traceGc = flags['trace-gc'] === true;
if (traceGc) v8Flags.push('--trace-gc');
const [artifactPath, fixturePath, posSeconds, posRate] = positional;
if (!artifactPath || !fixturePath) {
  throw new Error('usage: node bench/edge-load.mjs MODEL.pkr FIXTURE.json [seconds] [rate] [--minutes M] [--rate R] [--connections C] [--sample S] [--warmup S] [--path P] [--worker edge|control] [--v8-flag F] [--trace-gc]');
}
const seconds = flags.minutes !== undefined ? Number(flags.minutes) * 60 : Number(flags.seconds ?? posSeconds ?? 30);
const rate = Number(flags.rate ?? posRate ?? 200);
const connections = Number(flags.connections ?? process.env.CONNECTIONS ?? 4);
const sampleS = Number(flags.sample ?? 5);
const warmupS = Math.min(Number(flags.warmup ?? 60), seconds / 5);
const path = flags.path ?? '/rerank';
const workerName = flags.worker ?? 'edge';
const worker = workerName === 'control' ? fileURLToPath(new URL('./edge-control', import.meta.url)) : exampleDir;
for (const [k, v] of Object.entries({ seconds, rate, connections, sampleS })) if (!(v > 0)) throw new Error(`${k} must be a positive number`);

const fixture = JSON.parse(await readFile(fixturePath, 'utf8'));
// What a shop sends: ids in its order, its own score for some.
const candidates = Array.from({ length: 1000 }, (_, i) => {
  const id = fixture.candidates[i % fixture.candidates.length].id;
  return i % 3 === 0 ? { id, score: Number((1 - i / 1000).toFixed(3)) } : { id };
});
const body = JSON.stringify({ profile: fixture.profile, candidates, options: { topK: 50 } });

/** The workerd process's resident memory, MB: all, anonymous (heaps), file-backed (binary). */
async function memory(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}
const health = async (url) => (await fetch(`${url}/health`)).json();
const mb = (bytes) => (bytes === undefined ? undefined : bytes / (1 << 20));
const f1 = (x) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(1));
const quantile = (xs, q) => {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// The control runs with the example config's engine settings (then any given here).
if (workerName === 'control') v8Flags.unshift(...await configV8Flags(exampleDir));
const edge = await startWorkerd(workerName === 'control' ? undefined : artifactPath, { worker, v8Flags });
// With --trace-gc V8 prints one line per collection: the full ones, with their pause.
let gcSeen = 0;
const gcLines = [];
const fullGcs = () => {
  const lines = edge.log().split('\n');
  const fresh = lines.slice(gcSeen, -1);
  gcSeen = Math.max(gcSeen, lines.length - 1);
  const full = fresh.filter((l) => l.includes('Mark-Compact'));
  gcLines.push(...full.map((l) => l.replace(/^\[[^\]]*\]\s*/, '').slice(0, 170)));
  const pauses = full.map((l) => Number(/MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//.exec(l)?.[1]));
  return { count: pauses.length, maxPause: pauses.length ? Math.max(...pauses) : 0 };
};
try {
  const idle = await memory(edge.pid);
  const post = () => fetch(`${edge.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for (let i = 0; i < 50; i++) await (await post()).json(); // warm up
  // Sequential requests: the floor of end-to-end latency, minus an empty round trip.
  const seq = [];
  for (let i = 0; i < 200; i++) { const t = performance.now(); await (await post()).json(); seq.push(performance.now() - t); }
  const empty = [];
  for (let i = 0; i < 200; i++) { const t = performance.now(); await (await fetch(`${edge.url}/health`)).json(); empty.push(performance.now() - t); }
  const beforeLoad = await memory(edge.pid);

  // Memory samples, and raw response times (no coordinated-omission correction) per sample
  // window, to see whether latency drifts over a long run.
  const samples = [];
  let window = [];
  const t0 = performance.now();
  const sample = async () => {
    const m = await memory(edge.pid);
    let wasm;
    try { wasm = mb((await health(edge.url)).wasmMemoryBytes); } catch { /* the worker reports none */ }
    const times = window;
    window = [];
    samples.push({ t: (performance.now() - t0) / 1000, ...m, wasm, gc: traceGc ? fullGcs() : undefined, n: times.length, p50: quantile(times, 0.5), p99: quantile(times, 0.99) });
  };
  if (traceGc) { fullGcs(); gcLines.length = 0; } // collections before the load are not counted
  const sampler = setInterval(() => { sample().catch(() => {}); }, sampleS * 1000);
  const instance = autocannon({
    url: `${edge.url}${path}`, method: path === '/rerank' ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' }, body: path === '/rerank' ? body : undefined,
    duration: seconds, overallRate: rate, connections,
  });
  instance.on('response', (_client, _status, _bytes, ms) => { window.push(ms); });
  const result = await instance;
  clearInterval(sampler);
  await sample();
  const after = await memory(edge.pid);

  const med = (xs) => quantile(xs, 0.5);
  const rows = [
    ['worker', `${workerName} (${path}, ${connections} connections)${v8Flags.length ? `, extra V8 flags ${v8Flags.join(' ')}` : ''}`],
    ['run', `${(seconds / 60).toFixed(1)} min at ${rate} req/s, memory every ${sampleS} s, warm-up ${warmupS} s`],
    ['requests', result.requests.total],
    ['rate (req/s, target)', `${(result.requests.total / seconds).toFixed(1)} (${rate})`],
    ['latency p50 ms', result.latency.p50],
    ['latency p90 ms', result.latency.p90],
    ['latency p99 ms', result.latency.p99],
    ['latency max ms', result.latency.max],
    ['errors / non-2xx / timeouts', `${result.errors} / ${result.non2xx} / ${result.timeouts}`],
    ['sequential p50 ms (1,000 candidates)', med(seq).toFixed(2)],
    ['empty round trip p50 ms', med(empty).toFixed(2)],
    ['rerank work per request ≈ ms', (med(seq) - med(empty)).toFixed(2)],
    ['workerd RSS idle / before load / after MB', `${f1(idle.rss)} / ${f1(beforeLoad.rss)} / ${f1(after.rss)}`],
    ['workerd peak RSS (VmHWM) MB', f1(after.hwm)],
  ];
  console.log('| measure | value |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);

  const gcCols = traceGc ? ' full GCs (longest ms) |' : '';
  console.log(`\n| t s | RSS MB | anon MB | file MB | wasm memory MB | responses | p50 ms | p99 ms |${gcCols}\n|---|---|---|---|---|---|---|---|${traceGc ? '---|' : ''}`);
  for (const s of samples) {
    const gc = s.gc ? ` ${s.gc.count}${s.gc.count ? ` (${s.gc.maxPause.toFixed(0)})` : ''} |` : '';
    console.log(`| ${s.t.toFixed(0)} | ${f1(s.rss)} | ${f1(s.anon)} | ${f1(s.file)} | ${f1(s.wasm)} | ${s.n} | ${f1(s.p50)} | ${f1(s.p99)} |${gc}`);
  }
  if (traceGc) {
    console.log(`\nfull (mark-compact) collections during the load: ${samples.reduce((a, s) => a + s.gc.count, 0)} (V8's lines: time since start, heap MB before → after)`);
    for (const l of gcLines) console.log(`  ${l}`);
  }

  // After warm-up: the first sample at or past the warm-up, against the rest of the run.
  const warm = samples.findIndex((s) => s.t >= warmupS);
  if (warm >= 0 && warm < samples.length - 1) {
    const start = samples[warm], end = samples.at(-1), rest = samples.slice(warm);
    const summary = (key) => {
      const xs = rest.map((s) => s[key]).filter((x) => x !== undefined && !Number.isNaN(x));
      if (xs.length === 0) return null;
      const lo = Math.min(...xs), hi = Math.max(...xs);
      const dev = Math.max(hi - start[key], start[key] - lo) / start[key] * 100;
      return { start: start[key], end: end[key], lo, hi, change: (end[key] - start[key]) / start[key] * 100, dev };
    };
    console.log(`\n| after warm-up (t ${start.t.toFixed(0)} s → ${end.t.toFixed(0)} s) | start | end | min | max | end vs start | widest swing from start |\n|---|---|---|---|---|---|---|`);
    for (const [label, key] of [['RSS MB', 'rss'], ['anon MB', 'anon'], ['file MB', 'file'], ['wasm memory MB', 'wasm']]) {
      const s = summary(key);
      if (s) console.log(`| ${label} | ${f1(s.start)} | ${f1(s.end)} | ${f1(s.lo)} | ${f1(s.hi)} | ${s.change >= 0 ? '+' : ''}${s.change.toFixed(1)}% | ${s.dev.toFixed(1)}% |`);
    }
    const rss = summary('rss');
    console.log(`\nRSS after warm-up ${rss.dev <= 10 ? 'stays' : 'does NOT stay'} within ±10% of ${f1(rss.start)} MB (widest swing ${rss.dev.toFixed(1)}%).`);
    const p99 = rest.map((s) => s.p99).filter((x) => !Number.isNaN(x));
    console.log(`Raw p99 per ${sampleS} s window after warm-up: median ${f1(quantile(p99, 0.5))} ms, worst ${f1(Math.max(...p99))} ms.`);
  }
  if (edge.exited()) console.log(`\nworkerd exited during the run:\n${edge.log()}`);
} finally {
  await edge.stop();
}
