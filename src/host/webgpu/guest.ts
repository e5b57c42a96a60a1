/**
 * The `wasmvm_webgpu` import module, guest side (runs inside the engine's worker, next to the guest).
 *
 * Reads the guest's webgpu.h structs (wasm32 layout) with bounds checks, charges gas, and forwards each
 * call as plain data through the synchronous HostBridge to the WebGpuHost in the parent process (method
 * 'webgpu'), which owns the GPU objects. The guest holds the integer handles the host returns.
 * See docs/webgpu.md.
 */
import { randomBytes } from 'node:crypto';
import { HostTrap } from '../errors.ts';
import type { GuestMemory } from '../memory.ts';
import type { HostBridge } from '../types.ts';
import {
  BUFFER_BINDING_TYPES,
  DEFAULT_WEBGPU_LIMITS,
  LAYOUT,
  WEBGPU_GAS,
  WEBGPU_GAS_TABLE_VERSION,
  WEBGPU_MODULE,
  type WebGpuAdapterInfo,
  type WebGpuLimits,
  type WebGpuUsage,
  WGPU,
} from './abi.ts';

export interface WebGpuModuleOptions {
  /** The operator's limits (the host enforces them too). */
  limits?: Partial<WebGpuLimits>;
}

const MAX_LABEL = 1024;
/** Deferred calls sent in one batch at most. */
const MAX_DEFERRED = 256;
const MAX_ENTRY_POINT = 1024;

interface Reply {
  v?: unknown;
  m?: string;
  trap?: string;
  adapter?: WebGpuAdapterInfo;
}

const KINDS: Record<string, string> = {
  Instance: 'instance',
  Adapter: 'adapter',
  Device: 'device',
  Queue: 'queue',
  Buffer: 'buffer',
  ShaderModule: 'shader',
  BindGroupLayout: 'bindGroupLayout',
  PipelineLayout: 'pipelineLayout',
  ComputePipeline: 'pipeline',
  BindGroup: 'bindGroup',
  CommandEncoder: 'encoder',
  ComputePassEncoder: 'pass',
  CommandBuffer: 'commandBuffer',
};

/** The import object's shape: guest-callable functions by name. */
type Imports = Record<string, (...a: never[]) => number | bigint | undefined>;

const L = LAYOUT;
/** A wasm i32 as the unsigned value it stands for. */
const u = (x: number) => x >>> 0;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

export class WebGpuModule {
  private readonly session = randomBytes(16).toString('hex');
  private readonly limits: WebGpuLimits;
  private gasGlobal: WebAssembly.Global | undefined;
  private trapGlobal: WebAssembly.Global | undefined;
  private lastMessage = '';
  private adapter: WebGpuAdapterInfo | undefined;
  private readonly usage = {
    calls: 0,
    dispatches: 0,
    workgroups: 0,
    bytesToGpu: 0,
    bytesFromGpu: 0,
    gas: 0n,
  };

  constructor(
    private readonly mem: GuestMemory,
    private readonly bridge: HostBridge,
    options: WebGpuModuleOptions = {},
  ) {
    this.limits = { ...DEFAULT_WEBGPU_LIMITS, ...(options.limits ?? {}) };
  }

  attach(exports: Record<string, unknown>): void {
    const g = exports.__wasmvm_gas;
    const t = exports.__wasmvm_trap;
    if (g instanceof WebAssembly.Global) this.gasGlobal = g;
    if (t instanceof WebAssembly.Global) this.trapGlobal = t;
  }

  /**
   * Charge gas through the instrumented module's `__wasmvm_gas` global (exact at every host call; the guest
   * reloads it after the call). Not enough gas → the execution stops as `out_of_gas`.
   */
  private charge(n: bigint): void {
    const g = this.gasGlobal;
    if (!g || n <= 0n) return;
    const left = BigInt(g.value as bigint);
    g.value = left - n;
    this.usage.gas += n < left ? n : left > 0n ? left : 0n;
    if (left < n) {
      if (this.trapGlobal) this.trapGlobal.value = 1; // TRAP_GLOBAL_OUT_OF_GAS
      throw new WebAssembly.RuntimeError('out of gas (WebGPU call)');
    }
  }

