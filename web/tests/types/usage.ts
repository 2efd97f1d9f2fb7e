// Compile-only: the public types as an app uses them (checked by `tsc -p web`).
import { Personalizer, Model, rerankWithProfile, loadModel, MemoryStorage, type Ranked, type PocketrankError, type ErrorCode } from '../../js/index.js';

export async function app(bytes: Uint8Array): Promise<Ranked[]> {
  const p = await Personalizer.load(bytes, { storage: new MemoryStorage(), backend: 'cpu', onError: (e: PocketrankError) => console.log(e.code) });
  await p.observe({ itemId: 'B004756YJA', kind: 'cart', ts: Date.now() });
  const ranked = await p.rerank([{ id: 'a', score: 0.5 }, { id: 'b', title: 'Red lipstick' }], { topK: 10 });
  const fresh = await p.rerank([{ id: 'a' }], { excludeSeen: ['purchase'] });
  console.log(fresh[0]?.seen === true);
  // Explanations and a diversified top, grouped by a field of the shop's own candidates.
  const shelf = [{ id: 'a', brand: 'OPI' }, { id: 'b', brand: 'Olay' }];
  const varied = await p.rerank(shelf, { topK: 10, explain: true, diversity: 0.3, maxPerGroup: 2, groupOf: (c) => c.brand });
  console.log(varied[0]?.because?.map((b) => `${b.itemId} ${b.kind} ${b.share.toFixed(2)}`));
  // Feedback: named lists, one list ranked by the model alone, learning off for a shopper.
  const home = await p.rerank(shelf, { list: 'home', topK: 12 });
  await p.observe({ itemId: home[0]?.id ?? 'a' });
  await p.rerank(shelf, { list: 'search', learn: false });
  await Personalizer.load(bytes, { storage: 'memory', learn: false });
  const model: Model = await loadModel(bytes);
  // Add-ons to the open basket, when the model has a basket head.
  if (model.manifest().basket?.repeat !== undefined) await p.rerank(shelf, { context: 'basket', topK: 8 });
  const code: ErrorCode = p.warnings[0]?.code ?? 'E_OPTIONS';
  console.log(code, model.manifest().dims.d, p.exportProfile().profile.length);
  return [...ranked, ...rerankWithProfile(model, p.edgeProfile(), [{ id: 'a' }])];
}

// @ts-expect-error: the constructor is private; use Personalizer.load.
new Personalizer();
// @ts-expect-error: not a backend.
void Personalizer.load('/m.pkr', { backend: 'gpu' });
// @ts-expect-error: the fast-path internals are not public.
void ((m: Model) => m.rankState);
// @ts-expect-error: the edge path has no events to exclude.
void ((m: Model) => rerankWithProfile(m, new Uint8Array(), [], { excludeSeen: true }));
// @ts-expect-error: not an event kind.
void ((p: Personalizer) => p.rerank([], { excludeSeen: ['wishlist'] }));
// @ts-expect-error: the candidates have no `color` field.
void ((p: Personalizer) => p.rerank([{ id: 'a' }], { maxPerGroup: 1, groupOf: (c) => c.color }));
// @ts-expect-error: the edge path has no events to explain.
void ((m: Model) => rerankWithProfile(m, new Uint8Array(), [], { explain: true }));
// @ts-expect-error: not an event kind.
void ((p: Personalizer) => p.observe({ itemId: 'x', kind: 'wishlist' }));
// @ts-expect-error: `learn` is a boolean.
void ((p: Personalizer) => p.rerank([], { learn: 'yes' }));
// @ts-expect-error: not a list context.
void ((p: Personalizer) => p.rerank([], { context: 'cart' }));
// @ts-expect-error: the edge path has no basket.
void ((m: Model) => rerankWithProfile(m, new Uint8Array(), [], { context: 'basket' }));
// @ts-expect-error: the edge path learns nothing.
void ((m: Model) => rerankWithProfile(m, new Uint8Array(), [], { list: 'home' }));
