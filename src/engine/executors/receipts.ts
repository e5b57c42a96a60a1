/**
 * Receipts of the guest's own attestation calls (docs/host.md "Receipts"): every `attest_vm` /
 * `attest_gpu` host call of an execution, as the host answered it, in call order, at most
 * GUEST_ATTESTATIONS_MAX (then `truncated`). The executors route every host call of an execution through
 * `ReceiptBook.call`, which records the receipt before the answer goes back to the guest (the guest is
 * blocked on it, so the order is the guest's call order), and attach the book's receipts to the
 * execution's result; the claim binds them (output field 20, docs/binding.md).
 */
import { createHash } from 'node:crypto';
import type {
  GuestAttestationKind,
  GuestAttestationReceipt,
  GuestAttestations,
} from '../../binding/index.ts';
import type { HostHandler } from '../../host/index.ts';

/** GUEST_ATTESTATIONS_MAX of src/binding (the engine's processes load binding's types only). */
export const RECEIPTS_MAX = 64;

const KIND_OF_METHOD: Readonly<Record<string, GuestAttestationKind>> = { attest_vm: 'vm', attest_gpu: 'gpu' };

const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A host call's outcome as the executor relays it to the guest's worker. */
export interface HostReply {
  ok: boolean;
  value?: unknown;
  error?: string;
}

/**
 * The receipt of one attestation call: the parameters the host saw (guest data, GPU index) and the
 * answer the guest gets (success or its error code, tee_type, simulated, evidence text, cached).
 */
export function receiptOf(
  kind: GuestAttestationKind,
  params: unknown,
  reply: HostReply,
): GuestAttestationReceipt {
  const p = (params && typeof params === 'object' ? params : {}) as Record<string, unknown>;
  const r: GuestAttestationReceipt = { kind, outcome: 'internal', cached: false };
  if (kind === 'gpu') {
    const i = p.index;
    if (typeof i === 'number' && Number.isInteger(i) && i >= 0 && i <= 0xffffffff) r.gpuIndex = i;
  }
  const v = (reply.ok ? reply.value : undefined) as Record<string, unknown> | undefined;
  // The attestation module turns anything but an object with a boolean `success` into a failure.
  const answered = !!v && typeof v === 'object' && typeof v.success === 'boolean';
  if (answered && typeof v.tee_type === 'string') r.teeType = v.tee_type;
  if (answered && typeof v.simulated === 'boolean') r.simulated = v.simulated;
  const d = p.data;
  if (d === undefined) r.dataSha256 = sha256Hex(new Uint8Array(0));
  else if (typeof d === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(d))
    r.dataSha256 = sha256Hex(Buffer.from(d, 'hex'));
  if (answered && typeof v.evidence === 'string') r.evidenceSha256 = sha256Hex(v.evidence);
  if (answered && v.success === true) r.outcome = 'ok';
  else if (answered && typeof v.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(v.code))
    r.outcome = v.code;
  r.cached = answered && v.cached === true;
  return r;
}

/** The receipts of the executions in flight on one executor, by execution id. */
export class ReceiptBook {
  private readonly open = new Map<number, GuestAttestations>();

  /** Start collecting for execution `id`. */
  begin(id: number): void {
    this.open.set(id, { receipts: [], truncated: false });
  }

  /** Stop collecting for `id`: its receipts, or undefined when the guest attested nothing. */
  end(id: number): GuestAttestations | undefined {
    const g = this.open.get(id);
    this.open.delete(id);
    return g && (g.receipts.length > 0 || g.truncated) ? g : undefined;
  }

  private record(id: number, receipt: GuestAttestationReceipt): void {
    const g = this.open.get(id);
    if (!g) return; // the execution already ended: its guest never saw this answer
    if (g.receipts.length < RECEIPTS_MAX) g.receipts.push(receipt);
    else g.truncated = true;
  }

  /**
   * Run host call `method` of execution `id` through `handler` and answer with `reply`; an attestation
   * call's receipt is recorded before the reply is sent.
   */
  call(
    handler: HostHandler | undefined,
    id: number,
    method: string,
    params: unknown,
    reply: (r: HostReply) => void,
  ): void {
    const kind = KIND_OF_METHOD[method];
    const answer = (r: HostReply) => {
      if (kind !== undefined) this.record(id, receiptOf(kind, params, r));
      reply(r);
    };
    if (!handler) {
      answer({ ok: false, error: 'no host handler configured' });
      return;
    }
    handler(method, params).then(
      (value) => answer({ ok: true, value }),
      (e: unknown) => answer({ ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  }
}

/**
 * `r` with the receipts `g` (none: without any). Receipts come only from the book: whatever a worker or an
 * executor process put in its result under that name is dropped.
 */
export function withReceipts<T extends { guestAttestations?: GuestAttestations }>(
  r: T,
  g: GuestAttestations | undefined,
): T {
  const out = { ...r };
  delete out.guestAttestations;
  if (g) out.guestAttestations = g;
  return out;
}
