/**
 * Host imports given to guests: `wasmtime_attestation` and a WASI preview1 subset.
 *
 * Worker side (engine): `createHostModules(names, options, bridge)` builds the import object.
 * Parent side (service, CLI): `createHostHandler(deps)` answers the bridge's calls.
 * See docs/host.md.
 */

import { ATTESTATION_MODULE, AttestationModule, type AttestationModuleOptions } from './attestation.ts';
import { HostError } from './errors.ts';
import type { GpuAttestationProvider, HostHandlerDeps } from './handler.ts';
import { GuestMemory } from './memory.ts';
import type { DefaultDepsOptions, GpuVerifierOptions } from './providers.ts';
import type { HostBridge, HostModules } from './types.ts';
import { Wasi, type WasiOptions } from './wasi/index.ts';
import { WEBGPU_MODULE, type WebGpuUsage } from './webgpu/abi.ts';
import { WebGpuModule, type WebGpuModuleOptions } from './webgpu/guest.ts';

export {
  GUEST_GPU_NONCE_TAG,
  GUEST_REPORT_DATA_TAG,
  guestGpuNonce,
  guestReportData,
} from '../binding/index.ts';
export type { AttestationModuleOptions } from './attestation.ts';
export { ATTESTATION_MODULE, MAX_GUEST_DATA, MAX_TOKEN_BYTES, TEE_CODE } from './attestation.ts';
export { AuditLog, type AuditOptions, type AuditVerification, verifyAuditLog } from './audit.ts';
export { TtlCache } from './cache.ts';
export { HostError, type HostErrorCode, HostTrap, WasiExit } from './errors.ts';
export {
  createHostHandler,
  createHostHandlerInstance,
  type GpuAttestationProvider,
  type HostHandlerDeps,
  type HostHandlerInstance,
  type TokenSigner,
} from './handler.ts';
export {
  DEFAULT_POLICY,
  type HostPolicy,
  HostPolicyError,
  loadPolicy,
  PolicyError,
  parsePolicy,
} from './policy.ts';
export type { DefaultDepsOptions, GpuVerifierOptions } from './providers.ts';
export { ISSUER_PRESETS, type IssuerConfig, normalizeIssuers, TokenVerifier } from './tokens.ts';
export type {
  AttestationErrorCode,
  AttestationResult,
  HostBridge,
  HostHandler,
  HostModules,
} from './types.ts';
export type { PreopenOption, WasiOptions } from './wasi/index.ts';
export {
  DEFAULT_WEBGPU_LIMITS,
  probeWebGpu,
  WEBGPU_GAS,
  WEBGPU_GAS_TABLE_VERSION,
  WEBGPU_MODULE,
  type WebGpuAdapterInfo,
  type WebGpuBackend,
  WebGpuHost,
  type WebGpuHostOptions,
  type WebGpuLimits,
  type WebGpuModuleOptions,
  WebGpuUnavailableError,
  type WebGpuUsage,
  webgpuImportNames,
} from './webgpu/index.ts';

export const WASI_MODULE = 'wasi_snapshot_preview1';

/** Host modules this implementation provides. */
export const HOST_MODULES: readonly string[] = [WASI_MODULE, ATTESTATION_MODULE, WEBGPU_MODULE];

/** Options passed by the engine through ExecuteRequest.hostOptions (JSON-serializable). */
export interface HostOptions {
  wasi?: WasiOptions;
  attestation?: AttestationModuleOptions;
  /** WebGPU compute (`wasmvm_webgpu`): the operator's limits, mirrored on the worker side. */
  webgpu?: WebGpuModuleOptions;
}

export class UnknownHostModuleError extends HostError<'UNKNOWN_IMPORT'> {
  constructor(message: string) {
    super('UNKNOWN_IMPORT', message);
  }
}

/**
 * Build the import object for a guest (called inside the engine's worker).
 * `names`: the host modules to offer ('wasi_snapshot_preview1', 'wasmtime_attestation').
 * `options`: ExecuteRequest.hostOptions ({ wasi?: WasiOptions, attestation?: { context } }).
 * `bridge`: synchronous calls to the parent's HostHandler.
 */
export function createHostModules(
  names: readonly string[],
  options: Record<string, unknown>,
  bridge: HostBridge,
): HostModules {
  const opts = (options ?? {}) as HostOptions;
  const mem = new GuestMemory();
  const imports: WebAssembly.Imports = {};
  let wasi: Wasi | undefined;
  let att: AttestationModule | undefined;
  let gpu: WebGpuModule | undefined;
  for (const name of names) {
    if (name === WASI_MODULE) {
      wasi = new Wasi(mem, opts.wasi ?? {}, (fd, data) => {
        bridge.call('stdio', { fd, data: Buffer.from(data).toString('base64') });
      });
      imports[name] = wasi.imports();
    } else if (name === ATTESTATION_MODULE) {
      att = new AttestationModule(mem, bridge, opts.attestation ?? {});
      imports[name] = att.imports();
    } else if (name === WEBGPU_MODULE) {
      gpu = new WebGpuModule(mem, bridge, opts.webgpu ?? {});
      imports[name] = gpu.imports() as never;
    } else {
      throw new UnknownHostModuleError(
        `unknown host module '${name}' (available: ${HOST_MODULES.join(', ')})`,
      );
    }
  }
  return {
    imports,
    attach(instance: WebAssembly.Instance) {
      const m = instance.exports.memory;
      mem.attach(m instanceof WebAssembly.Memory ? m : undefined);
      att?.attach(instance.exports);
      gpu?.attach(instance.exports);
    },
    collect() {
      // WebGPU: everything the execution created is destroyed now; its usage goes into the result.
      let webgpu: WebGpuUsage | undefined;
      if (gpu) {
        webgpu = gpu.usageRecord();
        gpu.end();
      }
      const extra = webgpu ? { webgpu } : {};
      if (!wasi) return { stdout: new Uint8Array(0), stderr: new Uint8Array(0), ...extra };
      const out = wasi.collect();
      wasi.dispose();
      return { ...out, ...extra };
    },
  };
}

