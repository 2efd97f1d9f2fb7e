# workerd configuration of the control worker for bench/edge-load.mjs --worker control:
# one module; the bench adds web/examples/edge/config.capnp's v8Flags, so that both run
# with the same engine settings.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  v8Flags = [],
  services = [ (name = "rerank", worker = .control) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "rerank") ],
);

const control :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
);
