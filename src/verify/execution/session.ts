/**
 * verifySessionAttestation: a session key's attestation (the GetAttestation answer) on its own.
 */
import {
  bytesToHex,
  checkSessionShape,
  evidenceFromJson,
  type SessionKeyJson,
  sessionKeyDataFromJson,
  sessionKeyReportData,
} from '../../binding/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import {
  eq,
  fail,
  hexNonce,
  pass,
  SKEW_MS,
  serverBuildCheck,
  type VerifyExecutionOptions,
} from './common.ts';
import { type Cpu, evidenceReportData, verifyCpu, verifyGpu } from './evidence.ts';
import { isP256Spki, jwkMatchesSpki } from './session-keys.ts';

/**
 * Verify a session key's attestation (the `GetAttestation` answer: `SessionKeyJson` or its JSON string):
 * its evidence REPORT_DATA must be sessionKeyReportData(spki, claimSpki, epoch, nonce) with the client's
 * nonce, and the evidence must verify. On success the P-256 claim key (`fields.claimSpki`) may be used to
 * check session-key envelopes (ES256) and the P-384 key (`fields.jwk`) ES384 tokens (attest_vm) signed by it.
 */
export async function verifySessionAttestation(
  sessionIn: unknown,
  opts: Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request'> & { nonce: Uint8Array | string },
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  let s: SessionKeyJson;
  try {
    s = (typeof sessionIn === 'string' ? JSON.parse(sessionIn) : sessionIn) as SessionKeyJson;
    checkSessionShape(s, 'session');
  } catch (e) {
    return verdict('session-key', [fail('session.parse', (e as Error).message)]);
  }
  let want: Uint8Array;
  try {
    want = typeof opts.nonce === 'string' ? hexNonce(opts.nonce) : new Uint8Array(opts.nonce);
  } catch (e) {
    return verdict('session-key', [fail('binding.nonce', (e as Error).message)]);
  }
  const nonceOk = want.length > 0 && s.nonce === bytesToHex(want);
  checks.push(
    (nonceOk ? pass : fail)(
      'binding.nonce',
      nonceOk ? 'evidence made for our nonce' : `session nonce '${s.nonce}' ≠ ${bytesToHex(want)}`,
    ),
  );
  let expected: Uint8Array;
  let cpu: Cpu;
  try {
    const data = sessionKeyDataFromJson(s);
    const sameKey = await jwkMatchesSpki(s.jwk, data.spki);
    checks.push(
      (sameKey ? pass : fail)(
        'binding.session-jwk',
        sameKey ? 'jwk = spki' : 'session.jwk and session.spki are different keys',
      ),
    );
    const p256 = await isP256Spki(data.claimSpki);
    checks.push(
      (p256 ? pass : fail)(
        'binding.session-claim-key',
        p256 ? 'claimSpki is an ECDSA P-256 key' : 'session.claimSpki is not an ECDSA P-256 key',
      ),
    );
    const nowMs = (opts.now ?? new Date()).getTime();
    const skew = opts.clockSkewMs ?? SKEW_MS;
    const nowOk = data.notBefore - skew <= nowMs && nowMs <= data.notAfter + skew;
    checks.push(
      (nowOk ? pass : fail)(
        'binding.session-key-validity',
        `session key valid ${s.notBefore} – ${s.notAfter} (attested); verification time ${new Date(nowMs).toISOString()}${nowOk ? '' : ' OUTSIDE the window'}`,
      ),
    );
    expected = sessionKeyReportData(data, want);
    fields.identity = bytesToHex(sessionKeyReportData(data));
    cpu = evidenceFromJson(s.evidence);
  } catch (e) {
    checks.push(fail('binding.session-key', (e as Error).message));
    return verdict('session-key', checks, { fields });
  }
  const inEvidence = evidenceReportData(cpu);
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          'binding.session-key',
          `evidence REPORT_DATA = SHA-512(domain ‖ session keys ‖ epoch ‖ validity ‖ kid ‖ nonce${s.tls ? ' ‖ … ‖ TLS key' : ''})`,
        )
      : fail('binding.session-key', 'the evidence does not bind these session keys, validity and nonce'),
  );
  Object.assign(fields, {
    jwk: s.jwk,
    claimSpki: s.claimSpki,
    epoch: s.epoch,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
  });
  // Attested TLS: the TLS key's SPKI hash is bound by the session REPORT_DATA (session-key/v5, recomputed
  // above); a client pins its TLS peer to it. Its encoding was checked by the shape check: repeat it here
  // so the verdict says what is bound.
  if (s.tls !== undefined) {
    const t = s.tls;
    const ok =
      typeof t.spkiSha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(t.spkiSha256) &&
      (t.origin === 'tee-generated' || t.origin === 'operator-supplied');
    checks.push(
      (ok ? pass : fail)(
        'binding.session-tls-key',
        ok
          ? `TLS key SPKI SHA-256 ${t.spkiSha256} (${t.origin === 'tee-generated' ? 'generated inside the TEE' : 'supplied by the operator, NOT generated inside the TEE'}), bound by REPORT_DATA (session-key/v5)`
          : 'session.tls: expected { spkiSha256: 64 lowercase hex, origin: tee-generated | operator-supplied }',
      ),
    );
    fields.tls = { spkiSha256: t.spkiSha256, origin: t.origin };
  }
  // The server build is bound by the session REPORT_DATA (recomputed above): expose it, enforce a pin.
  if (s.serverBuildSha256 !== undefined) fields.serverBuildSha256 = s.serverBuildSha256;
  const buildCheck = serverBuildCheck(s.serverBuildSha256, opts, 'the session');
  if (buildCheck && buildCheck.outcome !== 'skip') checks.push(buildCheck);
  const part = await verifyCpu(cpu, expected, opts);
  fields.simulated = part.fields?.simulated === true;
  const parts = [part];
  const gpu = (s as { gpu?: unknown }).gpu;
  if (Array.isArray(gpu) && gpu.length > 0) parts.push(await verifyGpu(gpu, expected, opts));
  return verdict('session-key', checks, { fields, parts });
}
