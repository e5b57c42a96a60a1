/**
 * The WebGPU host (parent side): owns Dawn (npm `webgpu`), one adapter, and one session per execution.
 * The guest's worker calls `handle({s, op, a})` through the engine's synchronous host bridge; the
 * worker blocks in Atomics.wait while this async code awaits Dawn (mapAsync, onSubmittedWorkDone,
 * popErrorScope), so every asynchronous WebGPU operation is synchronous for the guest.
 *
 * Objects live here; the guest holds per-session integer handles (never host pointers). Every
 * handle is checked for its kind; everything a session created is destroyed at its end
 * (`op: 'end'`, sent by the worker when the execution finishes) or when it has been idle for
 * `sessionIdleMs` (an execution killed at its deadline never says goodbye).
 */

import { randomBytes } from 'node:crypto';
import { HostError } from '../errors.ts';
import {
  DEFAULT_WEBGPU_LIMITS,
  ERROR_FILTERS,
  type WebGpuAdapterInfo,
  type WebGpuLimits,
  WGPU,
} from './abi.ts';

// Minimal structural types of the parts of WebGPU (Dawn's node bindings) used here.
// biome-ignore lint/suspicious/noExplicitAny: Dawn objects are untyped here (no DOM lib in tsconfig).
type Any = any;

export type WebGpuBackend = 'auto' | 'default' | 'opengles' | 'vulkan' | 'metal' | 'd3d12' | 'null';

export interface WebGpuHostOptions {
  /** Dawn backend: 'auto' (default: Dawn's choice, then OpenGL ES in compatibility mode). */
  backend?: WebGpuBackend;
  limits?: Partial<WebGpuLimits>;
  /** A session with no call for this long is destroyed (default 10 min). */
  sessionIdleMs?: number;
}

export class WebGpuUnavailableError extends HostError<'WEBGPU_UNAVAILABLE'> {
  constructor(message: string) {
    super('WEBGPU_UNAVAILABLE', message);
  }
}

/** Errors the guest caused by misuse (bad handle, wrong kind): the worker traps the guest. */
class GuestMisuse extends HostError<'WEBGPU_GUEST_MISUSE'> {
  constructor(message: string) {
    super('WEBGPU_GUEST_MISUSE', message);
  }
}

/** An operator limit reached while creating an object: an out-of-memory error for the guest's device. */
class LimitError extends HostError<'WEBGPU_LIMIT'> {
  constructor(message: string) {
    super('WEBGPU_LIMIT', message);
  }
}

type Kind =
  | 'instance'
  | 'adapter'
  | 'device'
  | 'queue'
  | 'buffer'
  | 'shader'
  | 'bindGroupLayout'
  | 'pipelineLayout'
  | 'pipeline'
  | 'bindGroup'
  | 'encoder'
  | 'pass'
  | 'commandBuffer';

const KIND_NAME: Record<Kind, string> = {
  instance: 'WGPUInstance',
  adapter: 'WGPUAdapter',
  device: 'WGPUDevice',
  queue: 'WGPUQueue',
  buffer: 'WGPUBuffer',
  shader: 'WGPUShaderModule',
  bindGroupLayout: 'WGPUBindGroupLayout',
  pipelineLayout: 'WGPUPipelineLayout',
  pipeline: 'WGPUComputePipeline',
  bindGroup: 'WGPUBindGroup',
  encoder: 'WGPUCommandEncoder',
  pass: 'WGPUComputePassEncoder',
  commandBuffer: 'WGPUCommandBuffer',
};

interface DeviceState {
  device: Any;
  /** Shadow of the error-scope stack: errors the host raised itself (operator limits) per scope. */
  scopes: { filter: string; error?: { type: number; message: string } }[];
  /** Errors no scope captured, oldest first (bounded). */
  uncaptured: { type: number; message: string }[];
  lost?: string;
}

interface Obj {
  kind: Kind;
  o: Any;
  refs: number;
  dev?: DeviceState;
  /** buffers: bytes accounted against maxTotalBufferBytes; mapping state. */
  bytes?: number;
  size?: number;
  usage?: number;
  destroyed?: boolean;
  mapped?: { offset: number; data: Uint8Array; mode: number };
}

interface Session {
  id: string;
  objects: Map<number, Obj>;
  next: number;
  bufferBytes: number;
  devices: number;
  lastUsed: number;
  /** serializes the session's calls (one guest thread; defensive) */
  busy: Promise<unknown>;
}

/** The request the worker sends through the bridge. */
export interface WebGpuCall {
  s: string;
  op: string;
  a?: unknown[];
}

/** The reply: v = value, m = message for wasmvmLastMessage, trap = guest misuse (the guest is stopped). */
export interface WebGpuReply {
  v?: unknown;
  m?: string;
  trap?: string;
  adapter?: WebGpuAdapterInfo;
}

const MAX_UNCAPTURED = 64;
const MAX_MESSAGE = 4096;

