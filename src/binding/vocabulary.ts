/**
 * The shared vocabulary of wasmvm-tee: typed Wasm values, value types, execution modes and statuses,
 * attestation modes, TEE kinds, CPU and GPU evidence descriptors, the gas-limit bounds, and the one
 * mapping between the API's proto enums, the claim's strings and their proto-JSON names.
 *
 * The engine, server, client, host, providers and verifier all take these from here (src/binding owns
 * them; nothing here imports another room).
 */

import type { GpuCcSettings } from '../formats/index.ts';
import { AttestationMode as ProtoAttestationMode, WASMVMMode } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { GAS_LIMIT_MAX, GAS_LIMIT_MIN, isGasLimit } from './defaults.ts';
import { BindingError } from './errors.ts';

// ---------------------------------------------------------------- values

export type ValueType = 'i32' | 'i64' | 'f32' | 'f64';

/**
 * A typed Wasm value with its exact bits.
 * - i32: `value` is the signed 32-bit integer.
 * - i64: `value` is the signed 64-bit integer as a bigint.
 * - f32: `bits` is the raw IEEE-754 bit pattern as an unsigned 32-bit number (NaN payloads kept).
 * - f64: `bits` is the raw IEEE-754 bit pattern as an unsigned 64-bit bigint (NaN payloads kept).
 */
export type WasmValue =
  | { readonly type: 'i32'; readonly value: number }
  | { readonly type: 'i64'; readonly value: bigint }
  | { readonly type: 'f32'; readonly bits: number }
  | { readonly type: 'f64'; readonly bits: bigint };

/** Wasm value type codes, as in the binary format. */
export const VALUE_TYPE_CODE = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c } as const;

// ---------------------------------------------------------------- modes and statuses

/** The original API's execution modes, mapped to V8 tiers (see docs/engine.md). */
export type ExecutionMode = 'interp' | 'singlepass' | 'multipass';
// interp     = WASMVM_MODE_INTERP_UNSPECIFIED: V8's default tiering (lazy Liftoff, dynamic tier-up to TurboFan)
// singlepass = WASMVM_MODE_SINGLEPASS: Liftoff only (--liftoff-only)
// multipass  = WASMVM_MODE_MULTIPASS: TurboFan only (--no-liftoff)

export const EXECUTION_MODES: readonly ExecutionMode[] = ['interp', 'singlepass', 'multipass'];

/** Stable result codes. `ok` is success; every other value is a trap or an engine-side stop. */
export type ExecutionStatus =
  | 'ok'
  | 'unreachable'
  | 'out_of_bounds_memory'
  | 'out_of_bounds_table'
  | 'integer_divide_by_zero'
  | 'integer_overflow'
  | 'invalid_conversion'
  | 'indirect_call_mismatch'
  | 'null_reference'
  | 'stack_overflow'
  | 'out_of_gas'
  | 'deadline_exceeded'
  | 'memory_limit'
  | 'output_limit'
  | 'host_trap'
  | 'exit'
  | 'cancelled';

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'ok',
  'unreachable',
  'out_of_bounds_memory',
  'out_of_bounds_table',
  'integer_divide_by_zero',
  'integer_overflow',
  'invalid_conversion',
  'indirect_call_mismatch',
  'null_reference',
  'stack_overflow',
  'out_of_gas',
  'deadline_exceeded',
  'memory_limit',
  'output_limit',
  'host_trap',
  'exit',
  'cancelled',
];

/** How a claim is attested: fresh evidence per execution, or a signature by an attested session key. */
export type AttestationMode = 'per-request' | 'session-key';
export const ATTESTATION_MODES: readonly AttestationMode[] = ['per-request', 'session-key'];

/** The attestation mode a request asked for ('default' = the server's). */
export type RequestedAttestation = 'default' | AttestationMode;
export const REQUESTED_ATTESTATIONS: readonly RequestedAttestation[] = [
  'default',
  'per-request',
  'session-key',
];

