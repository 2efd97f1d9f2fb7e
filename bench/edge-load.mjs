// Load test of the edge reranker in workerd on loopback: a fixed request rate for a fixed
// time (it stops by itself), 1,000 candidates per request; prints latency, throughput,
// errors and the workerd process's memory before and after.
//
// node bench/edge-load.mjs MODEL.pkr FIXTURE.json [seconds=30] [rate=200]
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';
import { startWorkerd } from '../tests/e2e/edge.mjs';

const [artifactPath, fixturePath, seconds = '30', rate = '200'] = process.argv.slice(2);
if (!artifactPath || !fixturePath) throw new Error('usage: node bench/edge-load.mjs MODEL.pkr FIXTURE.json [seconds] [rate]');
const fixture = JSON.parse(await readFile(fixturePath, 'utf8'));
// What a shop sends: ids in its order, its own score for some.
const candidates = Array.from({ length: 1000 }, (_, i) => {
  const id = fixture.candidates[i % fixture.candidates.length].id;
  return i % 3 === 0 ? { id, score: Number((1 - i / 1000).toFixed(3)) } : { id };
});
const body = JSON.stringify({ profile: fixture.profile, candidates, options: { topK: 50 } });

const rss = async (pid) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
};

const edge = await startWorkerd(artifactPath);
try {
  const post = () => fetch(`${edge.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for (let i = 0; i < 50; i++) await (await post()).json(); // warm up
  const before = await rss(edge.pid);
  // Sequential requests: the floor of end-to-end latency, minus an empty round trip.
  const seq = [];
  for (let i = 0; i < 200; i++) { const t = performance.now(); await (await post()).json(); seq.push(performance.now() - t); }
  const empty = [];
  for (let i = 0; i < 200; i++) { const t = performance.now(); await (await fetch(`${edge.url}/health`)).json(); empty.push(performance.now() - t); }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

  const samples = [];
  const sampler = setInterval(async () => { samples.push((await rss(edge.pid)).toFixed(0)); }, 5000);
  const result = await autocannon({
    url: `${edge.url}/rerank`, method: 'POST', headers: { 'content-type': 'application/json' }, body,
    duration: Number(seconds), overallRate: Number(rate), connections: Number(process.env.CONNECTIONS ?? 4),
  });
  clearInterval(sampler);
  const after = await rss(edge.pid);
  const rows = [
    ['requests', result.requests.total],
    ['rate (req/s, target)', `${(result.requests.total / Number(seconds)).toFixed(1)} (${rate})`],
    ['latency p50 ms', result.latency.p50],
    ['latency p90 ms', result.latency.p90],
    ['latency p99 ms', result.latency.p99],
    ['latency max ms', result.latency.max],
    ['errors / non-2xx / timeouts', `${result.errors} / ${result.non2xx} / ${result.timeouts}`],
    ['sequential p50 ms (1,000 candidates)', med(seq).toFixed(2)],
    ['empty round trip p50 ms', med(empty).toFixed(2)],
    ['rerank work per request ≈ ms', (med(seq) - med(empty)).toFixed(2)],
    ['workerd RSS before / after MB', `${before.toFixed(1)} / ${after.toFixed(1)}`],
    ['workerd RSS every 5 s MB', samples.join(', ')],
  ];
  console.log('| measure | value |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
} finally {
  await edge.stop();
}
