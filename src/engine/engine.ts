/**
 * The Engine: validates a request, instruments the bytecode (gas, stack height, NaN canonicalization,
 * memory cap), and runs it in the executor process of the requested mode. Traps are results; bad requests
 * throw EngineError.
 */
import { isGasLimit } from '../binding/index.ts';
import { checkArgs } from './args.ts';
import { EngineError } from './errors.ts';
import { ForkedExecutor } from './executors/forked.ts';
import { LocalExecutor } from './executors/local.ts';
import type { ModeExecutor } from './executors/mode-executor.ts';
import { DEFAULT_LIMITS, resolveLimits } from './limits.ts';
import {
  callerHasDefaultWasmFlags,
  type EngineOptions,
  type EngineStats,
  EXECUTION_MODES,
  MODE_V8_FLAGS,
} from './options.ts';
import { PreparedCache } from './prepared-cache.ts';
import type { Job, JobResult } from './protocol.ts';
import { ShaCache } from './sha-cache.ts';
import type { ExecuteRequest, ExecuteResult, ExecutionMode, Limits, ValueType } from './types.ts';
import { isValueType } from './values.ts';

export {
  callerHasDefaultWasmFlags,
  type EngineOptions,
  type EngineStats,
  EXECUTION_MODES,
  type HostHandler,
  MODE_V8_FLAGS,
} from './options.ts';

export const UNLIMITED_GAS = (1n << 63n) - 1n;

export class Engine {
  readonly options: EngineOptions;
  readonly limits: Limits;
  private readonly executors = new Map<ExecutionMode, ModeExecutor>();
  private readonly shas = new ShaCache();
  private nextId = 1;
  private readonly modules: PreparedCache;
  private closed = false;
  private readonly counters = { executions: 0, hits: 0, misses: 0, byStatus: {} as EngineStats['byStatus'] };

  constructor(options: EngineOptions = {}) {
    this.options = options;
    this.limits = Object.freeze(resolveLimits(DEFAULT_LIMITS, options.limits));
    this.modules = new PreparedCache(options, this.shas);
  }

  private executor(mode: ExecutionMode): ModeExecutor {
    let e = this.executors.get(mode);
    if (!e) {
      const local =
        MODE_V8_FLAGS[mode].length === 0 &&
        this.options.interpInProcess === true &&
        (this.options.extraV8Flags ?? []).length === 0 &&
        callerHasDefaultWasmFlags();
      e = local ? new LocalExecutor(mode, this) : new ForkedExecutor(mode, this);
      this.executors.set(mode, e);
    }
    return e;
  }