  /**
   * Calls that return nothing and only record or release (pass encoding, copies, submit, AddRef/Release,
   * pushErrorScope) are queued and sent with the next call that returns something: one bridge round trip
   * instead of many. Their WebGPU errors go to error scopes as usual; a misuse (bad handle) stops the
   * guest at that next call.
   */
  private pending: [op: string, a: unknown[], fn: string][] = [];

  private defer(fn: string, op: string, a: unknown[], gas = 0n): void {
    this.charge(WEBGPU_GAS.call + gas);
    this.usage.calls++;
    this.pending.push([op, a, fn]);
    if (this.pending.length >= MAX_DEFERRED) this.send(fn, 'batch', []);
  }

  private call(fn: string, op: string, a: unknown[], gas = 0n): Reply {
    this.charge(WEBGPU_GAS.call + gas);
    this.usage.calls++;
    return this.send(fn, op, a);
  }

  private send(fn: string, op: string, a: unknown[]): Reply {
    let r: Reply;
    try {
      if (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        if (op !== 'batch') batch.push([op, a, fn]);
        r = (this.bridge.call('webgpu', { s: this.session, op: 'batch', a: batch }) ?? {}) as Reply;
      } else if (op === 'batch') return {};
      else r = (this.bridge.call('webgpu', { s: this.session, op, a }) ?? {}) as Reply;
    } catch (e) {
      if (e instanceof HostTrap) throw new HostTrap(`${WEBGPU_MODULE}.${fn}: ${e.message}`);
      throw new HostTrap(`${WEBGPU_MODULE}.${fn}: host bridge: ${(e as Error).message}`);
    }
    if (r.trap !== undefined) throw new HostTrap(`${WEBGPU_MODULE}.${fn}: ${r.trap}`);
    if (r.m !== undefined) this.lastMessage = r.m;
    if (r.adapter) this.adapter = r.adapter;
    return r;
  }

  private handle(fn: string, op: string, a: unknown[], gas = 0n): number {
    const v = this.call(fn, op, a, gas).v;
    return typeof v === 'number' ? v | 0 : 0;
  }

  private u32(ptr: number, what: string): number {
    return this.mem.getU32(ptr >>> 0, what);
  }

  private u64(ptr: number, what: string): bigint {
    return this.mem.getU64(ptr >>> 0, what);
  }

  /** A WGPUStringView at ptr: undefined for {NULL, WGPU_STRLEN} / {NULL, 0}; bounded by max. */
  private stringView(ptr: number, what: string, max: number): string | undefined | { tooLong: number } {
    const data = this.u32(ptr, what);
    const len = this.u32(ptr + 4, what);
    if (data === 0) {
      if (len === 0 || len === WGPU.STRLEN) return undefined;
      throw new HostTrap(`${what}: NULL data with length ${len}`);
    }
    if (len === WGPU.STRLEN) {
      const size = this.mem.size();
      if (data >= size)
        throw new HostTrap(`${what}: pointer ${data} is outside linear memory (${size} bytes)`);
      const view = this.mem.bytes(data, Math.min(size - data, max + 1), what);
      const nul = view.indexOf(0);
      if (nul < 0) {
        if (view.length > max) return { tooLong: max + 1 };
        throw new HostTrap(`${what}: string at ${data} is not NUL-terminated inside linear memory`);
      }
      return dec.decode(view.subarray(0, nul));
    }
    this.mem.check(data, len, what);
    if (len > max) return { tooLong: len };
    return dec.decode(this.mem.bytes(data, len, what));
  }

