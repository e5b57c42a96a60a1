/**
 * The envelope as the API shows it: the structured `Evidence` message (decoded once per session epoch)
 * and the envelope's JSON text (the session member serialized once per epoch).
 */
import { create } from '@bufbuild/protobuf';
import type { AttestationEnvelope, EvidenceJson } from '../binding/index.ts';
import { type Evidence, EvidenceSchema } from '../gen/wasmvm/v1/wasmvm_pb.ts';

/** Base64 text → bytes ('' or absent → empty). */
export function base64Bytes(s: string | undefined): Uint8Array {
  return s ? new Uint8Array(Buffer.from(s, 'base64')) : new Uint8Array(0);
}

/** The envelope's evidence in structured form. */
export function structuredEvidence(
  ev: EvidenceJson | undefined,
  extra: { sessionPublicKey?: string; reportData?: Uint8Array; gpu?: unknown[] },
): Evidence {
  const e = create(EvidenceSchema, {});
  if (ev) {
    e.teeKind = ev.kind;
    e.simulated = ev.simulated;
    e.provider = ev.provider;
    e.report = base64Bytes(ev.report);
    e.vcek = base64Bytes(ev.certs?.vcek);
    e.vlek = base64Bytes(ev.certs?.vlek);
    e.ask = base64Bytes(ev.certs?.ask);
    e.ark = base64Bytes(ev.certs?.ark);
  }
  if (extra.sessionPublicKey) e.sessionPublicKey = base64Bytes(extra.sessionPublicKey);
  if (extra.reportData) e.reportData = Buffer.from(extra.reportData).toString('hex');
  if (extra.gpu && extra.gpu.length > 0) e.gpuEvidence = JSON.stringify(extra.gpu);
  return e;
}

/**
 * The session part of session-key envelopes (the key and its ~7 KB of CPU evidence) is the same object
 * for every execution of a key epoch: serialize it once per epoch.
 */
const sessionJsonCache = new WeakMap<object, string>();

/**
 * JSON.stringify(envelope), byte for byte (same keys in the same order, undefined members left out),
 * with the session member's serialization reused from `sessionJsonCache`.
 */
export function envelopeJson(envelope: AttestationEnvelope): string {
  const session = envelope.session;
  if (!session) return JSON.stringify(envelope);
  let sessionJson = sessionJsonCache.get(session);
  if (sessionJson === undefined) {
    sessionJson = JSON.stringify(session);
    sessionJsonCache.set(session, sessionJson);
  }
  let out = '{';
  for (const [k, v] of Object.entries(envelope)) {
    const j = k === 'session' ? sessionJson : (JSON.stringify(v) as string | undefined);
    if (j === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${j}`;
  }
  return `${out}}`;
}

/** Structured evidence of a session's evidence object (same object for a whole key epoch), per key. */
const evidenceCache = new WeakMap<object, { spki: string; msg: Evidence }>();

/**
 * The structured `evidence` of an Execute response for its envelope. Session-key: the evidence is the
 * epoch's (the same object every time), so its decoded form is cached per evidence object and key.
 */
export function envelopeEvidence(envelope: AttestationEnvelope): Evidence {
  const evidenceJson = envelope.evidence ?? envelope.session?.evidence;
  const extra: Parameters<typeof structuredEvidence>[1] = {};
  if (envelope.session?.spki) extra.sessionPublicKey = envelope.session.spki;
  if (envelope.gpu) extra.gpu = envelope.gpu;
  const cached = evidenceJson && !envelope.evidence ? evidenceCache.get(evidenceJson) : undefined;
  if (cached && !extra.gpu && cached.spki === (extra.sessionPublicKey ?? '')) return cached.msg;
  const evidence = structuredEvidence(evidenceJson, extra);
  if (evidenceJson && !envelope.evidence && !extra.gpu)
    evidenceCache.set(evidenceJson, { spki: extra.sessionPublicKey ?? '', msg: evidence });
  return evidence;
}
