/**
 * Step 6: the PCK chain to the trusted root ('tdx.pck.chain'), issued by an Intel PCK CA ('tdx.pck.issuer'),
 * and the PCK's SGX extensions (FMSPC, PCE-ID, TCB components: 'tdx.pck.extensions').
 */
import { digestHex } from '../../../util/digest.ts';
import type { Certificate } from '../../x509.ts';
import { checkChainToPinnedRoot, type PckExtensions, parsePckExtensions, serialHex } from '../pki.ts';
import { cn, hex, nameOf, type StepOutput } from './common.ts';
import type { TrustRoot } from './trust-root.ts';

export interface PckChainResult {
  /** The issuer's CN (without a SIMULATED prefix under a simulated root). */
  issuerCn: string;
  /** Undefined when the extensions do not parse ('tdx.pck.extensions' failed). */
  ext: PckExtensions | undefined;
}

export async function checkPckChain(
  pckChain: Certificate[],
  trust: TrustRoot,
  now: Date,
  out: StepOutput,
): Promise<PckChainResult> {
  const { checks, fields } = out;
  const { root, simulated, simulatedVia } = trust;
  const pck = pckChain[0]!;
  const pckIssuer = pckChain[1]!;
  const chainRes = await checkChainToPinnedRoot(pckChain, now, root);
  fields.root = {
    subject: cn(root),
    subjectFull: root.subject.replace(/\n/g, ', '),
    simulated,
    sha256: digestHex('sha256', root.raw),
    trustedBy: simulated ? (simulatedVia ?? 'trust-simulated-root') : 'pinned Intel SGX Root CA',
  };
  checks.push({ id: 'tdx.pck.chain', outcome: chainRes.ok ? 'pass' : 'fail', detail: chainRes.detail });
  const issuerCn = nameOf(pckIssuer, simulated);
  const caKind =
    issuerCn === 'Intel SGX PCK Platform CA'
      ? 'platform'
      : issuerCn === 'Intel SGX PCK Processor CA'
        ? 'processor'
        : undefined;
  if (!caKind)
    checks.push({
      id: 'tdx.pck.issuer',
      outcome: 'fail',
      detail: `PCK issuer '${issuerCn}' is not an Intel PCK CA`,
    });
  else if (nameOf(pck, simulated) !== 'Intel SGX PCK Certificate')
    checks.push({ id: 'tdx.pck.issuer', outcome: 'fail', detail: `PCK leaf CN is '${cn(pck)}'` });
  else
    checks.push({ id: 'tdx.pck.issuer', outcome: 'pass', detail: `PCK issued by ${issuerCn} (${caKind})` });
  let ext: PckExtensions | undefined;
  try {
    ext = parsePckExtensions(pck.raw);
    Object.assign(fields, {
      pck: {
        fmspc: hex(ext.fmspc),
        pceId: hex(ext.pceId),
        pceSvn: ext.pceSvn,
        cpuSvn: hex(ext.cpuSvn),
        tcbComponents: ext.tcbComponents,
        sgxType: ext.sgxType,
        issuer: issuerCn,
        serial: serialHex(pck),
        validFrom: pck.notBefore.toISOString(),
        validTo: pck.notAfter.toISOString(),
      },
    });
    checks.push({
      id: 'tdx.pck.extensions',
      outcome: 'pass',
      detail: `FMSPC ${hex(ext.fmspc)}, PCE-ID ${hex(ext.pceId)}, PCESVN ${ext.pceSvn}, TCB ${ext.tcbComponents.join('.')}`,
    });
  } catch (e) {
    checks.push({ id: 'tdx.pck.extensions', outcome: 'fail', detail: (e as Error).message });
  }
  return { issuerCn, ext };
}
