/**
 * What every step of execution verification shares: the options, the check constructors, byte
 * comparison, the server-build pin check, the nonce reader, and the error for malformed input.
 */
import { BindingError, type BindingErrorCode, type ExecutionClaim } from '../../binding/index.ts';
import { bytesEqual, hexToBytes } from '../../util/text-codec.ts';
import type { VerifierCache } from '../cache.ts';
import type { GpuReferenceValues } from '../nvidia/index.ts';
import type { CollateralBundle } from '../reference/collateral.ts';
import type { KdsOptions } from '../sev-snp/kds.ts';
import type { SnpPolicy } from '../sev-snp/policy.ts';
import type { TdxCollateral } from '../tdx/index.ts';
import type { Check } from '../types.ts';

export interface VerifyExecutionOptions {
  /** The claim the caller expects (e.g. rebuilt from its own records): must equal the envelope's exactly. */
  claim?: ExecutionClaim;
  /** The saved Execute response (Connect/proto JSON, or `wasmvm-tee exec --server --json` output). */
  response?: unknown;
  /** The request that was sent (Connect/proto JSON of WASMVMExecutionRequest, or a ClaimRequest-like object). */
  request?: unknown;
  /**
   * The nonce the client sent (hex or bytes): the claim must carry exactly it. Without it (and without a
   * `request` carrying one) verification fails unless `freshness: 'skip'`.
   */
  nonce?: Uint8Array | string;
  /** 'require' (default): a nonce must be given and match. 'skip': freshness not checked (said in the verdict). */
  freshness?: 'require' | 'skip';
  /** Trust these simulated roots (PEM/DER): the CPU's (`wasmvm-tee attest --print-simulated-root`) and/or a GPU's. */
  trustSimulatedRoot?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Accept any simulated root, CPU and GPU (testing only; loudly marked in the verdict). */
  allowSimulated?: boolean;
  /** Policy file contents: `{ snp?: SnpPolicy, tdx?: (parseTdxPolicy input), gpuReferenceValues?: ... }`. */
  policy?: {
    snp?: SnpPolicy;
    tdx?: unknown;
    /** Azure vTPM policy (parseAzurePolicy input: pcrBank, pcrs, requirePcrs, vmConfiguration). */
    azure?: unknown;
    gpuReferenceValues?: GpuReferenceValues;
    nvidia?: unknown;
    /** Allowed server build digests (64 hex; the reference-value file's `serverBuildSha256`). */
    serverBuildSha256?: readonly string[];
  };
  /**
   * Allowed server build digests (64 hex, 'sha256:' prefix allowed): the claim's attested
   * serverBuildSha256 must be one of them (check `reference.server-build`). Overrides `policy.serverBuildSha256`.
   */
  serverBuildSha256?: readonly string[];
  now?: Date;
  kds?: KdsOptions;
  crl?: Uint8Array | 'fetch';
  /** Accept a CRL past its nextUpdate (SEV-SNP; passed through to verifySnpReport). */
  allowStaleCrl?: boolean;
  /** TDX collateral (passed through to verifyTdxQuote). */
  tdxCollateral?: TdxCollateral;
  /**
   * An offline collateral bundle (docs/reference-values.md): the CPU evidence's VCEK and CRL (SEV-SNP)
   * or TCB Info, QE identity and CRLs (TDX) are taken from it, each use a 'collateral.*' check; a
   * missing item is "not checked" and fails unless its id is in `allowNotChecked`.
   */
  collateral?: CollateralBundle;
  /** Check ids that may be "not checked" without failing the verdict (collateral checks). */
  allowNotChecked?: readonly string[];
  /** Azure TDX: accept a TD quote without Intel collateral (TCB status then NOT checked, named so). */
  allowMissingTdxCollateral?: boolean;
  /** Require GPU evidence (a host could strip it otherwise): fails `gpu.required` when absent. */
  requireGpu?: boolean;
  /** Check that the verification time is inside the session key's window (default true). */
  checkSessionKeyValidity?: boolean;
  /** Clock skew allowed between the server and the verification time, ms (default 5 minutes). */
  clockSkewMs?: number;
  /**
   * Opt-in cache of verified facts, shared across calls (src/verify/cache.ts): a session's keys and its
   * evidence signature are checked once; every time-, policy-, nonce- and claim-dependent check still
   * runs on each call. Checks satisfied from it say "cached" and are listed in `fields.cached`.
   */
  cache?: VerifierCache;
}

export const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
export const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
export const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });

/**
 * `reference.server-build`: the attested server build against the pins (`serverBuildSha256` option, else
 * the policy file's). Pinned: pass or fail; attested but not pinned: a skip naming it; neither: nothing.
 */
export function serverBuildCheck(
  got: string | undefined,
  opts: VerifyExecutionOptions,
  source: string,
): Check | undefined {
  const pins = opts.serverBuildSha256 ?? opts.policy?.serverBuildSha256;
  if (pins === undefined)
    return got === undefined
      ? undefined
      : skip(
          'reference.server-build',
          `server build ${got} attested, not pinned (require it with --server-build SHA256 or the policy file's serverBuildSha256)`,
        );
  const allowed = pins.map((h) => h.replace(/^sha256:/, '').toLowerCase());
  if (got !== undefined && allowed.includes(got))
    return pass('reference.server-build', `server build ${got} is pinned`);
  return fail(
    'reference.server-build',
    got === undefined
      ? `a server build is pinned but ${source} attests none (an older or differently configured server)`
      : `server build ${got} is not one of the pinned builds (${allowed.join(', ') || 'none'})`,
  );
}

export const eq = (a: Uint8Array, b: Uint8Array): boolean => bytesEqual(a, b);

/** Equal bytes, absent = empty. */
export function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return bytesEqual(a ?? new Uint8Array(0), b ?? new Uint8Array(0));
}

/** Clock skew allowed by default between the server and the verification time, ms. */
export const SKEW_MS = 300_000;

export function hexNonce(s: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new BindingError('INVALID_NONCE', 'nonce: not hex', 'nonce');
  return hexToBytes(s);
}

/** A BindingError naming the field (INVALID_RESPONSE unless said). */
export function invalid(
  field: string,
  why: string,
  code: BindingErrorCode = 'INVALID_RESPONSE',
): BindingError {
  return new BindingError(code, `${field}: ${why}`, field);
}
