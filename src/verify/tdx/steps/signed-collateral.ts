/**
 * A signed collateral document (TCB Info, QE identity): issuer chain to the trusted root and signer CN
 * ('<id>.chain'), P-256 signature over the raw JSON ('<id>.signature'), issueDate/nextUpdate ('<id>.validity').
 */
import { hexToBytes, utf8 } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import type { SignedJson } from '../collateral.ts';
import { checkChainToPinnedRoot, keyOf, serialHex, toX509, verifyP256Raw } from '../pki.ts';
import { cn } from './common.ts';

function validity(
  what: string,
  issueDate: string,
  nextUpdate: string,
  now: Date,
): { ok: boolean; detail: string } {
  const a = new Date(issueDate);
  const z = new Date(nextUpdate);
  if (Number.isNaN(a.getTime()) || Number.isNaN(z.getTime()))
    return { ok: false, detail: `${what}: bad issueDate/nextUpdate` };
  if (now < a)
    return {
      ok: false,
      detail: `${what} issued ${issueDate}, after the verification time ${now.toISOString()}`,
    };
  if (now > z)
    return { ok: false, detail: `${what} expired: nextUpdate ${nextUpdate} is before ${now.toISOString()}` };
  return { ok: true, detail: `${what} valid ${issueDate} to ${nextUpdate} at ${now.toISOString()}` };
}

/** Verify a signed collateral document: issuer chain to the pinned root, signer CN, signature, dates. */
export async function checkSignedJson(
  checks: Check[],
  idBase: string,
  what: string,
  doc: SignedJson<{ issueDate: string; nextUpdate: string }>,
  chainDer: Uint8Array[] | undefined,
  root: Certificate,
  now: Date,
  revokedByRoot: Set<string> | undefined,
  simulated: boolean,
): Promise<boolean> {
  let ok = true;
  if (!chainDer || chainDer.length === 0) {
    checks.push({
      id: `${idBase}.chain`,
      outcome: 'fail',
      detail: `${what}: no issuer chain in the collateral`,
    });
    checks.push({ id: `${idBase}.signature`, outcome: 'fail', detail: `${what}: no signer certificate` });
    return false;
  }
  let chain: Certificate[];
  try {
    chain = toX509(chainDer);
  } catch (e) {
    checks.push({ id: `${idBase}.chain`, outcome: 'fail', detail: `${what}: ${(e as Error).message}` });
    return false;
  }
  const signer = chain[0]!;
  const cr = await checkChainToPinnedRoot(chain, now, root);
  let chainOk = cr.ok;
  let chainDetail = cr.detail;
  const signerCn = simulated ? cn(signer).replace(/^SIMULATED /, '') : cn(signer);
  if (chainOk && signerCn !== 'Intel SGX TCB Signing') {
    chainOk = false;
    chainDetail = `${what} signer is '${cn(signer)}', expected 'Intel SGX TCB Signing'`;
  }
  if (chainOk && revokedByRoot?.has(serialHex(signer))) {
    chainOk = false;
    chainDetail = `${what} signer serial ${serialHex(signer)} is revoked by the root CA CRL`;
  }
  checks.push({ id: `${idBase}.chain`, outcome: chainOk ? 'pass' : 'fail', detail: chainDetail });
  ok &&= chainOk;
  const sig = /^[0-9a-fA-F]{128}$/.test(doc.signatureHex) ? hexToBytes(doc.signatureHex) : undefined;
  const signed = utf8(doc.raw);
  const sigOk = sig !== undefined && (await verifyP256Raw(signed, sig, keyOf(signer)));
  checks.push({
    id: `${idBase}.signature`,
    outcome: sigOk ? 'pass' : 'fail',
    detail: sigOk
      ? `${what} signature (P-256, over the raw JSON, ${signed.length} bytes) verifies with '${cn(signer)}'`
      : `${what} signature does not verify over the raw JSON with '${cn(signer)}'`,
  });
  ok &&= sigOk;
  const v = validity(what, doc.parsed.issueDate, doc.parsed.nextUpdate, now);
  checks.push({ id: `${idBase}.validity`, outcome: v.ok ? 'pass' : 'fail', detail: v.detail });
  return ok && v.ok;
}
