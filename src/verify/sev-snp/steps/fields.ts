/** The verdict's fields of a verified SEV-SNP report: the decoded report, the VEK, the root and the network used. */
import {
  decodePolicy,
  describeReport,
  type SnpProduct,
  type SnpReportFields,
} from '../../../formats/index.ts';
import { cn, fingerprint, type PinnedChain } from '../chain.ts';
import { hex } from './common.ts';
import type { SimulatedVia } from './trust-chains.ts';
import type { Vek } from './vek.ts';

export function verifiedFields(
  r: SnpReportFields,
  v: Vek,
  tcbProduct: SnpProduct | undefined,
  chosen: PinnedChain | undefined,
  simulatedVia: SimulatedVia | undefined,
  network: Record<string, unknown>,
): Record<string, unknown> {
  const { vek, info } = v;
  return {
    report: describeReport(r, tcbProduct),
    reportData: hex(r.reportData),
    measurement: hex(r.measurement),
    chipId: hex(r.chipId),
    debug: decodePolicy(r.policy).debug,
    vek: {
      kind: v.vekKind,
      source: v.vekSource,
      subject: vek.subject.replace(/\n/g, ', '),
      issuer: vek.issuer.replace(/\n/g, ', '),
      productName: info.productName ?? null,
      tcb: info.tcb,
      hwId: info.hwId ? hex(info.hwId) : null,
      cspId: info.cspId ?? null,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      sha256: fingerprint(vek),
    },
    root: chosen
      ? {
          subject: cn(chosen.ark.subject),
          subjectFull: chosen.ark.subject.replace(/\n/g, ', '),
          simulated: chosen.simulated,
          sha256: fingerprint(chosen.ark),
          trustedBy: chosen.simulated
            ? simulatedVia === 'allow-simulated'
              ? 'allow-simulated'
              : 'trust-simulated-root'
            : 'pinned AMD root',
        }
      : null,
    network,
  };
}
