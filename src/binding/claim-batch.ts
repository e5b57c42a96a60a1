/**
 * Batched claim signing (docs/binding.md, "Batched claim signing"): claims finished together are the
 * leaves of an RFC 9162 Merkle tree whose root the session claim key signs once; each response carries
 * its leaf's inclusion proof (`envelope.batch`) and the one root signature (`envelope.signature`).
 *
 *   leaf(claim)   = SHA-256(0x00 ‖ "wasmvm-tee/claim-batch/v1" ‖ encodeClaim(claim))
 *   node(l, r)    = SHA-256(0x01 ‖ l ‖ r)
 *   MTH           = RFC 9162 §2.1.1: split at the largest power of two below n (no duplicated nodes)
 *   signed bytes  = "wasmvm-tee/claim-batch/v1" ‖ u64be treeSize ‖ root (32)
 *
 * Browser-portable: util/digest only.
 */
import { sha256 } from '../util/digest.ts';
import { bytesToHex, hexToBytes } from './encode.ts';
import { BindingError } from './errors.ts';

/** Domain and version of a claim batch: in every leaf hash and at the start of the signed message. */
export const CLAIM_BATCH_DOMAIN = 'wasmvm-tee/claim-batch/v1';
/** The largest tree a verifier accepts (the server's bound is much lower: `--claim-batch-max`, ≤ 4096). */
export const CLAIM_BATCH_MAX_SIZE = 65536;

const DOMAIN_BYTES = new TextEncoder().encode(CLAIM_BATCH_DOMAIN);
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** `envelope.batch`: where the claim sits in the signed batch. */
export interface ClaimBatchProofJson {
  /** The claim's leaf index, 0 ≤ index < size. */
  index: number;
  /** The number of claims in the batch (tree size), 1..CLAIM_BATCH_MAX_SIZE. */
  size: number;
  /** The audit path (RFC 9162 §2.1.3.1, leaf to root), each node hash as 64 lowercase hex. */
  path: string[];
}

/** The leaf hash of a claim, from its canonical bytes (encodeClaim). */
export function claimBatchLeaf(encodedClaim: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, DOMAIN_BYTES, encodedClaim);
}

/** An interior node hash. */
export function claimBatchNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** The bytes the claim key signs for a batch: domain ‖ u64be size ‖ root. */
export function claimBatchMessage(size: number, root: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 1)
    throw new BindingError('INVALID_LENGTH', 'batch size must be ≥ 1');
  if (root.length !== 32) throw new BindingError('INVALID_LENGTH', 'batch root must be 32 bytes');
  const out = new Uint8Array(DOMAIN_BYTES.length + 8 + 32);
  out.set(DOMAIN_BYTES, 0);
  new DataView(out.buffer).setBigUint64(DOMAIN_BYTES.length, BigInt(size), false);
  out.set(root, DOMAIN_BYTES.length + 8);
  return out;
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The Merkle tree head of `leaves` (leaf hashes), RFC 9162 §2.1.1. */
export function claimBatchRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new BindingError('INVALID_LENGTH', 'a batch has at least one claim');
  return mth(leaves, 0, leaves.length);
}

function mth(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 1) return leaves[lo]!;
  const k = largestPowerOfTwoBelow(n);
  return claimBatchNode(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/**
 * The root and every leaf's audit path at once (RFC 9162 §2.1.3.1 PATH(m, D[n])), in O(n) hashes:
 * what the server computes per batch.
 */
export function claimBatchTree(leaves: readonly Uint8Array[]): { root: Uint8Array; paths: Uint8Array[][] } {
  if (leaves.length === 0) throw new BindingError('INVALID_LENGTH', 'a batch has at least one claim');
  const paths: Uint8Array[][] = leaves.map(() => []);
  const build = (lo: number, hi: number): Uint8Array => {
    const n = hi - lo;
    if (n === 1) return leaves[lo]!;
    const k = largestPowerOfTwoBelow(n);
    const left = build(lo, lo + k);
    const right = build(lo + k, hi);
    // Paths are leaf-to-root: a subtree's sibling is appended after everything below it.
    for (let i = lo; i < lo + k; i++) paths[i]!.push(right);
    for (let i = lo + k; i < hi; i++) paths[i]!.push(left);
    return claimBatchNode(left, right);
  };
  const root = build(0, leaves.length);
  return { root, paths };
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when the proof is not one for
 * (index, size): index ≥ size, a path of the wrong length, a size out of range. A caller compares the
 * result through the signature over claimBatchMessage(size, root).
 */
export function claimBatchRootFromProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return undefined;
  if (size < 1 || size > CLAIM_BATCH_MAX_SIZE || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (p.length !== 32 || sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = claimBatchNode(p, r);
      if (fn % 2 === 0) {
        // A right-edge node without a sibling at this level: climb until it is a right child.
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = claimBatchNode(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

const HEX32 = /^[0-9a-f]{64}$/;

function batchErr(field: string, why: string): BindingError {
  return new BindingError('INVALID_ENVELOPE', `${field}: ${why}`, field);
}

/** Shape-check `envelope.batch` (strict: unknown keys, non-integers, bad hex name the field). */
export function checkClaimBatchShape(o: unknown, where = 'attestation.batch'): ClaimBatchProofJson {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw batchErr(where, 'expected an object');
  for (const k of Object.keys(o))
    if (k !== 'index' && k !== 'size' && k !== 'path') throw batchErr(`${where}.${k}`, 'unknown field');
  const b = o as Record<string, unknown>;
  if (!Number.isSafeInteger(b.size) || (b.size as number) < 1 || (b.size as number) > CLAIM_BATCH_MAX_SIZE)
    throw batchErr(`${where}.size`, `expected an integer 1..${CLAIM_BATCH_MAX_SIZE}`);
  if (!Number.isSafeInteger(b.index) || (b.index as number) < 0)
    throw batchErr(`${where}.index`, 'expected a non-negative integer');
  if (!Array.isArray(b.path) || b.path.length > 64) throw batchErr(`${where}.path`, 'expected a list (≤ 64)');
  b.path.forEach((p, i) => {
    if (typeof p !== 'string' || !HEX32.test(p))
      throw batchErr(`${where}.path[${i}]`, 'expected 32 bytes of lowercase hex');
  });
  return b as unknown as ClaimBatchProofJson;
}

/** An inclusion proof in JSON. */
export function claimBatchProofToJson(
  index: number,
  size: number,
  path: readonly Uint8Array[],
): ClaimBatchProofJson {
  return { index, size, path: path.map(bytesToHex) };
}

/**
 * What the claim key signed for this envelope: encodeClaim(claim) itself (per-claim), or — with a batch
 * proof — the batch message of the root the proof leads to. Undefined: the proof leads to no root.
 */
export function claimSignedBytes(
  encodedClaim: Uint8Array,
  batch: ClaimBatchProofJson | undefined,
): { bytes: Uint8Array; root?: Uint8Array } | undefined {
  if (batch === undefined) return { bytes: encodedClaim };
  const path = batch.path.map((p) => hexToBytes(p, 'batch.path'));
  const root = claimBatchRootFromProof(claimBatchLeaf(encodedClaim), batch.index, batch.size, path);
  return root === undefined ? undefined : { bytes: claimBatchMessage(batch.size, root), root };
}
