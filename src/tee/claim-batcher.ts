/**
 * Batched claim signing (docs/binding.md, "Batched claim signing"; `serve --claim-signing batched`):
 * claims of one session key that finish within one window are the leaves of an RFC 9162 Merkle tree;
 * the claim key signs the batch message (domain ‖ size ‖ root) once, and each claim gets its inclusion
 * proof. One ECDSA signature per batch instead of per claim.
 */
import { type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type ClaimBatchProofJson,
  claimBatchLeaf,
  claimBatchMessage,
  claimBatchProofToJson,
  claimBatchTree,
} from '../binding/index.ts';
import { TeeError } from './errors.ts';

const signAsync = promisify(sign);

/** How a session-key server signs claims. */
export const CLAIM_SIGNING_MODES = ['per-claim', 'batched'] as const;
export type ClaimSigningMode = (typeof CLAIM_SIGNING_MODES)[number];

/** The defaults: one event-loop turn, at most 256 claims per batch. */
export const DEFAULT_CLAIM_BATCH_WINDOW_MS = 0;
export const DEFAULT_CLAIM_BATCH_MAX = 256;
/** Bounds of the options (the verifier accepts trees up to CLAIM_BATCH_MAX_SIZE). */
export const CLAIM_BATCH_MAX_LIMIT = 4096;
export const CLAIM_BATCH_WINDOW_MAX_MS = 1000;

export interface ClaimBatchOptions {
  /** 0 (default): the batch closes after the current event-loop turn (setImmediate); else after this many ms. */
  windowMs?: number;
  /** A batch is signed at once when it reaches this many claims (default 256, 1..4096). */
  maxSize?: number;
}

export interface BatchSignature {
  /** The root signature (ES256, IEEE P1363 r‖s). */
  signature: Uint8Array;
  batch: ClaimBatchProofJson;
}

interface Pending {
  leaf: Uint8Array;
  resolve: (r: BatchSignature) => void;
  reject: (e: unknown) => void;
}

export function checkClaimBatchOptions(o: ClaimBatchOptions): Required<ClaimBatchOptions> {
  const windowMs = o.windowMs ?? DEFAULT_CLAIM_BATCH_WINDOW_MS;
  const maxSize = o.maxSize ?? DEFAULT_CLAIM_BATCH_MAX;
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > CLAIM_BATCH_WINDOW_MAX_MS)
    throw new TeeError(
      'TEE_INVALID_ARGUMENT',
      `claim batch window must be 0..${CLAIM_BATCH_WINDOW_MAX_MS} ms`,
    );
  if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > CLAIM_BATCH_MAX_LIMIT)
    throw new TeeError('TEE_INVALID_ARGUMENT', `claim batch size must be 1..${CLAIM_BATCH_MAX_LIMIT}`);
  return { windowMs, maxSize };
}

/** Collects the claims of one claim key and signs them in batches. */
export class ClaimBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private readonly opts: Required<ClaimBatchOptions>;

  constructor(
    private readonly key: KeyObject,
    opts: ClaimBatchOptions = {},
  ) {
    this.opts = checkClaimBatchOptions(opts);
  }

  /** Sign `encodedClaim` (encodeClaim(claim)) in the current batch: its proof and the batch's root signature. */
  sign(encodedClaim: Uint8Array): Promise<BatchSignature> {
    const leaf = claimBatchLeaf(encodedClaim);
    return new Promise<BatchSignature>((resolve, reject) => {
      this.pending.push({ leaf, resolve, reject });
      if (this.pending.length >= this.opts.maxSize) this.flush();
      else if (this.timer === undefined)
        this.timer =
          this.opts.windowMs === 0
            ? setImmediate(() => this.flush())
            : setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  private flush(): void {
    // Each timer cleared by its own function: clearImmediate on a Timeout (or clearTimeout on an
    // Immediate) corrupts Node's bookkeeping and keeps the event loop spinning.
    if (this.timer !== undefined) {
      if (this.opts.windowMs === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = undefined;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    void this.signBatch(batch);
  }

  private async signBatch(batch: Pending[]): Promise<void> {
    try {
      const { root, paths } = claimBatchTree(batch.map((p) => p.leaf));
      // The callback form of crypto.sign runs on libuv's thread pool (as per-claim signing does).
      const sig = new Uint8Array(
        await signAsync('sha256', claimBatchMessage(batch.length, root), {
          key: this.key,
          dsaEncoding: 'ieee-p1363',
        }),
      );
      for (let i = 0; i < batch.length; i++)
        batch[i]!.resolve({ signature: sig, batch: claimBatchProofToJson(i, batch.length, paths[i]!) });
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
