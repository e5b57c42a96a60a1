/**
 * Step 10: revocation from the collateral's CRLs: the root CA CRL must not list the PCK's issuer
 * ('tdx.crl.root'), the PCK CRL of that issuer must not list the PCK ('tdx.crl.pck').
 */
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import type { TdxCollateral } from '../collateral.ts';
import { type Crl, parseCrl, sameBytes, serialHex, subjectDer, verifyCrlSignature } from '../pki.ts';
import { cn } from './common.ts';

async function crlCheck(
  checks: Check[],
  id: string,
  what: string,
  crl: Crl,
  issuer: Certificate,
  now: Date,
  serial: string,
  subject: string,
): Promise<boolean> {
  const problems: string[] = [];
  if (!sameBytes(crl.issuer, subjectDer(issuer.raw)))
    problems.push(`issued by someone other than '${cn(issuer)}'`);
  else if (!(await verifyCrlSignature(crl, issuer)))
    problems.push(`signature does not verify with '${cn(issuer)}'`);
  if (now < crl.thisUpdate)
    problems.push(`thisUpdate ${crl.thisUpdate.toISOString()} is after ${now.toISOString()}`);
  if (crl.nextUpdate && now > crl.nextUpdate)
    problems.push(`expired: nextUpdate ${crl.nextUpdate.toISOString()} is before ${now.toISOString()}`);
  if (problems.length > 0) {
    checks.push({ id, outcome: 'fail', detail: `${what}: ${problems.join('; ')}` });
    return false;
  }
  if (crl.revokedSerials.has(serial)) {
    checks.push({ id, outcome: 'fail', detail: `${subject} (serial ${serial}) is REVOKED by the ${what}` });
    return false;
  }
  checks.push({
    id,
    outcome: 'pass',
    detail: `${what} (${crl.revokedSerials.size} revoked serials, signed by '${cn(issuer)}', valid at ${now.toISOString()}) does not list ${subject} serial ${serial}`,
  });
  return true;
}

/** 'tdx.crl.root'; returns the root CA's revoked serials when that CRL verified (for the collateral signers). */
export async function checkRootCrl(
  col: TdxCollateral,
  root: Certificate,
  pckIssuer: Certificate,
  issuerCn: string,
  now: Date,
  checks: Check[],
): Promise<Set<string> | undefined> {
  if (!col.rootCaCrl) {
    checks.push({
      id: 'tdx.crl.root',
      outcome: 'fail',
      detail: 'no Intel SGX Root CA CRL in the collateral',
    });
    return undefined;
  }
  try {
    const crl = parseCrl(col.rootCaCrl);
    if (
      await crlCheck(
        checks,
        'tdx.crl.root',
        'root CA CRL',
        crl,
        root,
        now,
        serialHex(pckIssuer),
        `'${issuerCn}'`,
      )
    )
      return crl.revokedSerials;
  } catch (e) {
    checks.push({ id: 'tdx.crl.root', outcome: 'fail', detail: (e as Error).message });
  }
  return undefined;
}

/** 'tdx.crl.pck': the CRL issued by the PCK's issuer. */
export async function checkPckCrl(
  col: TdxCollateral,
  pck: Certificate,
  pckIssuer: Certificate,
  issuerCn: string,
  now: Date,
  checks: Check[],
): Promise<void> {
  const issuerSubject = subjectDer(pckIssuer.raw);
  let found: Crl | undefined;
  let parseErr: string | undefined;
  for (const der of col.pckCrls) {
    try {
      const crl = parseCrl(der);
      if (sameBytes(crl.issuer, issuerSubject)) found = crl;
    } catch (e) {
      parseErr = (e as Error).message;
    }
  }
  if (!found)
    checks.push({
      id: 'tdx.crl.pck',
      outcome: 'fail',
      detail: `no PCK CRL issued by '${issuerCn}' in the collateral${parseErr ? ` (${parseErr})` : ''}`,
    });
  else
    await crlCheck(
      checks,
      'tdx.crl.pck',
      'PCK CRL',
      found,
      pckIssuer,
      now,
      serialHex(pck),
      'the PCK certificate',
    );
}
