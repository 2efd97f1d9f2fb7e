# workerd configuration: the edge reranker on 127.0.0.1 only.
#   npx workerd serve config.capnp            (from a folder holding the files named below)
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  # The same heap ceiling as a Cloudflare Worker isolate (128 MB).
  v8Flags = ["--max-old-space-size=128"],
  services = [ (name = "rerank", worker = .reranker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "rerank") ],
);

const reranker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "index.js", esModule = embed "index.js"),
    (name = "pocketrank_core.js", esModule = embed "pocketrank_core.js"),
    (name = "pocketrank_core_bg.wasm", wasm = embed "pocketrank_core_bg.wasm"),
    (name = "model.pkr", data = embed "model.pkr"),
  ],
  compatibilityDate = "2025-01-01",
);
