// Starts the edge example (web/examples/edge) in workerd on a free 127.0.0.1 port, with the
// built package and a model, for tests and the load benchmark.
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

async function freePort() {
  const s = createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

export async function startWorkerd(artifactPath) {
  const dir = await mkdtemp(join(tmpdir(), 'pocketrank-edge-'));
  for (const f of ['worker.js', 'config.capnp']) await copyFile(join(repo, 'web/examples/edge', f), join(dir, f));
  for (const f of ['index.js', 'pocketrank_core.js', 'pocketrank_core_bg.wasm']) await copyFile(join(repo, 'web/pkg', f), join(dir, f));
  await copyFile(artifactPath, join(dir, 'model.pkr'));
  const port = await freePort();
  const bin = join(repo, 'node_modules/.bin/workerd');
  const child = spawn(bin, ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null || i > 200) throw new Error(`workerd did not start:\n${log}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return {
    url,
    pid: child.pid,
    log: () => log,
    stop: async () => { child.kill(); await new Promise((ok) => child.once('exit', ok)); await rm(dir, { recursive: true, force: true }); },
  };
}
