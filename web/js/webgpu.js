// The WebGPU scorer: the same arithmetic as the CPU kernel, one shader invocation per
// candidate. Loaded only when WebGPU is asked for and an adapter exists. The model gives
// the packed profile-dependent values (`kernelParams`) and the item table; scores come back
// asynchronously (no synchronous reads on the GPU).

const SHADER = /* wgsl */ `
struct Dims { d: u32, h: u32, count: u32, pad: u32 };
@group(0) @binding(0) var<storage, read> items: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<i32>;
@group(0) @binding(3) var<storage, read> ctx: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> dims: Dims;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= dims.count) { return; }
  let idx = cand[i];
  if (idx < 0) { out[i] = 0.0; return; }
  let d = dims.d;
  let h = dims.h;
  let row = u32(idx) * d;
  let base0 = d;
  let iw0 = d + h;
  let cw0 = iw0 + d * h;
  let ow0 = cw0 + 3u * h;
  let ob = ow0 + h;
  let c0 = ctx[2u * i];
  let c1 = ctx[2u * i + 1u];
  let c2 = log(1.0 + f32(i)) / 8.0;
  var mlp = 0.0;
  for (var j = 0u; j < h; j = j + 1u) {
    var acc = params[base0 + j] + c0 * params[cw0 + j] + c1 * params[cw0 + h + j] + c2 * params[cw0 + 2u * h + j];
    for (var k = 0u; k < d; k = k + 1u) {
      acc = acc + items[row + k] * params[iw0 + k * h + j];
    }
    mlp = mlp + max(acc, 0.0) * params[ow0 + j];
  }
  var dot = 0.0;
  for (var k = 0u; k < d; k = k + 1u) {
    dot = dot + params[k] * items[row + k];
  }
  out[i] = mlp + params[ob] + dot;
}`;

/**
 * A WebGPU scorer for `model`, or null when no adapter is available here (or only a
 * software fallback adapter and `allowFallback` is false).
 */
export async function createWebGpuScorer(model, { allowFallback = true } = {}) {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  if (!allowFallback && (adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter)) return null;
  const device = await adapter.requestDevice();
  const table = model.itemTable();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const items = device.createBuffer({ size: Math.max(16, table.byteLength), usage });
  device.queue.writeBuffer(items, 0, table);
  const module = device.createShaderModule({ code: SHADER });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const d = model.profileLength, h = model.hiddenLength;
  const info = adapter.info ?? {};

  const buffer = (data, extra = 0) => {
    const b = device.createBuffer({ size: Math.max(16, Math.ceil((data.byteLength + extra) / 4) * 4), usage });
    device.queue.writeBuffer(b, 0, data);
    return b;
  };

  return {
    /** `"webgpu"` plus what the adapter says it is (e.g. a software fallback). */
    description: `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`.trim(),
    fallback: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    /**
     * Scores in input order: `indices` (Int32Array, catalog index or -1) with `context`
     * (Float32Array of [score, has score] pairs). Entries with index -1 get 0; the caller
     * scores them on the CPU.
     */
    async score(profile, indices, context) {
      const count = indices.length;
      const params = buffer(model.kernelParams(profile));
      const cand = buffer(indices);
      const ctx = buffer(context);
      const size = Math.max(16, count * 4);
      const out = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const read = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const dims = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(dims, 0, new Uint32Array([d, h, count, 0]));
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [items, params, cand, ctx, out, dims].map((b, binding) => ({ binding, resource: { buffer: b } })),
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
      for (const b of [params, cand, ctx, out, read, dims]) b.destroy();
      return scores;
    },
    destroy() { items.destroy(); device.destroy(); },
  };
}
