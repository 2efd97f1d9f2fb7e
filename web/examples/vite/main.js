// A shop's list reranked on this device: click an item and the list reorders for you.
// The model (public/model.pkr) and the shop's items (public/catalog.json) are fetched from
// this site; the profile stays in this browser's IndexedDB.
import { Personalizer, simd } from 'pocketrank';

const status = document.getElementById('status');
const list = document.getElementById('list');

async function main() {
  const items = (await (await fetch('/catalog.json')).json()).slice(0, 30);
  const shop = items.map((item, i) => ({ id: item.id, title: item.title, score: 1 - i / items.length }));
  const titles = new Map(items.map((item) => [item.id, item.title]));
  const p = await Personalizer.load('/model.pkr', {
    namespace: 'vite-example',
    onError: (e) => console.warn(e.code, e.message),
    onWarning: (w) => console.warn(w.code, w.message),
  });

  const render = async () => {
    const ranked = await p.rerank(shop, { topK: 10 });
    list.replaceChildren(...ranked.map((r) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = titles.get(r.id) ?? r.id;
      button.onclick = async () => {
        await p.observe({ itemId: r.id, kind: 'view', title: titles.get(r.id) });
        await render();
      };
      li.dataset.id = r.id;
      li.append(button);
      return li;
    }));
    list.dataset.ranked = ranked.map((r) => r.id).join(' ');
    status.textContent = `model ${p.modelVersion} on ${p.backend} (${simd()} wasm); ${p.recentEvents.length} events on this device`;
    document.body.dataset.events = String(p.recentEvents.length);
  };
  await render();
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  status.textContent = `${e.code ?? 'error'}: ${e.message}`;
  document.body.dataset.error = e.code ?? 'unknown';
});