  private label(descPtr: number, offset: number, what: string): string | undefined {
    if (descPtr === 0) return undefined;
    const l = this.stringView(descPtr + offset, `${what} label`, MAX_LABEL);
    if (typeof l === 'object') throw new HostTrap(`${what} label: longer than ${MAX_LABEL} bytes`);
    return l;
  }

  private count(n: number, what: string): number {
    if (n > this.limits.maxEntries)
      throw new HostTrap(`${what}: ${n} entries (the limit is ${this.limits.maxEntries})`);
    return n;
  }

  /** The usage record for ExecuteResult.webgpu (undefined when the guest never called WebGPU). */
  usageRecord(): WebGpuUsage | undefined {
    if (this.usage.calls === 0) return undefined;
    const u: WebGpuUsage = {
      adapter: this.adapter ?? {
        vendor: '',
        architecture: '',
        device: '',
        description: '',
        backend: 'none',
        featureLevel: 'core',
      },
      calls: this.usage.calls,
      dispatches: this.usage.dispatches,
      workgroups: this.usage.workgroups,
      bytesToGpu: this.usage.bytesToGpu,
      bytesFromGpu: this.usage.bytesFromGpu,
      gasTableVersion: WEBGPU_GAS_TABLE_VERSION,
    };
    if (this.gasGlobal) u.gas = this.usage.gas.toString();
    return u;
  }

  /** Destroy everything this execution created (called when the execution ends). */
  end(): void {
    if (this.usage.calls === 0) return;
    try {
      this.bridge.call('webgpu', { s: this.session, op: 'end', a: [] });
    } catch {
      // the host's idle sweep destroys the session anyway
    }
  }

  imports(): Imports {
    return {
      ...this.refcountImports(),
      ...this.adapterDeviceImports(),
      ...this.bufferImports(),
      ...this.queueImports(),
      ...this.shaderPipelineImports(),
      ...this.bindingImports(),
      ...this.commandImports(),
      ...this.errorImports(),
    };
  }

  /** wgpu*AddRef and wgpu*Release of every object kind (deferred). */
  private refcountImports(): Imports {
    const im: Imports = {};
    for (const [name, kind] of Object.entries(KINDS)) {
      im[`wgpu${name}AddRef`] = ((h: number) => {
        this.defer(`wgpu${name}AddRef`, 'addRef', [kind, u(h)]);
        return undefined;
      }) as never;
      im[`wgpu${name}Release`] = ((h: number) => {
        this.defer(`wgpu${name}Release`, 'release', [kind, u(h)]);
        return undefined;
      }) as never;
    }
    return im;
  }

  /** Instance, adapter and device: creation, adapter info, device destroy and queue. */
  private adapterDeviceImports(): Imports {
    return {
      wgpuCreateInstance: (_desc: number) => this.handle('wgpuCreateInstance', 'createInstance', []),
      wasmvmInstanceRequestAdapterSync: (inst: number, _opts: number) =>
        this.handle('wgpuInstanceRequestAdapter', 'requestAdapter', [u(inst)]),
      wasmvmAdapterInfoField: (adapter: number, field: number, out: number, cap: number) => {
        const v = String(this.call('wasmvmAdapterInfoField', 'adapterInfo', [u(adapter), u(field)]).v ?? '');
        return this.copyOut(enc.encode(v), out, cap, 'wasmvmAdapterInfoField');
      },
      wasmvmAdapterRequestDeviceSync: (adapter: number, desc: number) => {
        const d = L.deviceDescriptor;
        const label = this.label(u(desc), d.label, 'WGPUDeviceDescriptor');
        const features = desc ? this.u32(u(desc) + d.requiredFeatureCount, 'WGPUDeviceDescriptor') : 0;
        return this.handle('wgpuAdapterRequestDevice', 'requestDevice', [u(adapter), label, features]);
      },
      wgpuDeviceDestroy: (dev: number) => {
        this.call('wgpuDeviceDestroy', 'destroyDevice', [u(dev)]);
        return undefined;
      },
      wgpuDeviceGetQueue: (dev: number) => this.handle('wgpuDeviceGetQueue', 'getQueue', [u(dev)]),
    };
  }

