# workerd configuration of the control worker for bench/edge-load.mjs --worker control:
# the same engine settings as web/examples/edge/config.capnp, one module.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  v8Flags = ["--max-old-space-size=128"],
  services = [ (name = "rerank", worker = .control) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "rerank") ],
);

const control :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
);
