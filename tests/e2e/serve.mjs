// A static file server on 127.0.0.1 for browser tests and benchmarks: serves the
// repository root, so pages can load web/pkg and the artifacts under test.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.pkr': 'application/octet-stream',
  '.css': 'text/css',
};

/**
 * Starts the server; `mounts` maps URL paths to files (e.g. `{ '/model.pkr': path }`);
 * `headers` are added to every response (e.g. a Content-Security-Policy).
 */
export async function serve(root, mounts = {}, { headers = {} } = {}) {
  root = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      const mounted = mounts[url.pathname];
      const path = mounted ?? normalize(join(root, decodeURIComponent(url.pathname)));
      if (!mounted && !path.startsWith(root)) throw new Error('outside the root');
      const file = (await stat(path)).isDirectory() ? join(path, 'index.html') : path;
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...headers });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Chromium flags that work on this machine (DESIGN.md §7). */
export function chromiumArgs({ webgpu = true } = {}) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return args;
}