  /** Buffers: creation, size/usage/map state, destroy, synchronous map, mapped reads and writes, unmap. */
  private bufferImports(): Imports {
    return {
      wgpuDeviceCreateBuffer: (dev: number, desc: number) => {
        const p = u(desc);
        const d = L.bufferDescriptor;
        this.mem.check(p, 40, 'WGPUBufferDescriptor');
        const label = this.label(p, d.label, 'WGPUBufferDescriptor');
        const usage = this.u64(p + d.usage, 'WGPUBufferDescriptor');
        const size = this.u64(p + d.size, 'WGPUBufferDescriptor');
        const mapped = this.u32(p + d.mappedAtCreation, 'WGPUBufferDescriptor');
        const gas =
          size < BigInt(this.limits.maxBufferBytes) ? (size / 64n) * WEBGPU_GAS.per64BytesAllocated : 0n;
        return this.handle(
          'wgpuDeviceCreateBuffer',
          'createBuffer',
          [u(dev), label, usage, size, mapped],
          gas,
        );
      },
      wgpuBufferGetSize: (b: number) => {
        const v = this.call('wgpuBufferGetSize', 'bufferSize', [u(b)]).v;
        return typeof v === 'bigint' ? v : 0n;
      },
      wgpuBufferGetUsage: (b: number) => {
        const v = this.call('wgpuBufferGetUsage', 'bufferUsage', [u(b)]).v;
        return typeof v === 'bigint' ? v : 0n;
      },
      wgpuBufferGetMapState: (b: number) => this.handle('wgpuBufferGetMapState', 'bufferMapState', [u(b)]),
      wgpuBufferDestroy: (b: number) => {
        this.call('wgpuBufferDestroy', 'bufferDestroy', [u(b)]);
        return undefined;
      },
      wasmvmBufferMapSync: (b: number, mode: bigint, offset: number, size: number) =>
        this.handle('wgpuBufferMapAsync', 'bufferMap', [
          u(b),
          Number(BigInt.asUintN(32, mode)),
          u(offset),
          u(size),
        ]),
      wasmvmBufferReadMapped: (b: number, offset: number, out: number, size: number) => {
        this.mem.check(out, size, 'wasmvmBufferReadMapped out');
        const n = u(size);
        const r = this.call(
          'wasmvmBufferReadMapped',
          'bufferRead',
          [u(b), u(offset), n],
          BigInt(Math.ceil(n / 4)) * WEBGPU_GAS.per4Bytes,
        );
        if (!(r.v instanceof Uint8Array)) return typeof r.v === 'number' ? r.v : WGPU.STATUS_ERROR;
        this.mem.write(out, r.v, 'wasmvmBufferReadMapped out');
        this.usage.bytesFromGpu += r.v.length;
        return WGPU.STATUS_SUCCESS;
      },
      wasmvmBufferWriteMapped: (b: number, offset: number, src: number, size: number) => {
        this.mem.check(src, size, 'wasmvmBufferWriteMapped data');
        if (u(size) > this.limits.maxBufferBytes) {
          this.lastMessage = `write of ${u(size)} bytes is larger than any buffer may be`;
          return WGPU.STATUS_ERROR;
        }
        const data = this.mem.read(src, size, 'wasmvmBufferWriteMapped data');
        const v = this.handle(
          'wasmvmBufferWriteMapped',
          'bufferWrite',
          [u(b), u(offset), data],
          BigInt(Math.ceil(data.length / 4)) * WEBGPU_GAS.per4Bytes,
        );
        if (v === WGPU.STATUS_SUCCESS) this.usage.bytesToGpu += data.length;
        return v;
      },
      wasmvmBufferUnmap: (b: number) => {
        this.call('wgpuBufferUnmap', 'bufferUnmap', [u(b)]);
        return undefined;
      },
    };
  }

