// pocketrank inside a dedicated Web Worker for the storefront's `?worker=1` mode: the page
// sends { id, op, arg } and gets { id, ok, value | error, code } back (`code`: the package's
// error code, e.g. E_EVENT).
import { Personalizer } from './pkg/index.js';

let p;
const ops = {
  load: async (options) => {
    p = await Personalizer.load('data/model.pkr', { ...options, onWarning: (w) => console.warn(w.code, w.message) });
    return { backend: p.backend, modelVersion: p.modelVersion };
  },
  // Answer as soon as the profile is updated (a bad event has already rejected by then);
  // storing it in IndexedDB finishes in the background.
  observe: (event) => {
    const stored = p.observe(event);
    stored.catch(() => {});
    return Promise.race([stored, Promise.resolve()]);
  },
  rerank: ({ candidates, options }) => p.rerank(candidates, options),
  forget: () => p.forget(),
  events: async () => p.recentEvents,
};

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ id: data.id, ok: true, value: await ops[data.op](data.arg) });
  } catch (e) {
    self.postMessage({ id: data.id, ok: false, error: String(e?.message ?? e), code: e?.code });
  }
};
