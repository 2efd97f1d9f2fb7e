// Starts the edge example (web/examples/edge) in workerd on a free 127.0.0.1 port, with the
// built package and a model, for tests and the load benchmark.
//
// The package comes from POCKETRANK_PKG_DIR (default web/pkg), so a run can use a copy that
// a rebuild of web/pkg does not change under it. `worker` names another folder holding a
// worker.js and config.capnp (the load benchmark's control worker); `v8Flags` are added to
// the config's own (measurements: --trace-gc).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const pkgDir = resolve(repo, process.env.POCKETRANK_PKG_DIR ?? 'web/pkg');
export const exampleDir = join(repo, 'web/examples/edge');

/** The v8Flags list of a workerd config.capnp. */
export async function configV8Flags(dir = exampleDir) {
  const config = await readFile(join(dir, 'config.capnp'), 'utf8');
  return JSON.parse(/^\s*v8Flags = (\[[^\]]*\])/m.exec(config)?.[1] ?? '[]');
}
const PKG_FILES = ['index.js', 'pocketrank_core.js', 'pocketrank_core_bg.wasm'];

async function freePort() {
  const s = createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

export async function startWorkerd(artifactPath, { worker = exampleDir, pkg = pkgDir, v8Flags = [] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'pocketrank-edge-'));
  for (const f of await readdir(worker, { withFileTypes: true })) {
    if (f.isFile() && /\.(js|capnp)$/.test(f.name)) await copyFile(join(worker, f.name), join(dir, f.name));
  }
  if (v8Flags.length > 0) {
    const config = await readFile(join(dir, 'config.capnp'), 'utf8');
    const extra = v8Flags.map((f) => JSON.stringify(f)).join(', ');
    const list = /^(\s*v8Flags = \[[^\]]*)\]/m;
    if (!list.test(config)) throw new Error(`${worker}/config.capnp sets no v8Flags to add to`);
    // After the config's own, so that a flag given here wins.
    await writeFile(join(dir, 'config.capnp'), config.replace(list, (_, head) => `${head}${/\[\s*$/.test(head) ? '' : ', '}${extra}]`));
  }
  if (worker === exampleDir) for (const f of PKG_FILES) await copyFile(join(pkg, f), join(dir, f));
  if (artifactPath) await copyFile(artifactPath, join(dir, 'model.pkr'));
  const port = await freePort();
  const bin = join(repo, 'node_modules/.bin/workerd');
  const args = ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`];
  // V8's --trace-gc lines go to stdout, block-buffered into a pipe: line-buffer them (stdbuf
  // execs workerd, so the pid is still workerd's) to see each collection when it happens.
  const lineBuffered = v8Flags.includes('--trace-gc') && existsSync('/usr/bin/stdbuf');
  const child = lineBuffered
    ? spawn('/usr/bin/stdbuf', ['-oL', bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((ok) => child.once('exit', ok));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null || child.signalCode !== null || i > 400) {
      child.kill();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`workerd did not start:\n${log}`);
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return {
    url,
    pid: child.pid,
    log: () => log,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