  /** The queue: buffer writes, submit, wait for idle. */
  private queueImports(): Imports {
    return {
      wgpuQueueWriteBuffer: (q: number, b: number, offset: bigint, src: number, size: number) => {
        this.mem.check(src, size, 'wgpuQueueWriteBuffer data');
        if (u(size) > this.limits.maxBufferBytes) {
          // larger than any buffer may be: refused without copying it (a validation error for the guest)
          this.call('wgpuQueueWriteBuffer', 'queueWrite', [u(q), u(b), offset, { tooLarge: u(size) }]);
          return undefined;
        }
        const data = this.mem.read(src, size, 'wgpuQueueWriteBuffer data');
        this.call(
          'wgpuQueueWriteBuffer',
          'queueWrite',
          [u(q), u(b), offset, data],
          BigInt(Math.ceil(data.length / 4)) * WEBGPU_GAS.per4Bytes,
        );
        this.usage.bytesToGpu += data.length;
        return undefined;
      },
      wgpuQueueSubmit: (q: number, count: number, ptr: number) => {
        const n = this.count(u(count), 'wgpuQueueSubmit commandCount');
        this.mem.check(ptr, n * 4, 'wgpuQueueSubmit commands');
        const list: number[] = [];
        for (let i = 0; i < n; i++) list.push(this.u32(u(ptr) + 4 * i, 'wgpuQueueSubmit commands'));
        this.defer('wgpuQueueSubmit', 'queueSubmit', [u(q), list]);
        return undefined;
      },
      wasmvmQueueWaitIdleSync: (q: number) =>
        this.handle('wgpuQueueOnSubmittedWorkDone', 'queueWait', [u(q)]),
    };
  }

  /** Shader modules and compute pipelines (WGSL only; entry point and override constants). */
  private shaderPipelineImports(): Imports {
    return {
      wgpuDeviceCreateShaderModule: (dev: number, desc: number) => {
        const p = u(desc);
        this.mem.check(p, 12, 'WGPUShaderModuleDescriptor');
        const label = this.label(p, L.shaderModuleDescriptor.label, 'WGPUShaderModuleDescriptor');
        const chain = this.u32(p, 'WGPUShaderModuleDescriptor.nextInChain');
        if (chain === 0)
          throw new HostTrap('wgpuDeviceCreateShaderModule: no WGPUShaderSourceWGSL in nextInChain');
        const sType = this.u32(chain + 4, 'WGPUChainedStruct.sType');
        if (sType !== WGPU.STYPE_SHADER_SOURCE_WGSL) {
          this.lastMessage = `only WGSL shader sources are supported (sType ${sType})`;
          return this.handle('wgpuDeviceCreateShaderModule', 'createShaderModule', [
            u(dev),
            label,
            { unsupported: sType },
          ]);
        }
        const code = this.stringView(
          chain + L.shaderSourceWGSL.code,
          'WGPUShaderSourceWGSL.code',
          this.limits.maxShaderBytes,
        );
        const bytes = typeof code === 'string' ? code.length : 0;
        return this.handle(
          'wgpuDeviceCreateShaderModule',
          'createShaderModule',
          [u(dev), label, code ?? ''],
          BigInt(bytes) * WEBGPU_GAS.perShaderByte,
        );
      },
      wgpuDeviceCreateComputePipeline: (dev: number, desc: number) => {
        const p = u(desc);
        const d = L.computePipelineDescriptor;
        const c = p + d.compute;
        const C = L.computeState;
        this.mem.check(p, 40, 'WGPUComputePipelineDescriptor');
        const label = this.label(p, d.label, 'WGPUComputePipelineDescriptor');
        const layout = this.u32(p + d.layout, 'WGPUComputePipelineDescriptor');
        const module = this.u32(c + C.module, 'WGPUComputeState');
        const ep = this.stringView(c + C.entryPoint, 'WGPUComputeState.entryPoint', MAX_ENTRY_POINT);
        if (typeof ep === 'object') throw new HostTrap('WGPUComputeState.entryPoint: too long');
        const nc = this.count(this.u32(c + C.constantCount, 'WGPUComputeState'), 'constantCount');
        const cbase = this.u32(c + C.constants, 'WGPUComputeState');
        const K = L.constantEntry;
        this.mem.check(cbase, nc * K.size, 'WGPUComputeState.constants');
        const constants: [string, number][] = [];
        for (let i = 0; i < nc; i++) {
          const e = cbase + i * K.size;
          const key = this.stringView(e + K.key, 'WGPUConstantEntry.key', MAX_ENTRY_POINT);
          if (typeof key !== 'string') throw new HostTrap('WGPUConstantEntry.key: missing or too long');
          const bits = this.u64(e + K.value, 'WGPUConstantEntry.value');
          const f = new Float64Array(new BigUint64Array([bits]).buffer)[0]!;
          constants.push([key, f]);
        }
        return this.handle(
          'wgpuDeviceCreateComputePipeline',
          'createComputePipeline',
          [u(dev), label, layout, module, ep, constants],
          WEBGPU_GAS.pipeline,
        );
      },
      wgpuComputePipelineGetBindGroupLayout: (pl: number, index: number) =>
        this.handle('wgpuComputePipelineGetBindGroupLayout', 'pipelineGetBindGroupLayout', [u(pl), u(index)]),
    };
  }