  /** Run one execution. Traps are results; bad requests throw EngineError. */
  async execute(req: ExecuteRequest): Promise<ExecuteResult> {
    if (this.closed) throw new EngineError('ENGINE_UNAVAILABLE', 'engine is closed');
    const mode = req.mode ?? 'interp';
    if (!EXECUTION_MODES.includes(mode))
      throw new EngineError('INVALID_ARGUMENT', `unknown mode ${String(mode)}`);
    // no per-request limits: the engine's own (frozen) object, so caches keyed by it hit
    const limits = req.limits ? resolveLimits(this.limits, req.limits) : this.limits;
    const bytecode = req.bytecode;
    if (!(bytecode instanceof Uint8Array))
      throw new EngineError('INVALID_ARGUMENT', 'bytecode must be a Uint8Array');
    if (bytecode.length > limits.maxBytecodeBytes) {
      throw new EngineError(
        'BYTECODE_TOO_LARGE',
        `bytecode is ${bytecode.length} bytes, above the limit of ${limits.maxBytecodeBytes}`,
      );
    }
    if (req.gasLimit !== undefined && !isGasLimit(req.gasLimit)) {
      throw new EngineError(
        'INVALID_ARGUMENT',
        `gasLimit must be a bigint in 1..2^63-1 (got ${String(req.gasLimit)}); meter: true counts gas without a limit`,
      );
    }
    const metered = req.meter ?? req.gasLimit !== undefined;
    const gas = metered ? (req.gasLimit ?? UNLIMITED_GAS) : undefined;
    const canonicalizeNaN = req.canonicalizeNaN ?? metered;
    // One deadline from here to the answer: preparation, compilation, instantiation and the call.
    const t0 = performance.now();
    const deadline = t0 + limits.timeoutMs;
    const prepared = await this.modules.prepare(bytecode, metered, canonicalizeNaN, limits, deadline);
    if (prepared === 'timeout') {
      return this.count(this.deadlineResult(mode, limits.timeoutMs, t0, this.shas.sha256(bytecode)));
    }
    const { prep, sha } = prepared;

    const exp = prep.info.exports.get(req.fn);
    if (!exp) throw new EngineError('FUNCTION_NOT_FOUND', `no export named ${JSON.stringify(req.fn)}`);
    if (exp.kind !== 'func')
      throw new EngineError('NOT_A_FUNCTION', `export ${JSON.stringify(req.fn)} is a ${exp.kind}`);
    const params = exp.params ?? [];
    const results = exp.results ?? [];
    for (const t of [...params, ...results]) {
      if (!isValueType(t)) {
        throw new EngineError(
          'UNSUPPORTED_FEATURE',
          `export ${req.fn} uses value type ${t} (only i32/i64/f32/f64)`,
        );
      }
    }
    if (params.length > limits.maxArgs)
      throw new EngineError('LIMIT_EXCEEDED', `export takes ${params.length} arguments, above maxArgs`);
    if (results.length > limits.maxResults) {
      throw new EngineError('LIMIT_EXCEEDED', `export returns ${results.length} results, above maxResults`);
    }
    const args = checkArgs(req.args, params as ValueType[], req.fn);
    const hostModules = [...(req.hostModules ?? [])];
    for (const imp of prep.info.imports) {
      if (imp.kind !== 'func' || !hostModules.includes(imp.module)) {
        throw new EngineError('UNKNOWN_IMPORT', `unknown import ${imp.module}.${imp.name} (${imp.kind})`);
      }
    }
    const signal = req.signal;
    const base = { bytecodeSha256: sha, mode };
    if (signal?.aborted) {
      return this.count({
        status: 'cancelled',
        outputs: [],
        message: 'cancelled',
        ...base,
        durationMs: 0,
        cacheHit: false,
      });
    }
    const job: Job = {
      fn: req.fn,
      params: params as ValueType[],
      results: results as ValueType[],
      args,
      hostModules,
      hostOptions: req.hostOptions ?? {},
      maxOutputBytes: limits.maxOutputBytes,
      // what is left of the deadline (the executor counts compilation and instantiation in it)
      timeoutMs: Math.max(1, Math.ceil(deadline - performance.now())),
    };
    if (gas !== undefined) job.gas = gas;
    if (prep.startExport) job.startExport = prep.startExport;
    if (this.options.hostModuleUrl) job.hostModuleUrl = this.options.hostModuleUrl;
    if ((this.options.extraV8Flags ?? []).includes('--allow-natives-syntax')) job.probeTier = true;
    const r = await this.executor(mode).run(this.nextId++, prep.key, prep.bytes, job, signal);
    const result: ExecuteResult & { tier?: JobResult['tier'] } = {
      status: r.status,
      outputs: r.outputs,
      ...base,
      durationMs: r.durationMs,
      cacheHit: r.cacheHit,
    };
    if (r.message !== undefined) result.message = r.message;
    if (r.exitCode !== undefined) result.exitCode = r.exitCode;
    if (metered) {
      result.gasUsed =
        r.gasUsed ?? (r.status === 'deadline_exceeded' || r.status === 'cancelled' ? undefined : 0n);
      if (result.gasUsed === undefined) delete result.gasUsed;
      if (prep.costTableVersion !== undefined) result.costTableVersion = prep.costTableVersion;
    }
    if (r.stdout) result.stdout = r.stdout;
    if (r.stderr) result.stderr = r.stderr;
    if (r.tier) result.tier = r.tier;
    if (r.webgpu) result.webgpu = r.webgpu;
    if (r.guestAttestations) result.guestAttestations = r.guestAttestations;
    return this.count(result);
  }

  private deadlineResult(mode: ExecutionMode, timeoutMs: number, t0: number, sha: string): ExecuteResult {
    return {
      status: 'deadline_exceeded',
      outputs: [],
      message: `deadline of ${timeoutMs} ms exceeded (module preparation)`,
      bytecodeSha256: sha,
      mode,
      durationMs: performance.now() - t0,
      cacheHit: false,
    };
  }

  private count(r: ExecuteResult): ExecuteResult {
    this.counters.executions++;
    this.counters.byStatus[r.status] = (this.counters.byStatus[r.status] ?? 0) + 1;
    if (r.status !== 'cancelled') {
      if (r.cacheHit) this.counters.hits++;
      else if (r.status !== 'deadline_exceeded') this.counters.misses++;
    }
    return r;
  }

  /** Start the executor of a mode now (otherwise lazily on first use); resolves with its V8 argv. */
  async warmup(mode: ExecutionMode = 'interp'): Promise<{ pid: number; execArgv: string[]; v8: string }> {
    return this.executor(mode).warmup();
  }

  stats(): EngineStats {
    let entries = 0;
    let bytes = 0;
    const executors: EngineStats['executors'] = {};
    for (const [mode, e] of this.executors) {
      entries += e.cacheEntries;
      bytes += e.cacheBytes;
      executors[mode] = e.info();
    }
    return {
      executions: this.counters.executions,
      byStatus: { ...this.counters.byStatus },
      cache: { hits: this.counters.hits, misses: this.counters.misses, entries, bytes },
      executors,
    };
  }

  /** For tests: kill a mode's executor process as a crash would. */
  killExecutor(mode: ExecutionMode): boolean {
    return this.executors.get(mode)?.kill() ?? false;
  }

  /** Stop everything: executors are asked to exit and killed when they do not within 2 s. */
  async close(): Promise<void> {
    this.closed = true;
    this.modules.close();
    const all = [...this.executors.values()].map((e) => e.close());
    this.executors.clear();
    await Promise.all(all);
  }
}