const errType = (e: Any): number => {
  const n = e?.constructor?.name ?? '';
  if (n === 'GPUValidationError') return WGPU.ERROR_VALIDATION;
  if (n === 'GPUOutOfMemoryError') return WGPU.ERROR_OUT_OF_MEMORY;
  if (n === 'GPUInternalError') return WGPU.ERROR_INTERNAL;
  return WGPU.ERROR_UNKNOWN;
};
const clip = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 3)}...` : s);

const num = (v: unknown, what: string): number => {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GuestMisuse(`${what}: ${v} is out of range`);
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GuestMisuse(`${what}: not a number`);
  return v;
};

let dawnModule: Promise<{ create: (flags: string[]) => Any; globals: Any }> | undefined;
function loadDawn() {
  if (!dawnModule) {
    // Mesa's EGL needs a platform without a display server (CPU GL ES in CI; harmless elsewhere).
    process.env.EGL_PLATFORM ??= 'surfaceless';
    dawnModule = import('webgpu') as Promise<{ create: (flags: string[]) => Any; globals: Any }>;
  }
  return dawnModule;
}

/** Open Dawn and pick an adapter. Throws WebGpuUnavailableError with the reason. */
async function openAdapter(backend: WebGpuBackend): Promise<{
  gpu: Any;
  adapter: Any;
  info: WebGpuAdapterInfo;
  globals: Any;
  options: Record<string, unknown>;
}> {
  let dawn: Awaited<ReturnType<typeof loadDawn>>;
  try {
    dawn = await loadDawn();
  } catch (e) {
    throw new WebGpuUnavailableError(`the 'webgpu' package (Dawn) cannot be loaded: ${(e as Error).message}`);
  }
  const tries: {
    flags: string[];
    opts: Record<string, unknown>;
    name: string;
    level: 'core' | 'compatibility';
  }[] = [];
  if (backend === 'auto' || backend === 'default')
    tries.push({ flags: [], opts: { powerPreference: 'high-performance' }, name: 'default', level: 'core' });
  if (backend === 'auto' || backend === 'opengles')
    tries.push({
      flags: ['backend=opengles'],
      opts: { featureLevel: 'compatibility' },
      name: 'opengles',
      level: 'compatibility',
    });
  if (!['auto', 'default', 'opengles'].includes(backend))
    tries.push({ flags: [`backend=${backend}`], opts: {}, name: backend, level: 'core' });
  const reasons: string[] = [];
  for (const t of tries) {
    try {
      const gpu = dawn.create(t.flags);
      const adapter = await gpu.requestAdapter(t.opts);
      if (!adapter) {
        reasons.push(`${t.name}: no adapter`);
        continue;
      }
      const i = adapter.info ?? {};
      const info: WebGpuAdapterInfo = {
        vendor: String(i.vendor ?? ''),
        architecture: String(i.architecture ?? ''),
        device: String(i.device ?? ''),
        description: String(i.description ?? ''),
        backend: t.name,
        featureLevel: t.level,
      };
      return { gpu, adapter, info, globals: dawn.globals, options: t.opts };
    } catch (e) {
      reasons.push(`${t.name}: ${(e as Error).message}`);
    }
  }
  throw new WebGpuUnavailableError(`no WebGPU adapter (${reasons.join('; ')})`);
}

/** Whether a WebGPU adapter can be created here, and which (for detect_tee, tests, GetServerInfo). */
export async function probeWebGpu(
  backend: WebGpuBackend = 'auto',
): Promise<{ available: true; adapter: WebGpuAdapterInfo } | { available: false; reason: string }> {
  try {
    const { info } = await openAdapter(backend);
    return { available: true, adapter: info };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

/** One op of the bridge protocol (`dispatch` looks it up by name). */
type OpHandler = (this: WebGpuHost, s: Session, a: unknown[]) => WebGpuReply | Promise<WebGpuReply>;

export class WebGpuHost {
  readonly limits: WebGpuLimits;
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private adapterOptions: Record<string, unknown> = {};

  /** Each op the worker sends, and its handler (a method below). */
  private readonly ops = new Map<string, OpHandler>([
    ['end', this.opEnd],
    ['addRef', this.opAddRef],
    ['release', this.opRelease],
    ['createInstance', this.opCreateInstance],
    ['requestAdapter', this.opRequestAdapter],
    ['adapterInfo', this.opAdapterInfo],
    ['requestDevice', this.opRequestDevice],
    ['destroyDevice', this.opDestroyDevice],
    ['getQueue', this.opGetQueue],
    ['createBuffer', this.opCreateBuffer],
    ['bufferSize', this.opBufferSize],
    ['bufferUsage', this.opBufferUsage],
    ['bufferMapState', this.opBufferMapState],
    ['bufferDestroy', this.opBufferDestroy],
    ['bufferMap', this.opBufferMap],
    ['bufferRead', this.opBufferRead],
    ['bufferWrite', this.opBufferWrite],
    ['bufferUnmap', this.opBufferUnmap],
    ['queueWrite', this.opQueueWrite],
    ['queueSubmit', this.opQueueSubmit],
    ['queueWait', this.opQueueWait],
    ['createShaderModule', this.opCreateShaderModule],
    ['createBindGroupLayout', this.opCreateBindGroupLayout],
    ['createPipelineLayout', this.opCreatePipelineLayout],
    ['createComputePipeline', this.opCreateComputePipeline],
    ['pipelineGetBindGroupLayout', this.opPipelineGetBindGroupLayout],
    ['createBindGroup', this.opCreateBindGroup],
    ['createCommandEncoder', this.opCreateCommandEncoder],
    ['beginComputePass', this.opBeginComputePass],
    ['copyBufferToBuffer', this.opCopyBufferToBuffer],
    ['clearBuffer', this.opClearBuffer],
    ['finish', this.opFinish],
    ['setPipeline', this.opSetPipeline],
    ['setBindGroup', this.opSetBindGroup],
    ['dispatch', this.opDispatch],
    ['passEnd', this.opPassEnd],
    ['pushErrorScope', this.opPushErrorScope],
    ['popErrorScope', this.opPopErrorScope],
    ['takeUncaptured', this.opTakeUncaptured],
  ]);

  private constructor(
    private readonly adapter: Any,
    readonly adapterInfo: WebGpuAdapterInfo,
    private readonly globals: Any,
    limits: Partial<WebGpuLimits>,
    private readonly sessionIdleMs: number,
    /** Keeps Dawn's GPU object alive for as long as the adapter is used. */
    readonly gpu: Any,
  ) {
    this.limits = { ...DEFAULT_WEBGPU_LIMITS, ...limits };
    this.sweeper = setInterval(() => this.sweep(), Math.min(sessionIdleMs, 30_000));
    this.sweeper.unref();
  }

  /** Open Dawn and the adapter; throws WebGpuUnavailableError when there is none. */
  static async open(o: WebGpuHostOptions = {}): Promise<WebGpuHost> {
    const { gpu, adapter, info, globals, options } = await openAdapter(o.backend ?? 'auto');
    const host = new WebGpuHost(adapter, info, globals, o.limits ?? {}, o.sessionIdleMs ?? 600_000, gpu);
    host.adapterOptions = options;
    return host;
  }

  /** What detect_tee / GetServerInfo report. */
  describe(): { available: boolean; adapter: WebGpuAdapterInfo; limits: WebGpuLimits } {
    return { available: !this.closed, adapter: this.adapterInfo, limits: this.limits };
  }

  /** Number of live sessions (tests: everything is released at execution end). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Live objects of all sessions. */
  get objectCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.objects.size;
    return n;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const s of [...this.sessions.values()]) this.endSession(s);
  }

  private sweep(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastUsed > this.sessionIdleMs) this.endSession(s);
    }
  }

  private endSession(s: Session): void {
    this.sessions.delete(s.id);
    for (const o of s.objects.values()) {
      try {
        if (o.kind === 'buffer' && !o.destroyed) o.o.destroy();
      } catch {}
    }
    for (const o of s.objects.values()) {
      try {
        if (o.kind === 'device') o.o.destroy();
      } catch {}
    }
    s.objects.clear();
  }

  /** The bridge entry point (HostHandler method 'webgpu'). Never throws for guest input. */
  async handle(params: unknown): Promise<WebGpuReply> {
    const p = (params && typeof params === 'object' ? params : {}) as WebGpuCall;
    if (typeof p.s !== 'string' || p.s.length < 16 || p.s.length > 64) return { trap: 'invalid session' };
    if (this.closed) return { v: 0, m: 'the WebGPU host is closed' };
    let s = this.sessions.get(p.s);
    if (!s) {
      if (p.op === 'end') return { v: 0 };
      s = {
        id: p.s,
        objects: new Map(),
        next: 1,
        bufferBytes: 0,
        devices: 0,
        lastUsed: Date.now(),
        busy: Promise.resolve(),
      };
      this.sessions.set(p.s, s);
    }
    s.lastUsed = Date.now();
    const sess = s;
    const run = sess.busy.then(() =>
      p.op === 'batch' ? this.batch(sess, p.a) : this.dispatch(sess, p.op, Array.isArray(p.a) ? p.a : []),
    );
    sess.busy = run.catch(() => undefined);
    try {
      return await run;
    } catch (e) {
      if (e instanceof GuestMisuse) return { trap: e.message };
      // Dawn threw synchronously (a JS-level TypeError on bad input): an error for the guest, not a crash.
      return { v: 0, m: clip(`${(e as Error).name ?? 'Error'}: ${(e as Error).message}`) };
    }
  }

  /** Deferred calls then the synchronizing one, in order; the first misuse stops the batch (a trap). */
  private async batch(s: Session, list: unknown): Promise<WebGpuReply> {
    if (!Array.isArray(list) || list.length > 512) throw new GuestMisuse('invalid batch');
    let last: WebGpuReply = {};
    let message: string | undefined;
    for (const item of list as [string, unknown[], string][]) {
      const [op, a, fn] = item;
      if (op === 'batch' || op === 'end') throw new GuestMisuse('invalid batch');
      try {
        last = await this.dispatch(s, op, Array.isArray(a) ? a : []);
      } catch (e) {
        if (e instanceof GuestMisuse)
          return { trap: `${e.message}${fn && !e.message.startsWith(fn) ? ` (in ${fn})` : ''}` };
        last = { v: 0, m: clip(`${(e as Error).name ?? 'Error'}: ${(e as Error).message}`) };
      }
      if (last.m !== undefined) message = last.m;
    }
    return message !== undefined && last.m === undefined ? { ...last, m: message } : last;
  }

  private add(s: Session, kind: Kind, o: Any, extra: Partial<Obj> = {}): number {
    if (s.objects.size >= this.limits.maxObjects) {
      throw new LimitError(`too many live WebGPU objects (operator limit ${this.limits.maxObjects})`);
    }
    const h = s.next++;
    if (h > 0x7fffffff) throw new LimitError('handle space exhausted');
    s.objects.set(h, { kind, o, refs: 1, ...extra });
    return h;
  }

  private get(s: Session, h: unknown, kind: Kind, what: string): Obj {
    const n = Number(h);
    const o = s.objects.get(n);
    if (!o)
      throw new GuestMisuse(`${what}: ${KIND_NAME[kind]} handle ${n} is not a live object of this execution`);
    if (o.kind !== kind)
      throw new GuestMisuse(`${what}: handle ${n} is a ${KIND_NAME[o.kind]}, expected ${KIND_NAME[kind]}`);
    return o;
  }

  private opt(s: Session, h: unknown, kind: Kind, what: string): Obj | undefined {
    return Number(h) === 0 ? undefined : this.get(s, h, kind, what);
  }

  /** An error the host raises itself (operator limit): to the innermost matching scope, else uncaptured. */
  private raise(dev: DeviceState, type: number, message: string): void {
    const filter =
      type === WGPU.ERROR_OUT_OF_MEMORY
        ? 'out-of-memory'
        : type === WGPU.ERROR_INTERNAL
          ? 'internal'
          : 'validation';
    for (let i = dev.scopes.length - 1; i >= 0; i--) {
      const sc = dev.scopes[i]!;
      if (sc.filter === filter) {
        sc.error ??= { type, message: clip(message) };
        return;
      }
    }
    if (dev.uncaptured.length < MAX_UNCAPTURED) dev.uncaptured.push({ type, message: clip(message) });
  }

  private release(s: Session, h: unknown, kind: Kind, what: string): void {
    const o = this.get(s, h, kind, what);
    if (--o.refs > 0) return;
    s.objects.delete(Number(h));
    if (o.kind === 'buffer') {
      if (!o.destroyed) {
        try {
          o.o.destroy();
        } catch {}
      }
      s.bufferBytes -= o.bytes ?? 0;
    }
    if (o.kind === 'device') {
      s.devices--;
      try {
        o.o.destroy();
      } catch {}
    }
  }

  private async dispatch(s: Session, op: string, a: unknown[]): Promise<WebGpuReply> {
    const handler = this.ops.get(op);
    if (!handler) throw new GuestMisuse(`unknown operation '${op}'`);
    return handler.call(this, s, a);
  }

  /** 'end': the execution finished; everything its session holds is destroyed. */
  private opEnd(s: Session): WebGpuReply {
    this.endSession(s);
    return { v: 0 };
  }

  /** 'addRef': wgpu*AddRef of any kind. */
  private opAddRef(s: Session, a: unknown[]): WebGpuReply {
    const [kind, h] = a as [Kind, number];
    if (!(kind in KIND_NAME)) throw new GuestMisuse('addRef: unknown kind');
    const o = this.get(s, h, kind, `wgpu${KIND_NAME[kind].slice(4)}AddRef`);
    if (o.refs >= 0x7fffffff) throw new GuestMisuse('reference count overflow');
    o.refs++;
    return {};
  }

  /** 'release': wgpu*Release of any kind. */
  private opRelease(s: Session, a: unknown[]): WebGpuReply {
    const [kind, h] = a as [Kind, number];
    if (!(kind in KIND_NAME)) throw new GuestMisuse('release: unknown kind');
    this.release(s, h, kind, `wgpu${KIND_NAME[kind].slice(4)}Release`);
    return {};
  }

  /** 'createInstance': wgpuCreateInstance. */
  private opCreateInstance(s: Session): WebGpuReply {
    return this.guard(() => ({ v: this.add(s, 'instance', null) }));
  }

  /** 'requestAdapter': wgpuInstanceRequestAdapter. */
  private opRequestAdapter(s: Session, a: unknown[]): WebGpuReply {
    this.get(s, a[0], 'instance', 'wgpuInstanceRequestAdapter');
    return this.guard(() => ({ v: this.add(s, 'adapter', this.adapter), adapter: this.adapterInfo }));
  }

  /** 'adapterInfo': wasmvmAdapterInfoField. */
  private opAdapterInfo(s: Session, a: unknown[]): WebGpuReply {
    this.get(s, a[0], 'adapter', 'wasmvmAdapterInfoField');
    const field = ['vendor', 'architecture', 'device', 'description'][Number(a[1])];
    if (!field) throw new GuestMisuse(`wasmvmAdapterInfoField: unknown field ${a[1]}`);
    return { v: this.adapterInfo[field as 'vendor'] };
  }

  /** 'requestDevice': wgpuAdapterRequestDevice. */
  private async opRequestDevice(s: Session, a: unknown[]): Promise<WebGpuReply> {
    this.get(s, a[0], 'adapter', 'wgpuAdapterRequestDevice');
    const [, label, featureCount] = a as [number, string | undefined, number];
    if (featureCount > 0)
      return { v: 0, m: 'requiredFeatures are not supported by this host (compute subset)' };
    if (s.devices >= this.limits.maxDevices)
      return { v: 0, m: `too many devices (operator limit ${this.limits.maxDevices})` };
    if (s.objects.size + 2 > this.limits.maxObjects)
      return { v: 0, m: `too many live WebGPU objects (operator limit ${this.limits.maxObjects})` };
    let device: Any;
    try {
      // A WebGPU adapter gives out one device: each device comes from a fresh adapter (same options).
      const adapter = (await this.gpu.requestAdapter(this.adapterOptions)) ?? this.adapter;
      device = await adapter.requestDevice(label ? { label } : {});
    } catch (e) {
      return { v: 0, m: clip(`requestDevice failed: ${(e as Error).message}`) };
    }
    const dev: DeviceState = { device, scopes: [], uncaptured: [] };
    try {
      device.onuncapturederror = (ev: Any) => {
        if (dev.uncaptured.length < MAX_UNCAPTURED)
          dev.uncaptured.push({
            type: errType(ev?.error),
            message: clip(String(ev?.error?.message ?? ev)),
          });
      };
    } catch {}
    device.lost?.then?.((info: Any) => {
      dev.lost = String(info?.message ?? 'device lost');
    });
    s.devices++;
    return { v: this.add(s, 'device', device, { dev }) };
  }

  /** 'destroyDevice': wgpuDeviceDestroy. */
  private opDestroyDevice(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceDestroy');
    try {
      d.o.destroy();
    } catch {}
    return {};
  }

  /** 'getQueue': wgpuDeviceGetQueue. */
  private opGetQueue(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceGetQueue');
    return this.guard(() => ({ v: this.add(s, 'queue', d.o.queue, { dev: d.dev! }) }));
  }

  /** 'createBuffer': wgpuDeviceCreateBuffer. */
  private opCreateBuffer(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateBuffer');
    const [, label, usage, sizeRaw, mapped] = a as [number, string | undefined, bigint, bigint, number];
    const size = num(sizeRaw, 'wgpuDeviceCreateBuffer size');
    const u = num(usage, 'wgpuDeviceCreateBuffer usage');
    if (size > this.limits.maxBufferBytes) {
      this.raise(
        d.dev!,
        WGPU.ERROR_VALIDATION,
        `buffer size ${size} exceeds the operator limit of ${this.limits.maxBufferBytes} bytes`,
      );
      return { v: 0 };
    }
    if (s.bufferBytes + size > this.limits.maxTotalBufferBytes) {
      this.raise(
        d.dev!,
        WGPU.ERROR_OUT_OF_MEMORY,
        `live buffers would exceed the operator limit of ${this.limits.maxTotalBufferBytes} bytes per execution`,
      );
      return { v: 0 };
    }
    return this.guard(() => {
      // WebGPU zero-initializes every buffer (Dawn clears lazily before first use): no execution reads
      // another's data.
      const b = d.o.createBuffer({
        size,
        usage: u,
        mappedAtCreation: mapped !== 0,
        ...(label ? { label } : {}),
      });
      const extra: Partial<Obj> = { dev: d.dev!, bytes: size, size, usage: u };
      if (mapped !== 0) {
        try {
          extra.mapped = { offset: 0, data: new Uint8Array(b.getMappedRange()), mode: 2 };
        } catch {}
      }
      const h = this.add(s, 'buffer', b, extra);
      s.bufferBytes += size;
      return { v: h };
    }, d.dev);
  }

  /** 'bufferSize': wgpuBufferGetSize. */
  private opBufferSize(s: Session, a: unknown[]): WebGpuReply {
    return { v: BigInt(this.get(s, a[0], 'buffer', 'wgpuBufferGetSize').size ?? 0) };
  }

  /** 'bufferUsage': wgpuBufferGetUsage. */
  private opBufferUsage(s: Session, a: unknown[]): WebGpuReply {
    return { v: BigInt(this.get(s, a[0], 'buffer', 'wgpuBufferGetUsage').usage ?? 0) };
  }

  /** 'bufferMapState': wgpuBufferGetMapState. */
  private opBufferMapState(s: Session, a: unknown[]): WebGpuReply {
    const b = this.get(s, a[0], 'buffer', 'wgpuBufferGetMapState');
    return { v: b.mapped ? WGPU.MAP_STATE_MAPPED : WGPU.MAP_STATE_UNMAPPED };
  }

  /** 'bufferDestroy': wgpuBufferDestroy. */
  private opBufferDestroy(s: Session, a: unknown[]): WebGpuReply {
    const b = this.get(s, a[0], 'buffer', 'wgpuBufferDestroy');
    if (!b.destroyed) {
      b.destroyed = true;
      b.mapped = undefined;
      try {
        b.o.destroy();
      } catch {}
      s.bufferBytes -= b.bytes ?? 0;
      b.bytes = 0;
    }
    return {};
  }

  /** 'bufferMap': wasmvmBufferMapSync. */
  private async opBufferMap(s: Session, a: unknown[]): Promise<WebGpuReply> {
    const b = this.get(s, a[0], 'buffer', 'wasmvmBufferMapSync');
    const mode = num(a[1], 'mode');
    const offset = num(a[2], 'offset');
    const size = num(a[3], 'size');
    if (b.destroyed) return { v: WGPU.MAP_ERROR, m: 'mapAsync: the buffer is destroyed' };
    if (b.mapped) return { v: WGPU.MAP_ERROR, m: 'mapAsync: the buffer is already mapped' };
    try {
      const sz = size === WGPU.WHOLE_MAP_SIZE ? undefined : size;
      await b.o.mapAsync(mode, offset, sz);
      b.mapped = { offset, data: new Uint8Array(b.o.getMappedRange(offset, sz)), mode };
      return { v: WGPU.MAP_SUCCESS };
    } catch (e) {
      return { v: WGPU.MAP_ERROR, m: clip(`mapAsync: ${(e as Error).message}`) };
    }
  }

  /** 'bufferRead': wasmvmBufferReadMapped. */
  private opBufferRead(s: Session, a: unknown[]): WebGpuReply {
    const b = this.get(s, a[0], 'buffer', 'wasmvmBufferReadMapped');
    const offset = num(a[1], 'offset');
    const size = num(a[2], 'size');
    const m = b.mapped;
    if (!m) return { v: WGPU.STATUS_ERROR, m: 'the buffer is not mapped' };
    const rel = offset - m.offset;
    if (rel < 0 || rel + size > m.data.length)
      return { v: WGPU.STATUS_ERROR, m: `range [${offset}, +${size}) is outside the mapped range` };
    return { v: m.data.slice(rel, rel + size) };
  }

  /** 'bufferWrite': wasmvmBufferWriteMapped. */
  private opBufferWrite(s: Session, a: unknown[]): WebGpuReply {
    const b = this.get(s, a[0], 'buffer', 'wasmvmBufferWriteMapped');
    const offset = num(a[1], 'offset');
    const data = a[2] as Uint8Array;
    const m = b.mapped;
    if (!m) return { v: WGPU.STATUS_ERROR, m: 'the buffer is not mapped' };
    if (m.mode !== 2) return { v: WGPU.STATUS_ERROR, m: 'the buffer is mapped for reading' };
    const rel = offset - m.offset;
    if (!(data instanceof Uint8Array) || rel < 0 || rel + data.length > m.data.length)
      return {
        v: WGPU.STATUS_ERROR,
        m: `range [${offset}, +${data?.length}) is outside the mapped range`,
      };
    m.data.set(data, rel);
    return { v: WGPU.STATUS_SUCCESS };
  }

  /** 'bufferUnmap': wgpuBufferUnmap. */
  private opBufferUnmap(s: Session, a: unknown[]): WebGpuReply {
    const b = this.get(s, a[0], 'buffer', 'wgpuBufferUnmap');
    b.mapped = undefined;
    if (!b.destroyed) return this.guardVoid(() => b.o.unmap(), b.dev);
    return {};
  }

  /** 'queueWrite': wgpuQueueWriteBuffer. */
  private opQueueWrite(s: Session, a: unknown[]): WebGpuReply {
    const q = this.get(s, a[0], 'queue', 'wgpuQueueWriteBuffer');
    const b = this.get(s, a[1], 'buffer', 'wgpuQueueWriteBuffer');
    const offset = num(a[2], 'bufferOffset');
    const data = a[3];
    if (!(data instanceof Uint8Array)) {
      const n = (data as { tooLarge?: number } | undefined)?.tooLarge;
      this.raise(
        q.dev!,
        WGPU.ERROR_VALIDATION,
        `write of ${n} bytes exceeds the operator limit of ${this.limits.maxBufferBytes} bytes`,
      );
      return {};
    }
    return this.guardVoid(() => q.o.writeBuffer(b.o, offset, data), q.dev);
  }

  /** 'queueSubmit': wgpuQueueSubmit. */
  private opQueueSubmit(s: Session, a: unknown[]): WebGpuReply {
    const q = this.get(s, a[0], 'queue', 'wgpuQueueSubmit');
    const list = (a[1] as number[]).map((h) => this.get(s, h, 'commandBuffer', 'wgpuQueueSubmit').o);
    return this.guardVoid(() => q.o.submit(list), q.dev);
  }

  /** 'queueWait': wasmvmQueueWaitIdleSync. */
  private async opQueueWait(s: Session, a: unknown[]): Promise<WebGpuReply> {
    const q = this.get(s, a[0], 'queue', 'wasmvmQueueWaitIdleSync');
    try {
      await q.o.onSubmittedWorkDone();
      return { v: WGPU.WORK_DONE_SUCCESS };
    } catch (e) {
      return { v: WGPU.WORK_DONE_ERROR, m: clip((e as Error).message) };
    }
  }

  /** 'createShaderModule': wgpuDeviceCreateShaderModule. */
  private opCreateShaderModule(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateShaderModule');
    const [, label, code] = a as [number, string | undefined, unknown];
    if (typeof code !== 'string' || code.length > this.limits.maxShaderBytes) {
      const c = code as { tooLong?: number; unsupported?: number };
      const msg =
        c && typeof c === 'object' && c.unsupported !== undefined
          ? `only WGSL shader sources are supported (WGPUSType ${c.unsupported})`
          : `WGSL source exceeds the operator limit of ${this.limits.maxShaderBytes} bytes`;
      this.raise(d.dev!, WGPU.ERROR_VALIDATION, msg);
      return { v: 0, m: msg };
    }
    return this.guard(
      () => ({ v: this.add(s, 'shader', d.o.createShaderModule({ code, ...(label ? { label } : {}) })) }),
      d.dev,
    );
  }

  /** 'createBindGroupLayout': wgpuDeviceCreateBindGroupLayout. */
  private opCreateBindGroupLayout(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateBindGroupLayout');
    const [, label, entries] = a as [number, string | undefined, Any[]];
    return this.guard(
      () => ({
        v: this.add(
          s,
          'bindGroupLayout',
          d.o.createBindGroupLayout({ entries, ...(label ? { label } : {}) }),
        ),
      }),
      d.dev,
    );
  }

  /** 'createPipelineLayout': wgpuDeviceCreatePipelineLayout. */
  private opCreatePipelineLayout(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreatePipelineLayout');
    const [, label, layouts] = a as [number, string | undefined, number[]];
    const bindGroupLayouts = layouts.map(
      (h) => this.get(s, h, 'bindGroupLayout', 'wgpuDeviceCreatePipelineLayout').o,
    );
    return this.guard(
      () => ({
        v: this.add(
          s,
          'pipelineLayout',
          d.o.createPipelineLayout({ bindGroupLayouts, ...(label ? { label } : {}) }),
        ),
      }),
      d.dev,
    );
  }

  /** 'createComputePipeline': wgpuDeviceCreateComputePipeline. */
  private opCreateComputePipeline(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateComputePipeline');
    const [, label, layoutH, moduleH, entryPoint, constants] = a as [
      number,
      string | undefined,
      number,
      number,
      string | undefined,
      [string, number][],
    ];
    const layout = this.opt(s, layoutH, 'pipelineLayout', 'wgpuDeviceCreateComputePipeline layout');
    const module = this.get(s, moduleH, 'shader', 'wgpuDeviceCreateComputePipeline compute.module');
    const compute: Any = { module: module.o };
    if (entryPoint !== undefined) compute.entryPoint = entryPoint;
    if (constants.length) compute.constants = Object.fromEntries(constants);
    return this.guard(
      () => ({
        v: this.add(
          s,
          'pipeline',
          d.o.createComputePipeline({
            layout: layout ? layout.o : 'auto',
            compute,
            ...(label ? { label } : {}),
          }),
          { dev: d.dev! },
        ),
      }),
      d.dev,
    );
  }

  /** 'pipelineGetBindGroupLayout': wgpuComputePipelineGetBindGroupLayout. */
  private opPipelineGetBindGroupLayout(s: Session, a: unknown[]): WebGpuReply {
    const p = this.get(s, a[0], 'pipeline', 'wgpuComputePipelineGetBindGroupLayout');
    return this.guard(
      () => ({ v: this.add(s, 'bindGroupLayout', p.o.getBindGroupLayout(num(a[1], 'groupIndex'))) }),
      p.dev,
    );
  }

  /** 'createBindGroup': wgpuDeviceCreateBindGroup. */
  private opCreateBindGroup(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateBindGroup');
    const [, label, layoutH, entries] = a as [
      number,
      string | undefined,
      number,
      { binding: number; buffer: number; offset: bigint; size: bigint }[],
    ];
    const layout = this.get(s, layoutH, 'bindGroupLayout', 'wgpuDeviceCreateBindGroup layout');
    const list = entries.map((e) => {
      const b = this.get(s, e.buffer, 'buffer', 'wgpuDeviceCreateBindGroup entries[].buffer');
      const resource: Any = { buffer: b.o, offset: num(e.offset, 'offset') };
      if (e.size !== WGPU.WHOLE_SIZE) resource.size = num(e.size, 'size');
      return { binding: e.binding, resource };
    });
    return this.guard(
      () => ({
        v: this.add(
          s,
          'bindGroup',
          d.o.createBindGroup({ layout: layout.o, entries: list, ...(label ? { label } : {}) }),
        ),
      }),
      d.dev,
    );
  }

  /** 'createCommandEncoder': wgpuDeviceCreateCommandEncoder. */
  private opCreateCommandEncoder(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDeviceCreateCommandEncoder');
    const label = a[1] as string | undefined;
    return this.guard(
      () => ({
        v: this.add(s, 'encoder', d.o.createCommandEncoder(label ? { label } : {}), { dev: d.dev! }),
      }),
      d.dev,
    );
  }

  /** 'beginComputePass': wgpuCommandEncoderBeginComputePass. */
  private opBeginComputePass(s: Session, a: unknown[]): WebGpuReply {
    const e = this.get(s, a[0], 'encoder', 'wgpuCommandEncoderBeginComputePass');
    const label = a[1] as string | undefined;
    return this.guard(
      () => ({ v: this.add(s, 'pass', e.o.beginComputePass(label ? { label } : {}), { dev: e.dev! }) }),
      e.dev,
    );
  }

  /** 'copyBufferToBuffer': wgpuCommandEncoderCopyBufferToBuffer. */
  private opCopyBufferToBuffer(s: Session, a: unknown[]): WebGpuReply {
    const e = this.get(s, a[0], 'encoder', 'wgpuCommandEncoderCopyBufferToBuffer');
    const src = this.get(s, a[1], 'buffer', 'wgpuCommandEncoderCopyBufferToBuffer source');
    const dst = this.get(s, a[3], 'buffer', 'wgpuCommandEncoderCopyBufferToBuffer destination');
    return this.guardVoid(
      () =>
        e.o.copyBufferToBuffer(
          src.o,
          num(a[2], 'sourceOffset'),
          dst.o,
          num(a[4], 'destinationOffset'),
          num(a[5], 'size'),
        ),
      e.dev,
    );
  }

  /** 'clearBuffer': wgpuCommandEncoderClearBuffer. */
  private opClearBuffer(s: Session, a: unknown[]): WebGpuReply {
    const e = this.get(s, a[0], 'encoder', 'wgpuCommandEncoderClearBuffer');
    const b = this.get(s, a[1], 'buffer', 'wgpuCommandEncoderClearBuffer');
    const off = num(a[2], 'offset');
    const size = a[3] === WGPU.WHOLE_SIZE ? undefined : num(a[3], 'size');
    return this.guardVoid(() => e.o.clearBuffer(b.o, off, size), e.dev);
  }

  /** 'finish': wgpuCommandEncoderFinish. */
  private opFinish(s: Session, a: unknown[]): WebGpuReply {
    const e = this.get(s, a[0], 'encoder', 'wgpuCommandEncoderFinish');
    const label = a[1] as string | undefined;
    return this.guard(() => ({ v: this.add(s, 'commandBuffer', e.o.finish(label ? { label } : {})) }), e.dev);
  }

  /** 'setPipeline': wgpuComputePassEncoderSetPipeline. */
  private opSetPipeline(s: Session, a: unknown[]): WebGpuReply {
    const p = this.get(s, a[0], 'pass', 'wgpuComputePassEncoderSetPipeline');
    const pl = this.get(s, a[1], 'pipeline', 'wgpuComputePassEncoderSetPipeline');
    return this.guardVoid(() => p.o.setPipeline(pl.o), p.dev);
  }

  /** 'setBindGroup': wgpuComputePassEncoderSetBindGroup. */
  private opSetBindGroup(s: Session, a: unknown[]): WebGpuReply {
    const p = this.get(s, a[0], 'pass', 'wgpuComputePassEncoderSetBindGroup');
    const g = this.opt(s, a[2], 'bindGroup', 'wgpuComputePassEncoderSetBindGroup');
    const offsets = (a[3] as number[]) ?? [];
    return this.guardVoid(() => p.o.setBindGroup(num(a[1], 'groupIndex'), g ? g.o : null, offsets), p.dev);
  }

  /** 'dispatch': wgpuComputePassEncoderDispatchWorkgroups. */
  private opDispatch(s: Session, a: unknown[]): WebGpuReply {
    const p = this.get(s, a[0], 'pass', 'wgpuComputePassEncoderDispatchWorkgroups');
    const [x, y, z] = [num(a[1], 'x'), num(a[2], 'y'), num(a[3], 'z')];
    if (x * y * z > this.limits.maxWorkgroupsPerDispatch) {
      this.raise(
        p.dev!,
        WGPU.ERROR_VALIDATION,
        `dispatch of ${x}x${y}x${z} workgroups exceeds the operator limit of ${this.limits.maxWorkgroupsPerDispatch} per dispatch`,
      );
      return { v: 0 };
    }
    return this.guard(() => {
      p.o.dispatchWorkgroups(x, y, z);
      return { v: 1 };
    }, p.dev);
  }

  /** 'passEnd': wgpuComputePassEncoderEnd. */
  private opPassEnd(s: Session, a: unknown[]): WebGpuReply {
    const p = this.get(s, a[0], 'pass', 'wgpuComputePassEncoderEnd');
    return this.guardVoid(() => p.o.end(), p.dev);
  }

  /** 'pushErrorScope': wgpuDevicePushErrorScope. */
  private opPushErrorScope(s: Session, a: unknown[]): WebGpuReply {
    const d = this.get(s, a[0], 'device', 'wgpuDevicePushErrorScope');
    const filter = ERROR_FILTERS[num(a[1], 'filter')];
    if (!filter) throw new GuestMisuse(`wgpuDevicePushErrorScope: invalid WGPUErrorFilter ${a[1]}`);
    if (d.dev!.scopes.length >= 256)
      throw new GuestMisuse('wgpuDevicePushErrorScope: more than 256 open scopes');
    d.o.pushErrorScope(filter);
    d.dev!.scopes.push({ filter });
    return {};
  }

  /** 'popErrorScope': wasmvmDevicePopErrorScopeSync. */
  private async opPopErrorScope(s: Session, a: unknown[]): Promise<WebGpuReply> {
    const d = this.get(s, a[0], 'device', 'wasmvmDevicePopErrorScopeSync');
    const shadow = d.dev!.scopes.pop();
    if (!shadow) return { v: 0, m: 'popErrorScope: no error scope is open' };
    let err: Any;
    try {
      err = await d.o.popErrorScope();
    } catch (e) {
      return { v: 0, m: clip(`popErrorScope: ${(e as Error).message}`) };
    }
    if (err) return { v: errType(err), m: clip(String(err.message)) };
    if (shadow.error) return { v: shadow.error.type, m: shadow.error.message };
    return { v: WGPU.ERROR_NONE, m: '' };
  }

  /** 'takeUncaptured': wasmvmDeviceTakeUncapturedError. */
  private async opTakeUncaptured(s: Session, a: unknown[]): Promise<WebGpuReply> {
    const d = this.get(s, a[0], 'device', 'wasmvmDeviceTakeUncapturedError');
    // let Dawn deliver pending uncaptured errors first
    await new Promise((r) => setImmediate(r));
    const e = d.dev!.uncaptured.shift();
    if (!e) return { v: WGPU.ERROR_NONE, m: d.dev!.lost ? `device lost: ${d.dev!.lost}` : '' };
    return { v: e.type, m: e.message };
  }

  /**
   * Run a Dawn call that may throw synchronously (JS-level type errors, operator limits): the guest gets a
   * null handle and the error goes to the device's error scopes (like a WebGPU validation error).
   */
  private guard(f: () => WebGpuReply, dev?: DeviceState): WebGpuReply {
    try {
      return f();
    } catch (e) {
      if (e instanceof GuestMisuse) throw e;
      const type = e instanceof LimitError ? WGPU.ERROR_OUT_OF_MEMORY : WGPU.ERROR_VALIDATION;
      const msg = clip(`${(e as Error).message}`);
      if (dev) this.raise(dev, type, msg);
      return { v: 0, m: msg };
    }
  }

  private guardVoid(f: () => void, dev?: DeviceState): WebGpuReply {
    return this.guard(() => {
      f();
      return {};
    }, dev);
  }

  /** For tests and the bench: the host's own Dawn adapter and globals. */
  get dawn(): { adapter: Any; globals: Any } {
    return { adapter: this.adapter, globals: this.globals };
  }
}

/** A fresh, unguessable session id (the worker makes one per execution). */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}
