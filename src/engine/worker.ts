/**
 * Worker thread of an executor: instantiates a compiled module (fresh instance per execution), wires host
 * imports through the synchronous bridge, calls the export through the exact-value trampoline and reports
 * the result or the classified trap. Internal to the engine.
 */
import { deserialize } from 'node:v8';
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { EngineError } from './errors.ts';
import {
  HOST_STATE_ERROR,
  HOST_STATE_WAITING,
  type Job,
  type JobResult,
  MB_DATA,
  MB_ERROR,
  MB_KIND,
  MB_REQ,
  MB_RES,
  MB_RESULT,
  REQ_JOB_POSTED,
  REQ_MODULE,
  type RequestExtras,
  readJob,
  WIRE_OVERFLOW,
  WireReader,
  WireWriter,
  type WorkerToExecutor,
  writeResult,
} from './protocol.ts';
import { callExact } from './trampoline.ts';
import { classifyTrapMessage, TRAP_GLOBAL_OUT_OF_GAS, TRAP_GLOBAL_STACK } from './traps.ts';
import type { WasmValue } from './types.ts';

const port = parentPort!;
const send = (m: WorkerToExecutor) => port.postMessage(m);
const {
  ctrl: ctrlBuf,
  data: dataBuf,
  box,
  bell,
  side,
} = workerData as {
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  /** The mailbox (protocol.ts, MB_*) and the pool's doorbell. */
  box: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  /** Where a module (or a job too large for the mailbox) comes with a request; read synchronously. */
  side: MessagePort;
};

/** Compiled modules by id (the pool sends a module once per worker and says when to drop one). */
const modules = new Map<
  number,
  { module: WebAssembly.Module; imports: WebAssembly.ModuleImportDescriptor[] }
>();

interface HostApi {
  createHostModules(
    names: readonly string[],
    options: Record<string, unknown>,
    bridge: { call(method: string, params: unknown): unknown },
  ): {
    imports: WebAssembly.Imports;
    attach(instance: WebAssembly.Instance): void;
    collect(): { stdout: Uint8Array; stderr: Uint8Array; webgpu?: JobResult['webgpu'] };
  };
  WasiExit?: new (...a: never[]) => Error & { code: number };
  HostTrap?: new (message: string) => Error;
}

