// The demo storefront: the shop's lists (popular items, keyword search) reranked for this
// shopper by pocketrank, on this device. `?worker=1` runs pocketrank in a Web Worker.
import { Personalizer } from './pkg/index.js';

const $ = (id) => document.getElementById(id);
const FOR_YOU = 12, POPULAR_POOL = 300, RESULTS = 24;
const params = new URLSearchParams(location.search);

/** The personalizer in this page, or behind a Web Worker with the same async API. */
async function connect() {
  const options = { namespace: 'demo-store' };
  if (params.get('worker') !== '1') {
    // Warnings (storage unavailable, a profile rebuilt for a new model) go to the console.
    const p = await Personalizer.load('data/model.pkr', { ...options, onWarning: (w) => console.warn(w.code, w.message) });
    return {
      mode: 'page', backend: p.backend, modelVersion: p.modelVersion,
      observe: (e) => p.observe(e), rerank: (c, o) => p.rerank(c, o), forget: () => p.forget(),
      events: async () => p.recentEvents,
    };
  }
  const worker = new Worker('worker.js', { type: 'module' });
  let next = 0;
  const pending = new Map();
  worker.onmessage = ({ data }) => {
    const { id, ok, value, error, code } = data;
    pending.get(id)?.[ok ? 0 : 1](ok ? value : Object.assign(new Error(error), { code }));
    pending.delete(id);
  };
  const call = (op, arg) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, [resolve, reject]);
    worker.postMessage({ id, op, arg });
  });
  const info = await call('load', options);
  return { mode: 'worker', ...info, observe: (e) => call('observe', e), rerank: (c, o) => call('rerank', { candidates: c, options: o }), forget: () => call('forget'), events: () => call('events') };
}

const DID = { view: 'viewed', cart: 'added', purchase: 'bought', review: 'reviewed' };

/** "Because you viewed …": the shopper's items that lifted this one most (computed on this device). */
function reasonLine(because, byId) {
  const named = (because ?? []).slice(0, 2).map((b) => `${DID[b.kind]} ${byId.get(b.itemId)?.title ?? b.itemId}`);
  if (!named.length) return null;
  const line = document.createElement('span');
  line.className = 'because';
  line.textContent = `Because you ${named.join(' and ')}`;
  return line;
}

function card(item, label, reason) {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.id = item.id;
  const tags = [item.brand, item.category, ...(item.tags ?? [])].filter((t) => t && t !== 'Unknown');
  li.dataset.tags = tags.join('|');
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = item.title || item.id;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = [...new Set(tags)].slice(0, 3).join(' · ');
  const actions = document.createElement('span');
  actions.className = 'actions';
  for (const [kind, text] of [['view', 'View'], ['cart', 'Add to cart']]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.dataset.kind = kind;
    b.setAttribute('aria-label', `${text}: ${item.title || item.id} (${label})`);
    actions.append(b);
  }
  li.append(title, meta);
  if (reason) li.append(reason);
  li.append(actions);
  return li;
}

async function main() {
  const catalog = await (await fetch('data/catalog.json')).json();
  const byId = new Map(catalog.map((item) => [item.id, item]));
  const popular = catalog.slice(0, POPULAR_POOL); // the shop's own order: most popular first
  const p = await connect();
  $('backend').textContent = p.backend;
  $('model').textContent = p.modelVersion;
  $('mode').textContent = p.mode;

  // What a shop's catalog API sends: id, title, its own score and the item's code.
  const shopCandidates = (items) => items.map((item, i) => ({ id: item.id, code: item.code, title: item.title, score: 1 - i / items.length }));
  const searchItems = () => {
    const q = $('query').value.trim().toLowerCase();
    if (!q) return popular.slice(0, RESULTS);
    const words = q.split(/\s+/);
    const text = (it) => [it.title, it.brand, it.category, ...(it.tags ?? [])].filter(Boolean).join(' ').toLowerCase();
    return catalog.filter((it) => words.every((w) => text(it).includes(w))).slice(0, 200);
  };
  const render = (list, ranked, limit, label) => {
    const shown = ranked.slice(0, limit).filter((r) => byId.has(r.id));
    list.replaceChildren(...shown.map((r) => card(byId.get(r.id), label, reasonLine(r.because, byId))));
  };
  const renderEvents = async () => {
    const events = await p.events();
    $('events').replaceChildren(...events.slice().reverse().map((e) => {
      const li = document.createElement('li');
      li.textContent = `${e.kind}: ${byId.get(e.itemId)?.title ?? e.itemId}`;
      return li;
    }));
  };
  const refresh = async () => {
    // What is already in the cart is not recommended again (it goes last); search keeps it.
    // Each list has its name: a click teaches about the list it came from (on this device).
    const [forYou, results] = await Promise.all([
      p.rerank(shopCandidates(popular), { excludeSeen: ['cart'], explain: FOR_YOU, list: 'for-you' }),
      p.rerank(shopCandidates(searchItems()), { list: 'search' }),
    ]);
    render($('for-you'), forYou, FOR_YOU, 'recommended');
    $('for-you').dataset.ranked = forYou.map((r) => r.id).join(' '); // the whole reranked pool
    render($('results'), results, RESULTS, 'search result');
    await renderEvents();
  };

  document.body.addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-kind]');
    if (!button) return;
    const started = performance.now();
    const id = button.closest('.card').dataset.id;
    const stored = p.observe({ itemId: id, kind: button.dataset.kind, code: byId.get(id)?.code, title: byId.get(id)?.title });
    await refresh();
    const ms = performance.now() - started;
    await stored;
    $('latency').textContent = `${ms.toFixed(1)} ms`;
    document.body.dataset.lastClickMs = ms.toFixed(3);
    document.body.dataset.clicks = String(Number(document.body.dataset.clicks ?? 0) + 1);
  });
  $('forget').addEventListener('click', async () => {
    await p.forget();
    await refresh();
    document.body.dataset.forgotten = '1';
  });
  let typing;
  $('query').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(refresh, 120); });

  // Count requests after start-up that could carry shopper data: any not for a static file
  // of this site. The page makes none; the counter shows it.
  const statics = /\/(pkg\/.*|data\/.*|app\.js|worker\.js|.*\.css|index\.html)?$/;
  new PerformanceObserver((list) => {
    const suspicious = list.getEntries().filter((e) => !(new URL(e.name).origin === location.origin && statics.test(new URL(e.name).pathname)));
    if (suspicious.length) $('egress').textContent = `${suspicious.length} unexpected requests: ${suspicious.map((e) => e.name).join(', ')}`;
  }).observe({ type: 'resource', buffered: true });

  await refresh();
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  console.error(e);
  $('backend').textContent = `error: ${e.message}`;
  document.body.dataset.error = e.message;
});