/**
 * What kind of hardware evidence. Simulated evidence has the same formats, marked `simulated`.
 * 'azure-sev-snp' / 'azure-tdx': an Azure confidential VM, attested through the paravisor's vTPM
 * (docs/azure.md); their `report` is the UTF-8 JSON evidence document 'azure-vtpm/1'.
 */
export type TeeKind = 'sev-snp' | 'tdx' | 'azure-sev-snp' | 'azure-tdx';
export const TEE_KINDS: readonly TeeKind[] = ['sev-snp', 'tdx', 'azure-sev-snp', 'azure-tdx'];

/** Is this an Azure vTPM kind (evidence = the 'azure-vtpm/1' document)? */
export function isAzureTeeKind(k: string): k is 'azure-sev-snp' | 'azure-tdx' {
  return k === 'azure-sev-snp' || k === 'azure-tdx';
}

// ---------------------------------------------------------------- proto enum ↔ claim string ↔ proto-JSON name

/** Execution mode ↔ the API's WASMVMMode (the one table; proto-JSON names are WASMVMMode's names). */
const MODE_PROTO: Readonly<Record<ExecutionMode, WASMVMMode>> = {
  interp: WASMVMMode.WASMVM_MODE_INTERP_UNSPECIFIED,
  singlepass: WASMVMMode.WASMVM_MODE_SINGLEPASS,
  multipass: WASMVMMode.WASMVM_MODE_MULTIPASS,
};

/** Requested attestation ↔ the API's AttestationMode (proto-JSON names 'ATTESTATION_MODE_' + enum key). */
const ATTESTATION_PROTO: Readonly<Record<RequestedAttestation, ProtoAttestationMode>> = {
  default: ProtoAttestationMode.UNSPECIFIED,
  'per-request': ProtoAttestationMode.PER_REQUEST,
  'session-key': ProtoAttestationMode.SESSION_KEY,
};

function reverse<K extends string, V extends number>(t: Readonly<Record<K, V>>): ReadonlyMap<number, K> {
  return new Map(Object.entries(t).map(([k, v]) => [v as number, k as K]));
}
const MODE_OF_PROTO = reverse(MODE_PROTO);
const ATTESTATION_OF_PROTO = reverse(ATTESTATION_PROTO);

export function modeToProto(m: ExecutionMode): WASMVMMode {
  return MODE_PROTO[m] ?? WASMVMMode.WASMVM_MODE_INTERP_UNSPECIFIED;
}

/** The execution mode of a WASMVMMode value; undefined for an unknown one. */
export function modeFromProto(m: WASMVMMode | number): ExecutionMode | undefined {
  return MODE_OF_PROTO.get(m);
}

/**
 * The execution mode of a proto-JSON `mode`: the enum name ('WASMVM_MODE_SINGLEPASS'), its number (as a
 * number or a string), or the claim string ('singlepass'); undefined for anything else.
 */
export function modeFromProtoJson(x: unknown): ExecutionMode | undefined {
  const s = String(x);
  if ((EXECUTION_MODES as readonly string[]).includes(s)) return s as ExecutionMode;
  if (/^(?:0|[1-9][0-9]*)$/.test(s)) return modeFromProto(Number(s));
  const n = (WASMVMMode as unknown as Record<string, unknown>)[s];
  return typeof n === 'number' ? modeFromProto(n) : undefined;
}

export function requestedAttestationToProto(m: RequestedAttestation): ProtoAttestationMode {
  return ATTESTATION_PROTO[m];
}

/** The API enum of an attestation mode that ran (never UNSPECIFIED). */
export function attestationModeToProto(m: AttestationMode): ProtoAttestationMode {
  return m === 'per-request' ? ProtoAttestationMode.PER_REQUEST : ProtoAttestationMode.SESSION_KEY;
}

/** The requested attestation of an AttestationMode value; undefined for an unknown one. */
export function requestedAttestationFromProto(
  m: ProtoAttestationMode | number,
): RequestedAttestation | undefined {
  return ATTESTATION_OF_PROTO.get(m);
}

/**
 * The requested attestation of a proto-JSON `attestationMode`: the enum name
 * ('ATTESTATION_MODE_PER_REQUEST'), its number (number or string), or the claim string ('per-request').
 */