  /** Bindings: bind group layouts (buffer bindings), pipeline layouts and bind groups. */
  private bindingImports(): Imports {
    return {
      wgpuDeviceCreateBindGroupLayout: (dev: number, desc: number) => {
        const p = u(desc);
        const d = L.bindGroupLayoutDescriptor;
        this.mem.check(p, 20, 'WGPUBindGroupLayoutDescriptor');
        const label = this.label(p, d.label, 'WGPUBindGroupLayoutDescriptor');
        const n = this.count(this.u32(p + d.entryCount, 'WGPUBindGroupLayoutDescriptor'), 'entryCount');
        const base = this.u32(p + d.entries, 'WGPUBindGroupLayoutDescriptor');
        const E = L.bindGroupLayoutEntry;
        this.mem.check(base, n * E.size, 'WGPUBindGroupLayoutDescriptor.entries');
        const entries: Record<string, unknown>[] = [];
        for (let i = 0; i < n; i++) {
          const e = base + i * E.size;
          const what = 'WGPUBindGroupLayoutEntry';
          const entry: Record<string, unknown> = {
            binding: this.u32(e + E.binding, what),
            visibility: Number(BigInt.asUintN(32, this.u64(e + E.visibility, what))),
          };
          const bt = this.u32(e + E.bufferType, what);
          if (bt !== 0) {
            const type = BUFFER_BINDING_TYPES[bt];
            entry.buffer = {
              ...(type ? { type } : { type: `invalid(${bt})` }),
              hasDynamicOffset: this.u32(e + E.hasDynamicOffset, what) !== 0,
              minBindingSize: Number(this.u64(e + E.minBindingSize, what)),
            };
          }
          entries.push(entry);
        }
        return this.handle('wgpuDeviceCreateBindGroupLayout', 'createBindGroupLayout', [
          u(dev),
          label,
          entries,
        ]);
      },
      wgpuDeviceCreatePipelineLayout: (dev: number, desc: number) => {
        const p = u(desc);
        const d = L.pipelineLayoutDescriptor;
        this.mem.check(p, 24, 'WGPUPipelineLayoutDescriptor');
        const label = this.label(p, d.label, 'WGPUPipelineLayoutDescriptor');
        const n = this.count(this.u32(p + d.count, 'WGPUPipelineLayoutDescriptor'), 'bindGroupLayoutCount');
        const base = this.u32(p + d.layouts, 'WGPUPipelineLayoutDescriptor');
        this.mem.check(base, n * 4, 'WGPUPipelineLayoutDescriptor.bindGroupLayouts');
        const layouts: number[] = [];
        for (let i = 0; i < n; i++) layouts.push(this.u32(base + 4 * i, 'bindGroupLayouts'));
        return this.handle('wgpuDeviceCreatePipelineLayout', 'createPipelineLayout', [
          u(dev),
          label,
          layouts,
        ]);
      },
      wgpuDeviceCreateBindGroup: (dev: number, desc: number) => {
        const p = u(desc);
        const d = L.bindGroupDescriptor;
        this.mem.check(p, 24, 'WGPUBindGroupDescriptor');
        const label = this.label(p, d.label, 'WGPUBindGroupDescriptor');
        const layout = this.u32(p + d.layout, 'WGPUBindGroupDescriptor');
        const n = this.count(this.u32(p + d.entryCount, 'WGPUBindGroupDescriptor'), 'entryCount');
        const base = this.u32(p + d.entries, 'WGPUBindGroupDescriptor');
        const E = L.bindGroupEntry;
        this.mem.check(base, n * E.sizeOf, 'WGPUBindGroupDescriptor.entries');
        const entries: { binding: number; buffer: number; offset: bigint; size: bigint }[] = [];
        for (let i = 0; i < n; i++) {
          const e = base + i * E.sizeOf;
          const what = 'WGPUBindGroupEntry';
          if (this.u32(e + E.sampler, what) !== 0 || this.u32(e + E.textureView, what) !== 0)
            throw new HostTrap(
              'WGPUBindGroupEntry: samplers and texture views are not part of the compute subset',
            );
          entries.push({
            binding: this.u32(e + E.binding, what),
            buffer: this.u32(e + E.buffer, what),
            offset: this.u64(e + E.offset, what),
            size: this.u64(e + E.size, what),
          });
        }
        return this.handle('wgpuDeviceCreateBindGroup', 'createBindGroup', [u(dev), label, layout, entries]);
      },
    };
  }

