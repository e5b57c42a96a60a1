/**
 * Worker thread of an executor: instantiates a compiled module (fresh instance per execution), wires host
 * imports through the synchronous bridge, calls the export through the exact-value trampoline and reports
 * the result or the classified trap. Internal to the engine.
 */
import { deserialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { EngineError } from './errors.ts';
import {
  type DoneMessage,
  decodeSig,
  fromRaw,
  HOST_STATE_ERROR,
  HOST_STATE_WAITING,
  type Job,
  type JobResult,
  RUN_ARGS,
  type RunMessage,
  rawValue,
  type WorkerToExecutor,
} from './protocol.ts';
import { callExact } from './trampoline.ts';
import { classifyTrapMessage, TRAP_GLOBAL_OUT_OF_GAS, TRAP_GLOBAL_STACK } from './traps.ts';
import type { WasmValue } from './types.ts';

const port = parentPort!;
const send = (m: WorkerToExecutor) => port.postMessage(m);
const { ctrl: ctrlBuf, data: dataBuf } = workerData as { ctrl: SharedArrayBuffer; data: SharedArrayBuffer };

/** Compiled modules by key (the pool sends a module once per worker and says when to drop one). */
const modules = new Map<
  string,
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

const sigs = new Map<string, ReturnType<typeof decodeSig>>();

function toJob(m: RunMessage): Job {
  let sig = sigs.get(m[2]);
  if (!sig) {
    if (sigs.size > 1000) sigs.clear();
    sig = decodeSig(m[2]);
    sigs.set(m[2], sig);
  }
  const args: WasmValue[] = [];
  for (let i = RUN_ARGS; i < m.length; i++) {
    args.push(fromRaw(sig.params[i - RUN_ARGS]!, m[i] as number | bigint));
  }
  const host = m[7];
  const job: Job = {
    fn: m[1],
    params: sig.params,
    results: sig.results,
    args,
    hostModules: host?.modules ?? [],
    hostOptions: host?.options ?? {},
    maxOutputBytes: m[3],
    timeoutMs: 0, // the pool keeps the deadline
  };
  if (m[4] !== undefined) job.gas = m[4];
  if (m[5] !== undefined) job.startExport = m[5];
  if (m[6]) job.probeTier = true;
  if (host?.url !== undefined) job.hostModuleUrl = host.url;
  return job;
}

function toDone(r: JobResult): DoneMessage {
  const m: DoneMessage = [
    r.status,
    r.durationMs,
    r.message,
    r.exitCode,
    r.gasUsed,
    r.stdout,
    r.stderr,
    r.tier,
    r.webgpu,
  ];
  for (const v of r.outputs) m.push(rawValue(v));
  return m;
}

async function run(msg: RunMessage): Promise<JobResult> {
  const key = msg[0];
  if (msg[9] !== undefined) modules.delete(msg[9]);
  let entry = modules.get(key);
  if (msg[8]) {
    entry = { module: msg[8], imports: WebAssembly.Module.imports(msg[8]) };
    modules.set(key, entry);
  }
  if (!entry) throw new RequestError('INTERNAL', `module ${key} not loaded in the worker`);
  const job = toJob(msg);
  const { module } = entry;
  const t0 = performance.now();
  let host: ReturnType<HostApi['createHostModules']> | undefined;
  let api: HostApi | undefined;
  let imports: WebAssembly.Imports = {};
  if (job.hostModules.length > 0) {
    api = await loadHost(job.hostModuleUrl);
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

port.on('message', (msg: RunMessage) => {
  run(msg).then(
    (result) => send(toDone(result)),
    (e: unknown) => {
      if (e instanceof RequestError) send({ type: 'error', code: e.code, message: e.message });
      else send({ type: 'error', code: 'INTERNAL', message: String((e as Error)?.stack ?? e) });
    },
  );
});
send({ type: 'ready' });

export type { Job };