export function requestedAttestationFromProtoJson(x: unknown): RequestedAttestation | undefined {
  const s = String(x);
  if ((REQUESTED_ATTESTATIONS as readonly string[]).includes(s)) return s as RequestedAttestation;
  if (/^(?:0|[1-9][0-9]*)$/.test(s)) return requestedAttestationFromProto(Number(s));
  if (!s.startsWith('ATTESTATION_MODE_')) return undefined;
  const n = (ProtoAttestationMode as unknown as Record<string, unknown>)[s.slice('ATTESTATION_MODE_'.length)];
  return typeof n === 'number' ? requestedAttestationFromProto(n) : undefined;
}

// ---------------------------------------------------------------- gas limit

/** The gas-limit bounds and check (defaults.ts: light, the CLI's argument checks load only it). */
export { GAS_LIMIT_MAX, GAS_LIMIT_MIN, isGasLimit };

/** `n` when it is a usable gas limit, else BindingError('INVALID_GAS_LIMIT') naming `where`. */
export function checkGasLimit(n: bigint, where = 'gasLimit'): bigint {
  if (!isGasLimit(n))
    throw new BindingError('INVALID_GAS_LIMIT', `${where}: gas limit must be in 1..2^63-1 (got ${n})`, where);
  return n;
}

// ---------------------------------------------------------------- evidence descriptors

/** CPU (confidential VM) evidence as produced by a provider. */
export interface CpuEvidence {
  kind: TeeKind;
  /** True for the local simulated TEE: its key chain is not AMD's/Intel's. */
  simulated: boolean;
  /**
   * The raw report: SEV-SNP ATTESTATION_REPORT (1184 bytes), a TDX quote, or for the Azure kinds the
   * UTF-8 JSON evidence document 'azure-vtpm/1' (HCL report, vTPM quote, PCRs, certificates).
   */
  report: Uint8Array;
  /**
   * Certificates that came with the evidence (SEV-SNP extended report auxblob: VCEK/VLEK, ASK/ASVK,
   * ARK; TDX: inside the quote). DER. Roots here are never trusted, only matched to pinned ones.
   */
  certs?: CpuEvidenceCerts;
  /** Raw auxblob (GHCB extended-report certificate table) when the provider returned one. */
  auxblob?: Uint8Array;
  /** Which provider produced it: 'configfs-tsm', 'sev-guest-ioctl', 'azure-vtpm', 'simulated'. */
  provider: string;
}

/** The certificates that may come with CPU evidence (DER). */
export interface CpuEvidenceCerts {
  vcek?: Uint8Array;
  vlek?: Uint8Array;
  ask?: Uint8Array;
  ark?: Uint8Array;
}

/** Confidential-computing state as NVML reports it: the layout lives in src/formats (nvidia/structs.ts). */
export type { GpuCcSettings };

/**
 * NVIDIA GPU evidence: the wire format shared by the NVML provider, the NRAS client, the attestation
 * envelope (`gpu` array) and the verifier. Field names follow NVIDIA's `nvattest` / NRAS evidence
 * objects (`arch`, `certificate`, `evidence`, `nonce`) so a file written by `nvattest
 * --gpu-evidence-source file` or an NRAS request's `evidence_list` entry is accepted as is.
 */
export interface GpuEvidence {
  /** 'HOPPER', 'BLACKWELL' (NRAS `arch` values). */
  arch: string;
  /** base64 of the PEM certificate chain (leaf first), exactly as NRAS v3/v4 expects it. */
  certificate: string;
  /** base64 of the SPDM GET_MEASUREMENTS request ‖ response (signed), as NRAS expects it. */
  evidence: string;
  /** hex (64 chars): the 32-byte nonce the evidence was requested with. */
  nonce: string;
  /** NVML device index, when collected through NVML. */
  index?: number;
  /** GPU UUID (NVML), e.g. 'GPU-6e6b...'. */
  uuid?: string;
  /** Driver version as NVML reports it (the signed copy is in the SPDM opaque data). */
  driverVersion?: string;
  /** VBIOS version as NVML reports it (the signed copy is in the SPDM opaque data). */
  vbiosVersion?: string;
  /** CC settings read through NVML at collection time (unsigned, informative). */
  cc?: GpuCcSettings;
  /** Who produced it: 'nvml' or 'file'. */
  source?: string;
}