const hostApis = new Map<string, Promise<HostApi>>();
function loadHost(url: string | undefined): Promise<HostApi> {
  const u =
    url ?? new URL(`../host/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
  let p = hostApis.get(u);
  if (!p) {
    p = import(u) as Promise<HostApi>;
    hostApis.set(u, p);
  }
  return p;
}

class BridgeError extends EngineError {
  constructor(message: string) {
    super('HOST_TRAP', message);
    this.name = 'HostTrap';
  }
}

function makeBridge(ctrlBuf: SharedArrayBuffer, dataBuf: SharedArrayBuffer, api: HostApi) {
  const ctrl = new Int32Array(ctrlBuf);
  const data = new Uint8Array(dataBuf);
  return {
    call(method: string, params: unknown): unknown {
      Atomics.store(ctrl, 0, HOST_STATE_WAITING);
      send({ type: 'host', method, params });
      Atomics.wait(ctrl, 0, HOST_STATE_WAITING);
      const state = Atomics.load(ctrl, 0);
      const total = ctrl[1]!;
      const buf = new Uint8Array(total);
      let got = 0;
      for (;;) {
        const n = ctrl[2]!;
        buf.set(data.subarray(0, n), got);
        got += n;
        if (got >= total) break;
        Atomics.store(ctrl, 0, HOST_STATE_WAITING);
        send({ type: 'host-more' });
        Atomics.wait(ctrl, 0, HOST_STATE_WAITING);
      }
      const value = deserialize(buf);
      if (state === HOST_STATE_ERROR) {
        const Trap = api.HostTrap ?? BridgeError;
        throw new Trap(`host call ${method} failed: ${String(value)}`);
      }
      return value;
    },
  };
}

function tierOf(fn: unknown): { liftoff: boolean; turbofan: boolean } | undefined {
  try {
    const q = new Function('f', 'return [%IsLiftoffFunction(f), %IsTurboFanFunction(f)]') as (
      f: unknown,
    ) => boolean[];
    const [liftoff, turbofan] = q(fn);
    return { liftoff: !!liftoff, turbofan: !!turbofan };
  } catch {
    return undefined;
  }
}

/** A bad request found in the worker: sent to the executor as `{ code, message }` (EngineError.fromWire). */
class RequestError extends EngineError {}

/** Host APIs already imported (so an execution with host modules runs synchronously after the first). */
const hostLoaded = new Map<string | undefined, HostApi>();

/** Read the request in the mailbox: the module it runs and its job. */
function takeRequest(): {
  entry: { module: WebAssembly.Module; imports: WebAssembly.ModuleImportDescriptor[] };
  job: Job;
} {
  const rd = new WireReader(boxBytes, MB_DATA);
  const id = rd.u32();
  const evict = rd.u32();
  const flags = rd.u8();
  if (evict !== 0) modules.delete(evict);
  let extras: RequestExtras | undefined;
  if (flags & (REQ_MODULE | REQ_JOB_POSTED)) {
    extras = receiveMessageOnPort(side)?.message as RequestExtras | undefined;
    if (!extras) throw new RequestError('INTERNAL', 'request extras missing on the side port');
  }
  let entry = modules.get(id);
  if (flags & REQ_MODULE && extras?.module) {
    entry = { module: extras.module, imports: WebAssembly.Module.imports(extras.module) };
    modules.set(id, entry);
  }
  if (!entry) throw new RequestError('INTERNAL', `module ${id} not loaded in the worker`);
  const job = flags & REQ_JOB_POSTED && extras?.job ? readJob(new WireReader(extras.job), 0) : readJob(rd, 0);
  // the pool keeps the deadline
  return { entry, job };
}

function run(
  entry: { module: WebAssembly.Module; imports: WebAssembly.ModuleImportDescriptor[] },
  job: Job,
  api: HostApi | undefined,
): JobResult {
  const { module } = entry;
  const t0 = performance.now();
  let host: ReturnType<HostApi['createHostModules']> | undefined;
  let imports: WebAssembly.Imports = {};
  if (api) {
    try {
      host = api.createHostModules(job.hostModules, job.hostOptions, makeBridge(ctrlBuf, dataBuf, api));
    } catch (e) {
      throw new RequestError('INVALID_ARGUMENT', `host modules: ${(e as Error).message}`);
    }
    imports = host.imports;
  }
  for (const imp of entry.imports) {
    const m = imports[imp.module] as Record<string, unknown> | undefined;
    if (!m || !(imp.name in m)) {
      throw new RequestError('UNKNOWN_IMPORT', `unknown import ${imp.module}.${imp.name} (${imp.kind})`);
    }
  }
  let instance: WebAssembly.Instance | undefined;
  let status: JobResult['status'] = 'ok';
  let outputs: WasmValue[] = [];
  let message: string | undefined;
  let exitCode: number | undefined;
  let tier: JobResult['tier'];
  try {
    instance = new WebAssembly.Instance(module, imports);
    const gasGlobal = instance.exports.__wasmvm_gas as WebAssembly.Global | undefined;
    if (job.gas !== undefined && gasGlobal) gasGlobal.value = job.gas;
    host?.attach(instance);
    if (job.startExport) (instance.exports[job.startExport] as () => void)();
    const fn = instance.exports[job.fn];
    if (typeof fn !== 'function')
      throw new RequestError('NOT_A_FUNCTION', `export ${job.fn} is not a function`);
    outputs = callExact(fn, job.params, job.results, job.args);
    if (job.probeTier) tier = tierOf(fn);
  } catch (e) {
    if (e instanceof RequestError) throw e;
    ({ status, message, exitCode } = classify(e, instance, api));
  }
  const result: JobResult = { status, outputs, durationMs: performance.now() - t0 };
  if (message !== undefined) result.message = message;
  if (exitCode !== undefined) result.exitCode = exitCode;
  if (tier) result.tier = tier;
  if (job.gas !== undefined && instance) {
    const g = instance.exports.__wasmvm_gas as WebAssembly.Global | undefined;
    if (g) {
      const remaining = BigInt(g.value as bigint);
      let used = job.gas - remaining;
      if (used < 0n) used = 0n;
      if (used > job.gas || status === 'out_of_gas') used = job.gas;
      result.gasUsed = used;
    }
  }
  if (outputs.length * 8 > job.maxOutputBytes) {
    result.status = 'output_limit';
    result.message = `results exceed ${job.maxOutputBytes} bytes`;
    result.outputs = [];
  }
  if (host) {
    const { stdout, stderr, webgpu } = host.collect();
    if (webgpu) result.webgpu = webgpu;
    let room = job.maxOutputBytes - outputs.length * 8;
    const cut = (b: Uint8Array): Uint8Array => {
      const keep = Math.max(0, Math.min(b.length, room));
      room -= keep;
      return keep < b.length ? b.slice(0, keep) : b;
    };
    const out = cut(stdout);
    const err = cut(stderr);
    if (out.length < stdout.length || err.length < stderr.length) {
      if (result.status === 'ok') {
        result.status = 'output_limit';
        result.message = `captured output exceeds ${job.maxOutputBytes} bytes (truncated)`;
        result.outputs = [];
      }
    }
    if (out.length) result.stdout = out;
    if (err.length) result.stderr = err;
  }
  return result;
}

function classify(
  e: unknown,
  instance: WebAssembly.Instance | undefined,
  api: HostApi | undefined,
): { status: JobResult['status']; message: string; exitCode?: number } {
  const err = e as { name?: string; message?: string; code?: unknown };
  const msg = String(err?.message ?? e);
  if ((api?.WasiExit && e instanceof api.WasiExit) || err?.name === 'WasiExit') {
    const code = Number((e as { exitCode?: unknown }).exitCode ?? err.code ?? 0);
    return { status: 'exit', message: `guest exited with code ${code}`, exitCode: code };
  }
  if ((api?.HostTrap && e instanceof api.HostTrap) || err?.name === 'HostTrap') {
    return { status: 'host_trap', message: msg };
  }
  if (e instanceof WebAssembly.RuntimeError) {
    const t = instance?.exports.__wasmvm_trap as WebAssembly.Global | undefined;
    const flag = t ? Number(t.value) : 0;
    if (flag === TRAP_GLOBAL_OUT_OF_GAS) return { status: 'out_of_gas', message: 'out of gas' };
    if (flag === TRAP_GLOBAL_STACK)
      return { status: 'stack_overflow', message: 'stack height limit exhausted' };
    return { status: classifyTrapMessage(msg) ?? 'unreachable', message: msg };
  }
  if (e instanceof RangeError) {
    if (/Maximum call stack size exceeded/i.test(msg)) return { status: 'stack_overflow', message: msg };
    if (/out of memory|Cannot allocate Wasm memory|could not allocate memory/i.test(msg)) {
      return { status: 'memory_limit', message: msg };
    }
  }
  if (e instanceof WebAssembly.LinkError) throw new RequestError('UNKNOWN_IMPORT', msg);
  // Anything else thrown from host code (e.g. a TypeError at the JS boundary) is the host's trap.
  return { status: 'host_trap', message: `${err?.name ?? 'Error'}: ${msg}` };
}

const mb = new Int32Array(box);
const boxBytes = new Uint8Array(box);
const doorbell = new Int32Array(bell);
const answer = new WireWriter(boxBytes, true, MB_DATA);

/** Write the answer into the mailbox (or post it when it does not fit) and ring the pool's doorbell. */
function respond(seq: number, kind: number, write: (w: WireWriter) => void): void {
  answer.pos = MB_DATA;
  try {
    write(answer);
  } catch (e) {
    if (e !== WIRE_OVERFLOW) throw e;
    const w = new WireWriter(new Uint8Array(1024));
    write(w);
    const bytes = w.buf.slice(0, w.pos);
    port.postMessage({ type: 'done', kind, bytes } satisfies WorkerToExecutor, [bytes.buffer]);
    return;
  }
  Atomics.store(mb, MB_KIND, kind);
  Atomics.store(mb, MB_RES, seq);
  Atomics.add(doorbell, 0, 1);
  Atomics.notify(doorbell, 0);
}

function fail(seq: number, e: unknown): void {
  const code = e instanceof RequestError ? e.code : 'INTERNAL';
  const message = e instanceof RequestError ? e.message : String((e as Error)?.stack ?? e);
  respond(seq, MB_ERROR, (w) => {
    w.str(code);
    w.str(message);
  });
}

/**
 * The worker's loop: sleep in Atomics.wait until the pool bumps MB_REQ, run the request, answer in the
 * mailbox. Only the first execution with a host API not yet imported leaves the loop (await import()).
 */
async function serve(): Promise<void> {
  // a fresh mailbox starts at 0: a request written before this loop started is seen at once
  let seen = 0;
  for (;;) {
    Atomics.wait(mb, MB_REQ, seen);
    const seq = Atomics.load(mb, MB_REQ);
    if (seq === seen) continue;
    seen = seq;
    let result: JobResult;
    try {
      const { entry, job } = takeRequest();
      let api: HostApi | undefined;
      if (job.hostModules.length > 0) {
        api = hostLoaded.get(job.hostModuleUrl);
        if (!api) {
          api = await loadHost(job.hostModuleUrl);
          hostLoaded.set(job.hostModuleUrl, api);
        }
      }
      result = run(entry, job, api);
    } catch (e) {
      fail(seq, e);
      continue;
    }
    respond(seq, MB_RESULT, (w) => writeResult(w, result));
  }
}

send({ type: 'ready' });
// after this module's evaluation: the loop blocks this thread between requests
setImmediate(() => void serve());
