/**
 * The production wiring: the engine (src/engine) with the host imports (src/host: WASI subset and
 * wasmtime_attestation, answered by a host handler in this process), and the Attester over the
 * detected TEE (src/tee). The host handler signs guest attestation tokens with the same Attester, so
 * `attest_vm` tokens (P-384 key, ES384) and execution signatures (P-256 claim key, ES256) come from one
 * attested session (one REPORT_DATA binds both keys).
 */
import { COST_TABLE_VERSION, Engine } from '../engine/index.ts';
import {
  cpuVerifier,
  createHostHandler,
  type GpuVerifierOptions,
  type HostHandlerDeps,
  nvidiaGpuProvider,
  serviceHostSetup,
  WebGpuHost,
  type WebGpuHostOptions,
} from '../host/index.ts';
import {
  type ClaimBatchOptions,
  type ClaimSigningMode,
  type DetectOptions,
  detectTee,
} from '../tee/index.ts';
import { buildDigest } from '../version-digest.ts';
import type { TlsKeyBinding } from './attested-tls.ts';
import { TeeAttester } from './attester.ts';
import type { Backend } from './backend.ts';

export interface DefaultBackendOptions {
  /** Force a TEE provider ('simulated', 'configfs-tsm', 'sev-guest', 'tdx', 'azure-vtpm'); default: detect. */
  teeProvider?: string;
  /** Allow the simulated TEE when no hardware is found (default true). */
  allowSimulated?: boolean;
  /** Simulated TEE state directory. */
  stateDir?: string;
  sessionKeyLifetimeMs?: number;
  /** Options passed to `new Engine()` (hostHandler is set here). */
  engineOptions?: ConstructorParameters<typeof Engine>[0];
  /** Do not probe NVIDIA GPUs for the guests' attest_gpu (default: probe). */
  noGpu?: boolean;
  /**
   * An offline collateral bundle for the guests' attest_gpu (`serve --collateral`): the revocation of
   * the GPU device chain and of the RIM signing chains from its nvidia-ocsp items, with no network
   * (docs/reference-values.md). Without it both are "not checked".
   */
  gpuCollateral?: GpuVerifierOptions['collateral'];
  /** Bound of each captured guest output stream, bytes (default: src/host's, 64 KiB). */
  maxOutputBytes?: number;
  /** Offer WebGPU compute to guests (`serve --webgpu`; off by default; docs/webgpu.md). */
  webgpu?: WebGpuHostOptions;
  /**
   * The server build digest bound into session REPORT_DATA and every claim (64 hex, 'sha256:' allowed).
   * Default: this process's buildDigest() (src/version-digest.ts; computed once, before serving).
   * false: do not report one.
   */
  serverBuildSha256?: string | false;
  /** The sealing key suite (docs/sealed-execution.md; default x25519-sha256-chacha20poly1305), false: none. */
  sealSuite?: string | false;
  /** The TLS key to bind into every session (attested TLS; attested-tls.ts). */
  tlsKey?: TlsKeyBinding;
  /** Session-key claim signing: 'per-claim' (default) or 'batched' (docs/binding.md, "Batched claim signing"). */
  claimSigning?: ClaimSigningMode;
  /** Batched signing: window and batch size bound. */
  claimBatch?: ClaimBatchOptions;
}

export async function createDefaultBackend(opts: DefaultBackendOptions = {}): Promise<Backend> {
  const detect: DetectOptions = { allowSimulated: opts.allowSimulated ?? true };
  if (opts.teeProvider) detect.force = opts.teeProvider;
  if (opts.stateDir) detect.stateDir = opts.stateDir;
  const provider = await detectTee(detect);
  const build =
    opts.serverBuildSha256 === false ? undefined : (opts.serverBuildSha256 ?? (await buildDigest()).digest);
  const attester = new TeeAttester(provider, {
    ...(opts.sessionKeyLifetimeMs !== undefined ? { sessionKeyLifetimeMs: opts.sessionKeyLifetimeMs } : {}),
    ...(build !== undefined ? { serverBuildSha256: build } : {}),
    ...(opts.sealSuite !== undefined ? { sealSuite: opts.sealSuite } : {}),
    ...(opts.tlsKey !== undefined ? { tlsKey: opts.tlsKey } : {}),
    ...(opts.claimSigning !== undefined ? { claimSigning: opts.claimSigning } : {}),
    ...(opts.claimBatch !== undefined ? { claimBatch: opts.claimBatch } : {}),
  });
  const deps: HostHandlerDeps = {
    tee: provider,
    signer: attester.attester,
    verifyCpu: cpuVerifier(provider),
  };
  if (!opts.noGpu) {
    const g = await nvidiaGpuProvider(opts.gpuCollateral ? { collateral: opts.gpuCollateral } : {});
    if (g.gpu) deps.gpu = g.gpu;
    if (g.reason) deps.gpuUnavailableReason = g.reason;
  }
  let webgpu: WebGpuHost | undefined;
  let webgpuInfo: Backend['webgpu'];
  if (opts.webgpu) {
    try {
      webgpu = await WebGpuHost.open(opts.webgpu);
      deps.webgpu = webgpu;
      webgpuInfo = { available: true, adapter: webgpu.adapterInfo, limits: webgpu.limits };
    } catch (e) {
      deps.webgpuUnavailableReason = (e as Error).message;
      webgpuInfo = { available: false, reason: (e as Error).message };
    }
  }
  // executors (guest code, V8's compilers) run at niceness +10: the event loop answering health checks
  // and other clients keeps the CPU under load (docs/server.md, "Process model")
  const engine = new Engine({
    executorNice: 10,
    ...(opts.engineOptions ?? {}),
    hostHandler: createHostHandler(deps),
  });
  return {
    engine,
    attester,
    costTableVersion: COST_TABLE_VERSION,
    ...(webgpuInfo ? { webgpu: webgpuInfo } : {}),
    hostSetup(modules, context) {
      return serviceHostSetup(
        modules.map((module) => ({ module, name: '' })),
        {
          context,
          ...(opts.maxOutputBytes !== undefined ? { maxOutputBytes: opts.maxOutputBytes } : {}),
          ...(webgpu ? { webgpu: { limits: webgpu.limits } } : {}),
        },
      );
    },
  };
}
