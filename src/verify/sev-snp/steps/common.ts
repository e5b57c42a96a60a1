/** Helpers shared by the SEV-SNP verification steps: check constructors, hex text, the option types. */

import type { SnpProduct } from '../../../formats/index.ts';
import { bytesToHex } from '../../../util/text-codec.ts';
import type { VerifierCache } from '../../cache.ts';
import type { Check } from '../../types.ts';
import type { KdsOptions } from '../kds.ts';
import type { SnpPolicy } from '../policy.ts';

export const SIMULATED_MARK = 'SIMULATED';

export interface SnpCerts {
  vcek?: Uint8Array;
  vlek?: Uint8Array;
  ask?: Uint8Array;
  ark?: Uint8Array;
}

export interface VerifySnpOptions {
  /** VCEK or VLEK (DER or PEM). Overrides any certificate in `certs`/`auxblob`. */
  vek?: Uint8Array | string;
  /** Certificates that came with the evidence (roots here are only matched, never trusted). */
  certs?: SnpCerts;
  /** GHCB certificate table (extended report). */
  auxblob?: Uint8Array;
  /** Verification time (default: now). */
  now?: Date;
  policy?: SnpPolicy;
  /** When given, REPORT_DATA must equal it. */
  expectedReportData?: Uint8Array;
  /** Product line when neither the report (v2) nor the certificate tells. */
  product?: SnpProduct;
  /** Trust these simulated ARKs (PEM or DER), e.g. from `wasmvm-tee attest --print-simulated-root`. */
  trustSimulatedRoots?: ReadonlyArray<string | Uint8Array>;
  /** Accept any SIMULATED-named, self-signed ARK that comes with the evidence (testing only; loudly marked). */
  allowSimulated?: boolean;
  /** Fetch the VCEK from AMD KDS when the evidence has none. Without `kds`, a missing VCEK fails. */
  kds?: KdsOptions;
  /** CRL (DER) for the intermediate, or 'fetch' (KDS). Without it the revocation check is skipped. */
  crl?: Uint8Array | 'fetch';
  /** Accept a CRL past its nextUpdate (default false: a stale CRL fails 'snp.chain.crl'). */
  allowStaleCrl?: boolean;
  /**
   * Opt-in cache of verified facts (src/verify/cache.ts): a report signature verified before with the same
   * VEK is not verified again ('snp.report.signature' then says "cached", `fields.cached` lists it).
   */
  cache?: VerifierCache;
}

export const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
export const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
export const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });
export const hex = (b: Uint8Array): string => bytesToHex(b);
