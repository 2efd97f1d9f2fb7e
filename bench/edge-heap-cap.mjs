// What the edge config's V8 flags cap: starts workerd with the v8Flags of
// web/examples/edge/config.capnp (or the flags given) and a probe worker that keeps 1 MB
// JavaScript arrays until V8 gives up, then one that grows a WebAssembly.Memory; prints
// how much each could hold and how workerd ended.
//
// node bench/edge-heap-cap.mjs [V8 flag ...]      (no flags: the example config's)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkerd, configV8Flags } from '../tests/e2e/edge.mjs';

const given = process.argv.slice(2);
const flags = given.length > 0 ? given : await configV8Flags();

const probe = `
const kept = [];
let memory;
export default {
  async fetch(request) {
    const u = new URL(request.url);
    if (u.pathname === '/js') {
      // 1 MB of doubles per array, kept alive.
      for (let i = 0; i < 8; i++) kept.push(Array.from({ length: 131072 }, (_, j) => j + 0.5));
      return new Response(String(kept.length));
    }
    if (u.pathname === '/wasm') {
      memory ??= new WebAssembly.Memory({ initial: 1, maximum: 16384 });
      memory.grow(128); // 8 MB
      new Uint8Array(memory.buffer).fill(1, memory.buffer.byteLength - (8 << 20)); // touched, so resident
      return new Response(String(memory.buffer.byteLength >> 20));
    }
    return new Response('ok');
  },
};`;

async function run(path, limitMb) {
  const dir = await mkdtemp(join(tmpdir(), 'pocketrank-heap-'));
  await writeFile(join(dir, 'worker.js'), probe);
  await writeFile(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  v8Flags = ${JSON.stringify(flags)},
  services = [ (name = "probe", worker = .probe) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "probe") ],
);
const probe :Workerd.Worker = ( modules = [ (name = "worker.js", esModule = embed "worker.js") ], compatibilityDate = "2025-01-01" );
`);
  const edge = await startWorkerd(undefined, { worker: dir });
  let held = 0, ended = 'still serving';
  try {
    while (held < limitMb) {
      const res = await fetch(`${edge.url}${path}`);
      if (!res.ok) { ended = `HTTP ${res.status}: ${(await res.text()).slice(0, 120)}`; break; }
      held = Number(await res.text());
    }
  } catch (e) {
    await new Promise((ok) => setTimeout(ok, 300));
    const fatal = edge.log().split('\n').find((l) => /fatal|Reached heap limit|out of memory/i.test(l));
    ended = `workerd ${edge.exited() ? 'exited' : 'dropped the connection'} (${e.cause?.code ?? e.message})${fatal ? `: ${fatal.trim().slice(0, 160)}` : ''}`;
  } finally {
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { held, ended };
}

console.log(`V8 flags: ${JSON.stringify(flags)}${given.length ? '' : ' (web/examples/edge/config.capnp)'}`);
const js = await run('/js', 1024);
console.log(`JavaScript arrays kept: ${js.held} MB, then ${js.ended}`);
const wasm = await run('/wasm', 512);
console.log(`WebAssembly.Memory grown to: ${wasm.held} MB, then ${wasm.ended}`);
