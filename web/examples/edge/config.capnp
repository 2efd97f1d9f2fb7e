# workerd configuration: the edge reranker on 127.0.0.1 only.
#   npx workerd serve config.capnp            (from a folder holding the files named below)
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  # --max-old-space-size: V8's old generation — the JavaScript heap, not WebAssembly
  # memory — is capped at 128 MB, the memory limit of a Cloudflare Worker isolate (where
  # that limit also counts the module's WebAssembly memory). Past it V8 aborts the whole
  # workerd process ("Reached heap limit"), where Cloudflare would end the isolate.
  # bench/edge-heap-cap.mjs checks both.
  # --initial-old-space-size, --optimize-for-size: workerd frees each request's native
  # objects (request, response, headers) only in a full V8 collection, and under steady load
  # V8's default limits put the first one minutes away: at 200 requests/s the process grew
  # to ~300 MB before it, and stayed there. With these two a full collection runs every
  # ~20 s from the start (a 35–75 ms pause) and the process stays near 115 MB;
  # bench/edge-load.mjs --trace-gc shows the collections.
  v8Flags = ["--max-old-space-size=128", "--initial-old-space-size=8", "--optimize-for-size"],
  services = [ (name = "rerank", worker = .reranker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "rerank") ],
);

const reranker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "errors.js", esModule = embed "errors.js"),
    (name = "index.js", esModule = embed "index.js"),
    (name = "pocketrank_core.js", esModule = embed "pocketrank_core.js"),
    (name = "pocketrank_core_bg.wasm", wasm = embed "pocketrank_core_bg.wasm"),
    (name = "model.pkr", data = embed "model.pkr"),
  ],
  compatibilityDate = "2025-01-01",
);
