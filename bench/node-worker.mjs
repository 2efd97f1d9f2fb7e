// Runs one bench case in a fresh Node worker, so that its WebAssembly memory is its own:
// `runCase(pocketrank, core, wasm, input)` from the cases module `cases` (a URL), with the
// built package (web/pkg) imported inside the worker.
import { Worker } from 'node:worker_threads';

/**
 * @param {URL} cases the module exporting `runCase`
 * @param {Uint8Array} wasm the module's bytes
 * @param {unknown} input the case's input (cloned into the worker)
 * @returns {Promise<any>} what `runCase` returned
 */
export function inWorker(cases, wasm, input) {
  return new Promise((resolve, reject) => {
    const w = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      (async () => {
        const [{ runCase }, pocketrank, core] = await Promise.all([import(workerData.cases), import(workerData.pkg), import(workerData.core)]);
        parentPort.postMessage(await runCase(pocketrank, core, workerData.wasm, workerData.input));
      })().catch((e) => parentPort.postMessage({ error: String(e) }));`, {
      eval: true,
      workerData: {
        cases: cases.href,
        pkg: new URL('../web/pkg/index.js', import.meta.url).href,
        core: new URL('../web/pkg/pocketrank_core.js', import.meta.url).href,
        wasm, input,
      },
    });
    w.once('message', (m) => { w.terminate(); m.error ? reject(new Error(m.error)) : resolve(m); });
    w.once('error', reject);
  });
}
