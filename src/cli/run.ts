/**
 * `wasmvm-tee run`: the local runner. Runs a WASI command module's `_start` with the WASI subset and
 * the `wasmtime_attestation` imports, on the engine, with the host's TEE (or the simulated one when
 * allowed); the guest's exit status becomes the process exit status.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Engine, EngineError, type ExecutionMode } from '../engine/index.ts';
import {
  createHostHandlerInstance,
  defaultHostDeps,
  type HostHandlerDeps,
  type HostOptions,
  type IssuerConfig,
  loadPolicy,
  normalizeIssuers,
  type PreopenOption,
  WEBGPU_MODULE,
  type WebGpuBackend,
  WebGpuHost,
  type WebGpuUsage,
} from '../host/index.ts';

export const summary = 'run a WASI module locally with the attestation imports (like wasmtime run)';

export const help = `Usage: wasmvm-tee run module.wasm [options] [-- guest args...]

Runs the module's _start with WASI (preview1 subset) and wasmtime_attestation; exits with the
guest's exit code (proc_exit), 0 when _start returns, 134 on a trap, 2 on a usage error.

Options:
  --dir=PATH[:ro|:rw]     preopen host directory PATH under the same name (read-only by default)
  --map GUEST=HOST[:ro|:rw]  preopen host directory HOST as GUEST
  --env K=V               set an environment variable for the guest (repeatable)
  --gas N                 gas limit (metered run); out of gas stops the guest
  --mode M                interp | singlepass | multipass (default interp)
  --timeout MS            wall-clock limit (default 60000)
  --allow-simulated       allow the SIMULATED TEE (no hardware here): attestations succeed, marked simulated
  --policy FILE           host policy JSON (docs/host.md); --allow-simulated overrides allowSimulated
  --issuers FILE          extra token issuers JSON array (NRAS, Azure, ITA presets; docs/host.md)
  --audit-log FILE        append every attestation call to this hash-chained audit log
  --cache-ttl MS          attestation cache TTL (default 60000; 0 disables)
  --deterministic         virtual clock and seeded random (WASI)
  --seed S                seed for --deterministic random (default 'wasmvm-tee')
  --tdx-collateral FILE   Intel TDX collateral JSON for verifying this host's TDX quotes (docs/tdx.md)
  --no-gpu                do not probe NVIDIA GPUs
  --webgpu                offer WebGPU compute to the guest (wasmvm_webgpu imports, docs/webgpu.md)
  --webgpu-backend B      auto | default | opengles | vulkan | metal | d3d12 (default auto)
  -h, --help              this text`;

export interface RunArgs {
  module: string;
  preopens: PreopenOption[];
  env: Record<string, string>;
  args: string[];
  gas?: bigint;
  mode: ExecutionMode;
  timeoutMs: number;
  allowSimulated: boolean;
  policy?: string;
  issuers?: string;
  auditLog?: string;
  cacheTtlMs?: number;
  deterministic: boolean;
  seed?: string;
  noGpu: boolean;
  tdxCollateral?: string;
  /** Offer WebGPU compute (wasmvm_webgpu). */
  webgpu?: boolean;
  webgpuBackend?: WebGpuBackend;
  /** Write guest output to the terminal as it is produced (main); else only captured (tests). */
  stream?: boolean;
}

export class UsageError extends Error {}

function dirSpec(spec: string, guest?: string): PreopenOption {
  let host = spec;
  let writable = false;
  const m = /^(.*):(ro|rw)$/.exec(spec);
  if (m) {
    host = m[1]!;
    writable = m[2] === 'rw';
  }
  if (host === '') throw new UsageError(`empty directory in '${spec}'`);
  return { guest: guest ?? host, host, writable };
}