// ---------------------------------------------------------------- what an execution produced

/** The WebGPU adapter as its driver reports it (GPUAdapterInfo), plus the backend the host chose. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'vulkan', 'opengles', 'metal', 'd3d12'... as requested from Dawn ('default' = Dawn's choice). */
  backend: string;
  featureLevel: 'core' | 'compatibility';
}

/**
 * What an execution did on the GPU through WebGPU (host module `wasmvm_webgpu`, docs/webgpu.md). One
 * definition: the host reports it (as WebGpuUsage), the engine returns it, the claim binds it.
 */
export interface GpuComputeUsage {
  adapter: GpuAdapterInfo;
  /** wasmvm_webgpu calls made. */
  calls: number;
  /** Compute dispatches recorded. */
  dispatches: number;
  /** Workgroups dispatched (sum of x*y*z). */
  workgroups: number;
  /** Bytes written from guest memory to the GPU / read back into guest memory. */
  bytesToGpu: number;
  bytesFromGpu: number;
  /** Gas charged by the WebGPU imports (metered runs), decimal string. */
  gas?: string;
  gasTableVersion: string;
}

/** Most receipts one execution's claim carries (further calls still work; the claim says `truncated`). */
export const GUEST_ATTESTATIONS_MAX = 64;

/** The two guest attestation calls (wasmtime_attestation attest_vm* / attest_gpu*). */
export type GuestAttestationKind = 'vm' | 'gpu';
export const GUEST_ATTESTATION_KINDS: readonly GuestAttestationKind[] = ['vm', 'gpu'];

/**
 * What the host answered one `attest_vm` / `attest_gpu` call of the guest (docs/host.md "Receipts"):
 * built by the engine's executor from the call's parameters and the host's answer, in call order.
 */
export interface GuestAttestationReceipt {
  kind: GuestAttestationKind;
  /** attest_gpu: the GPU index the guest asked for (u32); absent for vm. */
  gpuIndex?: number;
  /** The answer's `tee_type` as the guest saw it ('AMD SEV-SNP', 'Intel TDX', 'NVIDIA GPU'); absent when null. */
  teeType?: string;
  /** The answer's `simulated` (absent when the host did not say). */
  simulated?: boolean;
  /** SHA-256 of the guest data bound into the evidence (empty data when the guest gave none), hex. */
  dataSha256?: string;
  /** SHA-256 of the answer's `evidence` JSON text (UTF-8) the guest received, hex; absent when none. */
  evidenceSha256?: string;
  /** 'ok' (success: true) or the host's error code ('no_tee', 'policy_rejected', ... docs/host.md). */
  outcome: string;
  /** The answer came from the host's attestation cache. */
  cached: boolean;
}

/** The receipts of one execution: at most GUEST_ATTESTATIONS_MAX, `truncated` when calls went past it. */
export interface GuestAttestations {
  receipts: GuestAttestationReceipt[];
  truncated: boolean;
}

/**
 * The parts of an execution's result a claim is built from (the engine's ExecuteResult has this shape;
 * the engine maps to it at its edge, structurally).
 */
export interface ExecutionOutcome {
  status: ExecutionStatus;
  outputs: readonly WasmValue[];
  /** The trap's message when status is not 'ok'. */
  message?: string;
  exitCode?: number;
  gasUsed?: bigint;
  costTableVersion?: string;
  /** SHA-256 of the original bytecode, hex. */
  bytecodeSha256?: string;
  /** The mode that ran. */
  mode?: ExecutionMode;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  webgpu?: GpuComputeUsage;
  /** The guest's own attestation calls (wasmtime_attestation), in call order. */
  guestAttestations?: GuestAttestations;
  /** Not part of the claim (the engine reports them). */
  durationMs?: number;
  cacheHit?: boolean;
}