/** One import of a module, as WebAssembly.Module.imports() lists them. */
export interface ImportEntry {
  module: string;
  name: string;
  kind?: string;
}

/**
 * Which host modules a guest needs, from its imports (for ExecuteRequest.hostModules):
 * the supported modules it imports, in a stable order. Imports from other modules are left to the
 * engine, which refuses them (UNKNOWN_IMPORT). Accepts a compiled module or its import list.
 */
export function hostModulesFor(imports: object | readonly ImportEntry[]): string[] {
  const list: readonly ImportEntry[] =
    imports instanceof WebAssembly.Module
      ? WebAssembly.Module.imports(imports)
      : (imports as readonly ImportEntry[]);
  const used = new Set(list.map((i) => i.module));
  return HOST_MODULES.filter((m) => used.has(m));
}

/** Import modules a guest uses that no host module provides. */
export function unsupportedImportModules(imports: object | readonly ImportEntry[]): string[] {
  const list: readonly ImportEntry[] =
    imports instanceof WebAssembly.Module
      ? WebAssembly.Module.imports(imports)
      : (imports as readonly ImportEntry[]);
  return [...new Set(list.map((i) => i.module))].filter((m) => !HOST_MODULES.includes(m));
}

export interface ServiceHostOptions {
  /** Bound of each captured stream, bytes (default 64 KiB). */
  maxOutputBytes?: number;
  /** Virtual clock + seeded random (reproducible attested runs). Default false. */
  deterministic?: boolean;
  /** Seed for deterministic random (e.g. the request id). */
  seed?: string;
  /** argv[0] and further args of the guest (default ['main.wasm']). */
  args?: string[];
  /** Logged by the handler with every attestation call (request id, bytecode hash…). */
  context?: Record<string, unknown>;
  /** WebGPU (operator's `serve --webgpu`): the limits the worker side enforces too. */
  webgpu?: WebGpuModuleOptions;
}

/**
 * What the service passes to the engine for one module: the host modules it imports and their options
 * (WASI without any filesystem, no stdin, stdout/stderr captured and bounded).
 * `imports`: a compiled module or its import list.
 */
export function serviceHostSetup(
  imports: object | readonly ImportEntry[],
  o: ServiceHostOptions = {},
): { hostModules: string[]; hostOptions: Record<string, unknown> } {
  const hostModules = hostModulesFor(imports);
  const hostOptions: HostOptions = {
    wasi: {
      args: o.args ?? ['main.wasm'],
      env: {},
      preopens: [],
      stdio: 'capture',
      stdin: 'empty',
      maxOutputBytes: o.maxOutputBytes ?? 64 * 1024,
      deterministic: o.deterministic ?? false,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    },
    attestation: o.context ? { context: o.context } : {},
    ...(o.webgpu ? { webgpu: o.webgpu } : {}),
  };
  return { hostModules, hostOptions: hostOptions as Record<string, unknown> };
}

// The provider wiring (src/tee, src/verify) is loaded on first use: the engine's workers import this
// index for createHostModules and must not pull the TEE providers and verifiers in.
type Providers = typeof import('./providers.ts');
const providers = (): Promise<Providers> => import('./providers.ts');

/** CPU verifier for the handler: SEV-SNP against pinned AMD roots (or the local simulated root), TDX. */
export function cpuVerifier(
  ...args: Parameters<Providers['cpuVerifier']>
): NonNullable<HostHandlerDeps['verifyCpu']> {
  return async (ev, expectedReportData, opts) =>
    (await providers()).cpuVerifier(...args)(ev, expectedReportData, opts);
}

/**
 * The guest API's GPU evidence verifier (attest_gpu), with the revocation of the device and RIM signing
 * chains from a collateral bundle or NVIDIA's OCSP responder (GpuVerifierOptions).
 */
export function gpuEvidenceVerifier(
  o: GpuVerifierOptions = {},
): NonNullable<GpuAttestationProvider['verify']> {
  if (o.collateral && o.ocspOnline)
    throw new HostError(
      'HOST_INVALID_ARGUMENT',
      'GPU revocation: a collateral bundle (offline) or the OCSP responder (online), not both',
    );
  let verify: ReturnType<Providers['gpuEvidenceVerifier']> | undefined;
  return async (evidence, nonce, opts) => {
    verify ??= (await providers()).gpuEvidenceVerifier(o);
    return verify(evidence, nonce, opts);
  };
}

/** NVIDIA GPU provider through NVML; undefined + the reason when there is no usable GPU. */
export async function nvidiaGpuProvider(
  o: GpuVerifierOptions = {},
): ReturnType<Providers['nvidiaGpuProvider']> {
  return (await providers()).nvidiaGpuProvider(o);
}

/** Detect the TEE and GPUs and build handler deps: tee, signer (Attester), verifiers, GPU provider. */
export async function defaultHostDeps(o: DefaultDepsOptions): ReturnType<Providers['defaultHostDeps']> {
  return (await providers()).defaultHostDeps(o);
}

/**
 * The local runner's sealed input (run --sealed-input; sealed-input.ts), loaded on first use: the HPKE
 * code stays out of the executors that load this file.
 */
export type { SealedInputKey } from './sealed-input.ts';
export const sealedInput = (): Promise<typeof import('./sealed-input.ts')> => import('./sealed-input.ts');