export function parseRunArgs(argv: readonly string[]): RunArgs {
  const out: Partial<RunArgs> & { preopens: PreopenOption[]; env: Record<string, string>; args: string[] } = {
    preopens: [],
    env: {},
    args: [],
  };
  let i = 0;
  const value = (name: string, inline?: string): string => {
    if (inline !== undefined) return inline;
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    switch (name) {
      case '--dir':
        out.preopens.push(dirSpec(value(name, inline)));
        break;
      case '--map': {
        const v = value(name, inline);
        const k = v.indexOf('=');
        if (k <= 0) throw new UsageError(`--map wants GUEST=HOST, got '${v}'`);
        out.preopens.push(dirSpec(v.slice(k + 1), v.slice(0, k)));
        break;
      }
      case '--env': {
        const v = value(name, inline);
        const k = v.indexOf('=');
        if (k <= 0) throw new UsageError(`--env wants K=V, got '${v}'`);
        out.env[v.slice(0, k)] = v.slice(k + 1);
        break;
      }
      case '--gas': {
        const v = value(name, inline);
        if (!/^\d+$/.test(v)) throw new UsageError(`--gas wants a non-negative integer, got '${v}'`);
        out.gas = BigInt(v);
        break;
      }
      case '--mode': {
        const v = value(name, inline);
        if (v !== 'interp' && v !== 'singlepass' && v !== 'multipass') {
          throw new UsageError(`--mode: interp | singlepass | multipass, got '${v}'`);
        }
        out.mode = v;
        break;
      }
      case '--timeout': {
        const v = Number(value(name, inline));
        if (!Number.isInteger(v) || v <= 0) throw new UsageError('--timeout wants milliseconds > 0');
        out.timeoutMs = v;
        break;
      }
      case '--cache-ttl': {
        const v = Number(value(name, inline));
        if (!Number.isInteger(v) || v < 0) throw new UsageError('--cache-ttl wants milliseconds >= 0');
        out.cacheTtlMs = v;
        break;
      }
      case '--allow-simulated':
        out.allowSimulated = true;
        break;
      case '--deterministic':
        out.deterministic = true;
        break;
      case '--no-gpu':
        out.noGpu = true;
        break;
      case '--policy':
        out.policy = value(name, inline);
        break;
      case '--issuers':
        out.issuers = value(name, inline);
        break;
      case '--audit-log':
        out.auditLog = value(name, inline);
        break;
      case '--seed':
        out.seed = value(name, inline);
        break;
      case '--tdx-collateral':
        out.tdxCollateral = value(name, inline);
        break;
      case '--webgpu':
        out.webgpu = true;
        break;
      case '--webgpu-backend': {
        const v = value(name, inline);
        if (!['auto', 'default', 'opengles', 'vulkan', 'metal', 'd3d12'].includes(v))
          throw new UsageError(
            `--webgpu-backend: auto | default | opengles | vulkan | metal | d3d12, got '${v}'`,
          );
        out.webgpuBackend = v as WebGpuBackend;
        break;
      }
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
        if (out.module === undefined) out.module = a;
        else out.args.push(a); // arguments after the module go to the guest (like wasmtime)
    }
  }
  if (!out.module) throw new UsageError('missing module.wasm');
  return {
    module: out.module,
    preopens: out.preopens,
    env: out.env,
    args: out.args,
    ...(out.gas !== undefined ? { gas: out.gas } : {}),
    mode: out.mode ?? 'interp',
    timeoutMs: out.timeoutMs ?? 60_000,
    allowSimulated: out.allowSimulated ?? false,
    ...(out.policy ? { policy: out.policy } : {}),
    ...(out.issuers ? { issuers: out.issuers } : {}),
    ...(out.auditLog ? { auditLog: out.auditLog } : {}),
    ...(out.cacheTtlMs !== undefined ? { cacheTtlMs: out.cacheTtlMs } : {}),
    deterministic: out.deterministic ?? false,
    ...(out.seed ? { seed: out.seed } : {}),
    noGpu: out.noGpu ?? false,
    ...(out.tdxCollateral ? { tdxCollateral: out.tdxCollateral } : {}),
    ...(out.webgpu ? { webgpu: true } : {}),
    ...(out.webgpuBackend ? { webgpuBackend: out.webgpuBackend } : {}),
  };
}

export interface RunOutcome {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  status: string;
  message?: string;
  /** WebGPU compute the guest used (adapter, dispatches...). */
  webgpu?: WebGpuUsage;
}