  /** Command encoding: encoders, compute passes, copies and clears, dispatches (recorded, deferred). */
  private commandImports(): Imports {
    return {
      wgpuDeviceCreateCommandEncoder: (dev: number, desc: number) =>
        this.handle('wgpuDeviceCreateCommandEncoder', 'createCommandEncoder', [
          u(dev),
          this.label(u(desc), L.labelOnlyDescriptor.label, 'WGPUCommandEncoderDescriptor'),
        ]),
      wgpuCommandEncoderBeginComputePass: (e: number, desc: number) => {
        if (
          desc &&
          this.u32(u(desc) + L.computePassDescriptor.timestampWrites, 'WGPUComputePassDescriptor') !== 0
        )
          throw new HostTrap(
            'WGPUComputePassDescriptor.timestampWrites: timestamp queries are not supported',
          );
        return this.handle('wgpuCommandEncoderBeginComputePass', 'beginComputePass', [
          u(e),
          this.label(u(desc), L.computePassDescriptor.label, 'WGPUComputePassDescriptor'),
        ]);
      },
      wgpuCommandEncoderCopyBufferToBuffer: (
        e: number,
        src: number,
        so: bigint,
        dst: number,
        dO: bigint,
        size: bigint,
      ) => {
        this.defer('wgpuCommandEncoderCopyBufferToBuffer', 'copyBufferToBuffer', [
          u(e),
          u(src),
          so,
          u(dst),
          dO,
          size,
        ]);
        return undefined;
      },
      wgpuCommandEncoderClearBuffer: (e: number, b: number, off: bigint, size: bigint) => {
        this.defer('wgpuCommandEncoderClearBuffer', 'clearBuffer', [u(e), u(b), off, size]);
        return undefined;
      },
      wgpuCommandEncoderFinish: (e: number, desc: number) =>
        this.handle('wgpuCommandEncoderFinish', 'finish', [
          u(e),
          this.label(u(desc), L.labelOnlyDescriptor.label, 'WGPUCommandBufferDescriptor'),
        ]),
      wgpuComputePassEncoderSetPipeline: (pass: number, pl: number) => {
        this.defer('wgpuComputePassEncoderSetPipeline', 'setPipeline', [u(pass), u(pl)]);
        return undefined;
      },
      wgpuComputePassEncoderSetBindGroup: (
        pass: number,
        index: number,
        g: number,
        count: number,
        ptr: number,
      ) => {
        const n = this.count(u(count), 'dynamicOffsetCount');
        this.mem.check(ptr, n * 4, 'wgpuComputePassEncoderSetBindGroup dynamicOffsets');
        const offsets: number[] = [];
        for (let i = 0; i < n; i++) offsets.push(this.u32(u(ptr) + 4 * i, 'dynamicOffsets'));
        this.defer('wgpuComputePassEncoderSetBindGroup', 'setBindGroup', [u(pass), u(index), u(g), offsets]);
        return undefined;
      },
      wgpuComputePassEncoderDispatchWorkgroups: (pass: number, x: number, y: number, z: number) => {
        const wg = BigInt(u(x)) * BigInt(u(y)) * BigInt(u(z));
        const capped = wg > BigInt(this.limits.maxWorkgroupsPerDispatch) ? 0n : wg;
        this.defer(
          'wgpuComputePassEncoderDispatchWorkgroups',
          'dispatch',
          [u(pass), u(x), u(y), u(z)],
          capped * WEBGPU_GAS.perWorkgroup,
        );
        // the host refuses exactly the dispatches over the limit (capped = 0)
        if (capped > 0n || wg === 0n) {
          this.usage.dispatches++;
          this.usage.workgroups += Number(wg);
        }
        return undefined;
      },
      wgpuComputePassEncoderEnd: (pass: number) => {
        this.defer('wgpuComputePassEncoderEnd', 'passEnd', [u(pass)]);
        return undefined;
      },
    };
  }

