/**
 * `wasmvm-tee run`: the local runner. Runs a WASI command module's `_start` with the WASI subset and
 * the `wasmtime_attestation` imports, on the engine, with the host's TEE (or the simulated one when
 * allowed); the guest's exit status becomes the process exit status.
 */

import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { isGasLimit, SEAL_SUITE_NAMES } from '../binding/defaults.ts';
import type { GuestAttestations } from '../binding/index.ts';
import type { ExecutionMode } from '../engine/index.ts';
// The engine and the host load only when a module runs (--help and usage errors stay fast).
import type {
  HostHandlerDeps,
  HostOptions,
  IssuerConfig,
  PreopenOption,
  WebGpuBackend,
  WebGpuHost,
  WebGpuUsage,
} from '../host/index.ts';
import { loadCollateralBundleFile } from './collateral-file.ts';
import { EXIT, EXIT_TABLE, RUN_TRAP_EXIT } from './exit-codes.ts';
import { receiptLines } from './receipts-text.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'run a WASI module locally with the attestation imports (like wasmtime run)';

export const help = `Usage: wasmvm-tee run module.wasm [options] [-- guest args...]

Runs the module's _start with WASI (preview1 subset) and wasmtime_attestation; exits with the
guest's exit code (proc_exit), 0 when _start returns, 134 on a trap or limit, 2 on a usage error.

Options:
  --dir=PATH[:ro|:rw]     preopen host directory PATH under the same name (read-only by default)
  --map GUEST=HOST[:ro|:rw]  preopen host directory HOST as GUEST
  --env K=V               set an environment variable for the guest (repeatable)
  --gas N                 gas limit (metered run); out of gas stops the guest
  --mode M                interp | singlepass | multipass (default interp)
  --timeout MS            wall-clock limit (default 60000)
  --allow-simulated       allow the SIMULATED TEE (no hardware here): attestations succeed, marked simulated
  --policy FILE           host policy JSON (docs/host.md), or a reference-value policy file
                          (docs/reference-values.md: pinned measurements, TCB minimums, RIM versions,
                          allowSimulated gate attest_vm / attest_gpu); --allow-simulated overrides
                          allowSimulated
  --issuers FILE          extra token issuers JSON array (NRAS, Azure, ITA presets; docs/host.md)
  --audit-log FILE        append every attestation call to this hash-chained audit log
  --cache-ttl MS          attestation cache TTL (default 60000; 0 disables)
  --deterministic         virtual clock and seeded random (WASI)
  --seed S                seed for --deterministic random (default 'wasmvm-tee')
  --tdx-collateral FILE   Intel TDX collateral JSON for verifying this host's TDX quotes (docs/tdx.md)
  --no-gpu                do not probe NVIDIA GPUs
GPU revocation (attest_gpu: the GPU device chain, nvidia.chain.revocation, and the signing chains of the
policy's RIMs, nvidia.rim.chain.revocation; docs/reference-values.md):
  --collateral FILE       an offline collateral bundle ('wasmvm-tee collateral fetch'): both chains' OCSP
                          responses from its nvidia-ocsp items, at each call's time, with no network; a
                          missing, expired, badly signed, revoked or unknown one FAILS the check
                          (COLLATERAL_MISSING_ITEM, COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID,
                          OCSP_REVOKED, OCSP_UNKNOWN) unless the policy's gpu.referenceValues.allowNotChecked
                          names it (then it stays not checked and those items are unused)
  --ocsp-online           ask NVIDIA's OCSP responder instead (network; not with --collateral)
                          Neither: both are "not checked", which fails attest_gpu's RIM appraisal unless
                          allowNotChecked names them
  --webgpu                offer WebGPU compute to the guest (wasmvm_webgpu imports, docs/webgpu.md)
  --webgpu-backend B      auto | default | opengles | vulkan | metal | d3d12 (default auto)
Sealed input (docs/sealed-execution.md §10; the same HPKE protocol as ExecuteSealed):
  --sealed-input FILE     give the guest, as its stdin, data sealed to a key this run makes inside the TEE:
                          the run writes --key-request, then waits for FILE (made by 'wasmvm-tee seal'
                          after it verified the request), opens it and runs the module
  --key-request OUT       where to write the key request (the key, the module's SHA-256 and this run's
                          configuration, bound into fresh TEE evidence)
  --nonce HEX             the data owner's nonce to bind into the key request (0..64 bytes)
  --seal-suite SUITE      x25519-sha256-chacha20poly1305 (default) | x25519-sha256-aes256gcm |
                          xwing-sha256-chacha20poly1305
  --sealed-input-timeout S  how long to wait for FILE, seconds (default 600); the key is gone after it
  -h, --help              this text

${EXIT_TABLE}`;

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
  /** attest_gpu: an offline collateral bundle for both GPU chains' revocation (loaded by runModule). */
  collateral?: string;
  /** attest_gpu: NVIDIA's OCSP responder for both GPU chains' revocation. */
  ocspOnline?: boolean;
  /** Offer WebGPU compute (wasmvm_webgpu). */
  webgpu?: boolean;
  webgpuBackend?: WebGpuBackend;
  /** Write guest output to the terminal as it is produced (main); else only captured (tests). */
  stream?: boolean;
  /** Sealed input: the file to wait for, where to write the key request, nonce, suite, wait (ms). */
  sealedInput?: { file: string; keyRequest: string; nonce?: Uint8Array; suite?: string; waitMs: number };
}

