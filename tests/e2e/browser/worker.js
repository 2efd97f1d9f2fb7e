// The package in a dedicated Web Worker: load, observe, rerank, reply.
import { Personalizer } from '/web/pkg/index.js';

self.onmessage = async ({ data }) => {
  try {
    const p = await Personalizer.load('/model.pkr', { storage: 'memory' });
    for (const e of data.events) await p.observe(e);
    self.postMessage({ backend: p.backend, ranked: await p.rerank(data.candidates) });
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
  }
};
