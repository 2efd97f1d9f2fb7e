// The WebGPU scorer: the same arithmetic as the CPU kernel, one shader invocation per
// candidate. Loaded only when WebGPU is asked for and an adapter exists. The shader's
// widths and offsets come from the model (`wgslPrelude`, generated from the runtime's
// packed layout), so a model of any width runs and nothing here can drift from the CPU
// kernel; the session gives the packed profile-dependent values (`kernelParams`) and the
// model the item table and the candidates' context features. Scores come back
// asynchronously (no synchronous reads on the GPU).

/**
 * @typedef {object} WebGpuScorer
 * @property {string} description What the adapter says it is.
 * @property {boolean} fallback Whether it is a software fallback adapter.
 * @property {(params: Float32Array, indices: Int32Array, context: Float32Array) => Promise<Float32Array>} score
 *   Scores in input order: `params` from `Session.kernelParams`, `indices` (catalog index
 *   or -1; -1 scores 0, the caller scores those on the CPU) and `context` from
 *   `Model.contextFeatures` (`CONTEXT_FEATURES` values per candidate).
 * @property {() => void} destroy Frees the GPU buffers and the device.
 */

/** @param {string} prelude */
const shader = (prelude) => /* wgsl */ `${prelude}
@group(0) @binding(0) var<storage, read> items: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<i32>;
@group(0) @binding(3) var<storage, read> ctx: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> count: vec4<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= count.x) { return; }
  let idx = cand[i];
  if (idx < 0) { out[i] = 0.0; return; }
  let row = u32(idx) * D;
  let c0 = i * CONTEXT_FEATURES;
  var mlp = 0.0;
  for (var j = 0u; j < H; j = j + 1u) {
    var acc = params[BASE + j];
    for (var c = 0u; c < CONTEXT_FEATURES; c = c + 1u) {
      acc = acc + ctx[c0 + c] * params[CONTEXT_W + c * H + j];
    }
    for (var k = 0u; k < D; k = k + 1u) {
      acc = acc + items[row + k] * params[ITEM_W + k * H + j];
    }
    mlp = mlp + max(acc, 0.0) * params[OUT_W + j];
  }
  var dot = 0.0;
  for (var k = 0u; k < D; k = k + 1u) {
    dot = dot + params[QUERY + k] * items[row + k];
  }
  out[i] = mlp + params[OUT_B] + dot;
}`;

/**
 * A WebGPU scorer for `model`, or null when no adapter is available here (or only a
 * software fallback adapter and `allowFallback` is false).
 * @param {import('./pocketrank_core.js').Model} model
 * @param {{ allowFallback?: boolean }} [options]
 * @returns {Promise<WebGpuScorer | null>}
 */
export async function createWebGpuScorer(model, { allowFallback = true } = {}) {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const fallback = Boolean(/** @type {{ isFallbackAdapter?: boolean }} */ (adapter).isFallbackAdapter ?? /** @type {{ isFallbackAdapter?: boolean }} */ (info).isFallbackAdapter);
  if (!allowFallback && fallback) return null;
  const device = await adapter.requestDevice();
  const table = /** @type {Float32Array<ArrayBuffer>} */ (model.itemTable());
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const items = device.createBuffer({ size: Math.max(16, table.byteLength), usage });
  device.queue.writeBuffer(items, 0, table);
  const module = device.createShaderModule({ code: shader(model.wgslPrelude()) });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });

  /** @param {Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>} data */
  const buffer = (data) => {
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 4) * 4), usage });
    device.queue.writeBuffer(b, 0, data);
    return b;
  };

  return {
    description: `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`.trim(),
    fallback,
    async score(params, indices, context) {
      const count = indices.length;
      const p = buffer(/** @type {Float32Array<ArrayBuffer>} */ (params));
      const cand = buffer(/** @type {Int32Array<ArrayBuffer>} */ (indices));
      const ctx = buffer(/** @type {Float32Array<ArrayBuffer>} */ (context));
      const size = Math.max(16, count * 4);
      const out = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const read = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const dims = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(dims, 0, new Uint32Array([count, 0, 0, 0]));
      try {
        const bind = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [items, p, cand, ctx, out, dims].map((b, binding) => ({ binding, resource: { buffer: b } })),
        });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(Math.max(1, Math.ceil(count / 64)));
        pass.end();
        enc.copyBufferToBuffer(out, 0, read, 0, size);
        device.queue.submit([enc.finish()]);
        await read.mapAsync(GPUMapMode.READ);
        const scores = new Float32Array(read.getMappedRange().slice(0, count * 4));
        read.unmap();
        return scores;
      } finally {
        for (const b of [p, cand, ctx, out, read, dims]) b.destroy();
      }
    },
    destroy() { items.destroy(); device.destroy(); },
  };
}