/** Run a module as `wasmvm-tee run` does; `deps` overrides the detected providers (tests). */
export async function runModule(a: RunArgs, depsOverride?: Partial<HostHandlerDeps>): Promise<RunOutcome> {
  let bytecode: Uint8Array;
  try {
    bytecode = new Uint8Array(readFileSync(a.module));
  } catch (e) {
    throw new UsageError(`cannot read ${a.module}: ${(e as Error).message}`);
  }
  for (const p of a.preopens) {
    let ok = false;
    try {
      ok = statSync(p.host).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--dir/--map: '${p.host}' is not a directory`);
  }
  const policy = a.policy ? loadPolicy(a.policy) : undefined;
  const issuers: IssuerConfig[] = a.issuers
    ? normalizeIssuers(JSON.parse(readFileSync(a.issuers, 'utf8')) as IssuerConfig[])
    : [];
  const allowSimulated = a.allowSimulated || policy?.allowSimulated === true;
  const detected = depsOverride
    ? {}
    : await defaultHostDeps({
        allowSimulated,
        noGpu: a.noGpu,
        ...(a.tdxCollateral ? { tdxCollateral: a.tdxCollateral } : {}),
      });
  if (!depsOverride && 'teeError' in detected && detected.teeError) {
    process.stderr.write(
      `wasmvm-tee run: note: attest_vm will answer "no TEE available": ${detected.teeError}\n`,
    );
  }
  const { teeError: _t, ...deps } = detected as HostHandlerDeps & { teeError?: string };
  let webgpu: WebGpuHost | undefined;
  let webgpuUnavailableReason: string | undefined;
  if (a.webgpu) {
    try {
      webgpu = await WebGpuHost.open({ backend: a.webgpuBackend ?? 'auto' });
    } catch (e) {
      webgpuUnavailableReason = (e as Error).message;
      process.stderr.write(`wasmvm-tee run: note: WebGPU is not available: ${webgpuUnavailableReason}\n`);
    }
  }
  const instance = createHostHandlerInstance({
    ...deps,
    ...(webgpu ? { webgpu } : {}),
    ...(webgpuUnavailableReason ? { webgpuUnavailableReason } : {}),
    ...depsOverride,
    policy: { ...(policy ?? {}), ...(a.allowSimulated ? { allowSimulated: true } : {}) },
    issuers,
    ...(a.auditLog ? { auditLogPath: a.auditLog } : {}),
    ...(a.cacheTtlMs !== undefined ? { cacheTtlMs: a.cacheTtlMs } : {}),
    ...(a.stream
      ? {
          stdio: (fd: 1 | 2, data: Uint8Array) =>
            void (fd === 1 ? process.stdout : process.stderr).write(data),
        }
      : {}),
  });
  const hostOptions: HostOptions = {
    wasi: {
      args: [basename(a.module), ...a.args],
      env: a.env,
      preopens: a.preopens,
      deterministic: a.deterministic,
      ...(a.seed ? { seed: a.seed } : {}),
      stdio: a.stream ? 'bridge' : 'capture',
      maxOutputBytes: 16 * 1024 * 1024,
    },
    attestation: { context: { runner: 'wasmvm-tee run', module: basename(a.module) } },
    ...(webgpu ? { webgpu: { limits: webgpu.limits } } : {}),
  };
  const engine = new Engine({ hostHandler: instance.handler });
  try {
    const r = await engine.execute({
      bytecode,
      fn: '_start',
      args: [],
      mode: a.mode,
      ...(a.gas !== undefined ? { gasLimit: a.gas } : {}),
      hostModules: ['wasi_snapshot_preview1', 'wasmtime_attestation', ...(a.webgpu ? [WEBGPU_MODULE] : [])],
      hostOptions: hostOptions as Record<string, unknown>,
      limits: { timeoutMs: a.timeoutMs, maxOutputBytes: 32 * 1024 * 1024 },
    });
    const exitCode = r.status === 'ok' ? 0 : r.status === 'exit' ? (r.exitCode ?? 0) & 0xff : 134;
    return {
      exitCode,
      stdout: r.stdout ?? new Uint8Array(0),
      stderr: r.stderr ?? new Uint8Array(0),
      status: r.status,
      ...(r.message ? { message: r.message } : {}),
      ...(r.webgpu ? { webgpu: r.webgpu } : {}),
    };
  } catch (e) {
    if (
      e instanceof EngineError &&
      e.code === 'UNKNOWN_IMPORT' &&
      e.message.includes(WEBGPU_MODULE) &&
      !a.webgpu
    )
      throw new UsageError(`${e.message}: the module uses WebGPU; run it with --webgpu`);
    throw e;
  } finally {
    await engine.close();
    webgpu?.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let a: RunArgs;
  try {
    a = parseRunArgs(argv);
  } catch (e) {
    process.stderr.write(`wasmvm-tee run: ${(e as Error).message}\n\n${help}\n`);
    return 2;
  }
  let r: RunOutcome;
  try {
    r = await runModule({ ...a, stream: true });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`wasmvm-tee run: ${e.message}\n`);
      return 2;
    }
    if (e instanceof EngineError) {
      process.stderr.write(`wasmvm-tee run: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  // the output was streamed as the guest wrote it (WASI stdio 'bridge')
  if (r.status !== 'ok' && r.status !== 'exit') {
    process.stderr.write(`wasmvm-tee run: guest stopped: ${r.status}${r.message ? `: ${r.message}` : ''}\n`);
  }
  if (r.webgpu) {
    const g = r.webgpu;
    process.stderr.write(
      `wasmvm-tee run: WebGPU: ${g.dispatches} dispatches, ${g.workgroups} workgroups on ${g.adapter.device || g.adapter.description || 'adapter'} (${g.adapter.backend})\n`,
    );
  }
  return r.exitCode;
}