function dirSpec(spec: string, guest?: string): PreopenOption {
  let host = spec;
  let writable = false;
  const m = /^(.*):(ro|rw)$/.exec(spec);
  if (m) {
    host = m[1]!;
    writable = m[2] === 'rw';
  }
  if (host === '') throw new UsageError('USAGE', `empty directory in '${spec}'`);
  return { guest: guest ?? host, host, writable };
}

export function parseRunArgs(argv: readonly string[]): RunArgs {
  // after '--' everything goes to the guest; before it, positionals after the module do too (like wasmtime)
  const dd = argv.indexOf('--');
  const { values: v, positionals } = parseArgs(
    dd < 0 ? argv : argv.slice(0, dd),
    {
      dir: { type: 'string', multiple: true },
      map: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      gas: { type: 'string' },
      mode: { type: 'string' },
      timeout: { type: 'string' },
      'cache-ttl': { type: 'string' },
      'allow-simulated': { type: 'boolean' },
      deterministic: { type: 'boolean' },
      'no-gpu': { type: 'boolean' },
      policy: { type: 'string' },
      issuers: { type: 'string' },
      'audit-log': { type: 'string' },
      seed: { type: 'string' },
      'tdx-collateral': { type: 'string' },
      collateral: { type: 'string' },
      'ocsp-online': { type: 'boolean' },
      webgpu: { type: 'boolean' },
      'webgpu-backend': { type: 'string' },
      'sealed-input': { type: 'string' },
      'key-request': { type: 'string' },
      nonce: { type: 'string' },
      'seal-suite': { type: 'string' },
      'sealed-input-timeout': { type: 'string' },
    },
    true,
  );
  const [module, ...guestArgs] = positionals;
  if (!module) throw new UsageError('USAGE', 'missing module.wasm');
  const preopens = (v.dir ?? []).map((d) => dirSpec(d));
  for (const m of v.map ?? []) {
    const k = m.indexOf('=');
    if (k <= 0) throw new UsageError('USAGE', `--map wants GUEST=HOST, got '${m}'`);
    preopens.push(dirSpec(m.slice(k + 1), m.slice(0, k)));
  }
  const env: Record<string, string> = {};
  for (const e of v.env ?? []) {
    const k = e.indexOf('=');
    if (k <= 0) throw new UsageError('USAGE', `--env wants K=V, got '${e}'`);
    env[e.slice(0, k)] = e.slice(k + 1);
  }
  if (v.gas !== undefined && !(/^\d+$/.test(v.gas) && isGasLimit(BigInt(v.gas))))
    throw new UsageError('USAGE', `--gas wants an integer in 1..2^63-1, got '${v.gas}'`);
  const mode = v.mode ?? 'interp';
  if (mode !== 'interp' && mode !== 'singlepass' && mode !== 'multipass')
    throw new UsageError('USAGE', `--mode: interp | singlepass | multipass, got '${mode}'`);
  let timeoutMs = 60_000;
  if (v.timeout !== undefined) {
    timeoutMs = Number(v.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      throw new UsageError('USAGE', '--timeout wants milliseconds > 0');
  }
  let cacheTtlMs: number | undefined;
  if (v['cache-ttl'] !== undefined) {
    cacheTtlMs = Number(v['cache-ttl']);
    if (!Number.isInteger(cacheTtlMs) || cacheTtlMs < 0)
      throw new UsageError('USAGE', '--cache-ttl wants milliseconds >= 0');
  }
  const backend = v['webgpu-backend'];
  if (backend !== undefined && !['auto', 'default', 'opengles', 'vulkan', 'metal', 'd3d12'].includes(backend))
    throw new UsageError(
      'USAGE',
      `--webgpu-backend: auto | default | opengles | vulkan | metal | d3d12, got '${backend}'`,
    );
  if (v.collateral !== undefined && v['ocsp-online'])
    throw new UsageError(
      'USAGE',
      '--collateral is the offline source of the GPU revocation checks: not with --ocsp-online',
    );
  if (v.collateral === '') throw new UsageError('USAGE', '--collateral wants a bundle file');
  let sealedInput: RunArgs['sealedInput'];
  if (v['sealed-input'] !== undefined || v['key-request'] !== undefined) {
    if (!v['sealed-input'] || !v['key-request'])
      throw new UsageError('USAGE', '--sealed-input FILE and --key-request OUT go together');
    if (v.nonce !== undefined && !/^(?:[0-9a-fA-F]{2}){0,64}$/.test(v.nonce))
      throw new UsageError('USAGE', '--nonce: 0..64 bytes of hex');
    const suite = v['seal-suite'];
    if (suite !== undefined && !SEAL_SUITE_NAMES.includes(suite))
      throw new UsageError('USAGE', `--seal-suite: ${SEAL_SUITE_NAMES.join(' | ')}, got '${suite}'`);
    let waitMs = 600_000;
    if (v['sealed-input-timeout'] !== undefined) {
      const t = Number(v['sealed-input-timeout']);
      if (!Number.isInteger(t) || t <= 0 || t > 86_400)
        throw new UsageError('USAGE', '--sealed-input-timeout: seconds in 1..86400');
      waitMs = t * 1000;
    }
    sealedInput = {
      file: v['sealed-input'],
      keyRequest: v['key-request'],
      waitMs,
      ...(v.nonce !== undefined ? { nonce: Uint8Array.from(Buffer.from(v.nonce, 'hex')) } : {}),
      ...(suite !== undefined ? { suite } : {}),
    };
  } else if (
    v.nonce !== undefined ||
    v['seal-suite'] !== undefined ||
    v['sealed-input-timeout'] !== undefined
  )
    throw new UsageError('USAGE', '--nonce, --seal-suite and --sealed-input-timeout go with --sealed-input');
  return {
    module,
    preopens,
    env,
    args: [...guestArgs, ...(dd < 0 ? [] : argv.slice(dd + 1))],
    ...(v.gas !== undefined ? { gas: BigInt(v.gas) } : {}),
    mode,
    timeoutMs,
    allowSimulated: v['allow-simulated'] ?? false,
    ...(v.policy ? { policy: v.policy } : {}),
    ...(v.issuers ? { issuers: v.issuers } : {}),
    ...(v['audit-log'] ? { auditLog: v['audit-log'] } : {}),
    ...(cacheTtlMs !== undefined ? { cacheTtlMs } : {}),
    deterministic: v.deterministic ?? false,
    ...(v.seed ? { seed: v.seed } : {}),
    noGpu: v['no-gpu'] ?? false,
    ...(v['tdx-collateral'] ? { tdxCollateral: v['tdx-collateral'] } : {}),
    ...(v.collateral ? { collateral: v.collateral } : {}),
    ...(v['ocsp-online'] ? { ocspOnline: true } : {}),
    ...(v.webgpu ? { webgpu: true } : {}),
    ...(backend ? { webgpuBackend: backend as WebGpuBackend } : {}),
    ...(sealedInput ? { sealedInput } : {}),
  };
}

/**
 * The run's configuration as bound into a sealed-input key request (exact JSON text): what the guest
 * gets besides the input — argv, environment, directories (host path, guest name, writable), engine mode,
 * gas, time limit, determinism. The data owner reads it in the request before sealing.
 */
export function runConfigText(a: RunArgs): string {
  return JSON.stringify({
    args: [basename(a.module), ...a.args],
    env: a.env,
    preopens: a.preopens.map((p) => ({ guest: p.guest, host: p.host, writable: p.writable === true })),
    mode: a.mode,
    gas: a.gas === undefined ? null : a.gas.toString(),
    timeoutMs: a.timeoutMs,
    deterministic: a.deterministic,
    seed: a.seed ?? null,
    webgpu: a.webgpu === true,
  });
}

export interface RunOutcome {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  status: string;
  message?: string;
  /** WebGPU compute the guest used (adapter, dispatches...). */
  webgpu?: WebGpuUsage;
  /** The guest's attest_vm / attest_gpu calls as the host answered them (docs/host.md "Receipts"). */
  guestAttestations?: GuestAttestations;
}

/** Run a module as `wasmvm-tee run` does; `deps` overrides the detected providers (tests). */
export async function runModule(a: RunArgs, depsOverride?: Partial<HostHandlerDeps>): Promise<RunOutcome> {
  let bytecode: Uint8Array;
  try {
    bytecode = new Uint8Array(readFileSync(a.module));
  } catch (e) {
    throw new UsageError('BAD_INPUT', `cannot read ${a.module}: ${(e as Error).message}`);
  }
  for (const p of a.preopens) {
    let ok = false;
    try {
      ok = statSync(p.host).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError('BAD_INPUT', `--dir/--map: '${p.host}' is not a directory`);
  }
  const { Engine, EngineError } = await import('../engine/index.ts');
  const {
    createHostHandlerInstance,
    defaultHostDeps,
    loadPolicy,
    normalizeIssuers,
    sealedInput,
    WEBGPU_MODULE,
    WebGpuHost,
  } = await import('../host/index.ts');
  const policy = a.policy ? loadPolicy(a.policy) : undefined;
  // read before anything runs: a bad bundle is a usage error (exit 2), never a silently unchecked GPU
  const gpuCollateral = a.collateral ? await loadCollateralBundleFile(a.collateral) : undefined;
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
        ...(gpuCollateral ? { gpuCollateral } : {}),
        ...(a.ocspOnline ? { gpuOcspOnline: true } : {}),
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
  // Sealed input: attest a fresh key with this module and configuration, publish the request, wait for
  // the owner's sealed file, open it here (inside the TEE); the plaintext becomes the guest's stdin.
  let stdinData: Uint8Array | undefined;
  if (a.sealedInput) {
    const tee = (depsOverride ?? deps).tee;
    if (!tee)
      throw new UsageError(
        'BAD_INPUT',
        `--sealed-input needs a TEE to attest the run's key${'teeError' in detected && detected.teeError ? `: ${detected.teeError}` : ''} (--allow-simulated for the simulated one)`,
      );
    const si = await sealedInput();
    const s = a.sealedInput;
    const k = await si.makeSealedInputKey(tee, {
      bytecode,
      run: runConfigText(a),
      waitMs: s.waitMs,
      ...(s.nonce ? { nonce: s.nonce } : {}),
      ...(s.suite ? { suite: s.suite } : {}),
    });
    si.writeKeyRequest(s.keyRequest, k.request);
    process.stderr.write(
      `wasmvm-tee run: wrote the key request ${s.keyRequest} (key ${k.request.keyId}, module sha256 ${k.request.moduleSha256}${tee.simulated ? ', SIMULATED TEE' : ''}); waiting for ${s.file} until ${k.request.notAfter}\n`,
    );
    stdinData = await si.receiveSealedInput(k, s.file, {
      onStale: (kid) =>
        process.stderr.write(`wasmvm-tee run: ${s.file} is sealed to key ${kid}, not ours: still waiting\n`),
    });
  }
  const hostOptions: HostOptions = {
    wasi: {
      args: [basename(a.module), ...a.args],
      env: a.env,
      preopens: a.preopens,
      deterministic: a.deterministic,
      ...(a.seed ? { seed: a.seed } : {}),
      stdio: a.stream ? 'bridge' : 'capture',
      ...(stdinData ? { stdin: { data: stdinData } } : {}),
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
    const exitCode = r.status === 'ok' ? 0 : r.status === 'exit' ? (r.exitCode ?? 0) & 0xff : RUN_TRAP_EXIT;
    return {
      exitCode,
      stdout: r.stdout ?? new Uint8Array(0),
      stderr: r.stderr ?? new Uint8Array(0),
      status: r.status,
      ...(r.message ? { message: r.message } : {}),
      ...(r.webgpu ? { webgpu: r.webgpu } : {}),
      ...(r.guestAttestations ? { guestAttestations: r.guestAttestations } : {}),
    };
  } catch (e) {
    if (
      e instanceof EngineError &&
      e.code === 'UNKNOWN_IMPORT' &&
      e.message.includes(WEBGPU_MODULE) &&
      !a.webgpu
    )
      throw new UsageError('USAGE', `${e.message}: the module uses WebGPU; run it with --webgpu`);
    throw e;
  } finally {
    stdinData?.fill(0);
    await engine.close();
    webgpu?.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let a: RunArgs;
  try {
    a = parseRunArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('run', e, (s) => process.stderr.write(`${s}\n`), help);
    throw e;
  }
  let r: RunOutcome;
  try {
    r = await runModule({ ...a, stream: true });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`wasmvm-tee run: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof (await import('../host/index.ts')).HostError && e.code === 'HOST_SEALED_INPUT') {
      // the sealed input never came, or does not open with this run's key: nothing ran
      process.stderr.write(`wasmvm-tee run: ${e.code}: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof (await import('../engine/index.ts')).EngineError) {
      // a module the engine refuses (invalid bytecode, unknown import, a limit): an input error
      process.stderr.write(`wasmvm-tee run: ${e.code}: ${e.message}\n`);
      return EXIT.USAGE;
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
  for (const l of receiptLines(r.guestAttestations))
    process.stderr.write(`wasmvm-tee run: guest attestation ${l}\n`);
  return r.exitCode;
}