  /** Errors: error scopes, uncaptured errors, and the last message of a failed call. */
  private errorImports(): Imports {
    return {
      wgpuDevicePushErrorScope: (dev: number, filter: number) => {
        this.defer('wgpuDevicePushErrorScope', 'pushErrorScope', [u(dev), u(filter)]);
        return undefined;
      },
      wasmvmDevicePopErrorScopeSync: (dev: number) =>
        this.handle('wgpuDevicePopErrorScope', 'popErrorScope', [u(dev)]),
      wasmvmDeviceTakeUncapturedError: (dev: number) =>
        this.handle('wasmvmDeviceTakeUncapturedError', 'takeUncaptured', [u(dev)]),
      wasmvmLastMessage: (out: number, cap: number) => {
        if (this.pending.length > 0) this.send('wasmvmLastMessage', 'batch', []);
        return this.copyOut(enc.encode(this.lastMessage), out, cap, 'wasmvmLastMessage');
      },
    };
  }

  /** Copy up to cap bytes of data to out (bounds-checked); return the full length. */
  private copyOut(data: Uint8Array, out: number, cap: number, what: string): number {
    const c = cap >>> 0;
    if (c > 0) {
      const n = Math.min(c, data.length);
      this.mem.check(out, n, what);
      this.mem.write(out, data.subarray(0, n), what);
    }
    return data.length;
  }
}

/** Names of every import the module provides (docs/webgpu.md lists them). */
export function webgpuImportNames(): string[] {
  const m = new WebGpuModule({ getU32: () => 0 } as unknown as GuestMemory, { call: () => ({}) });
  return Object.keys(m.imports()).sort();
}
