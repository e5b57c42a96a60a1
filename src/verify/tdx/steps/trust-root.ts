/**
 * Step 4: the root the PCK chain must end at: Intel's pinned SGX Root CA, or a SIMULATED root only when
 * explicitly trusted (trustSimulatedRoots, pinned by its bytes) or allowSimulated; never one with Intel's names.
 */
import { digestHex } from '../../../util/digest.ts';
import { fromUtf8 } from '../../../util/text-codec.ts';
import type { Certificate } from '../../x509.ts';
import { pemToDerList } from '../layout.ts';
import { pinnedRoot, sameBytes, signedBy, toX509 } from '../pki.ts';
import { SIMULATED_MARK, type StepOutput } from './common.ts';

export interface TrustRoot {
  root: Certificate;
  simulated: boolean;
  simulatedVia: string | undefined;
}

export async function selectTrustRoot(
  pckChain: Certificate[],
  opts: { trustSimulatedRoots?: ReadonlyArray<string | Uint8Array>; allowSimulated?: boolean },
  out: StepOutput,
): Promise<TrustRoot> {
  const { checks, fields } = out;
  let root = pinnedRoot();
  let simulated = false;
  let simulatedVia: string | undefined;
  const last = pckChain[pckChain.length - 1]!;
  const looksSimulated = pckChain.some((c) => c.subject.includes(SIMULATED_MARK));
  if (last.subject.includes(SIMULATED_MARK) && last.subject === last.issuer) {
    const trusted = (opts.trustSimulatedRoots ?? []).map((r) => {
      // PEM (string or bytes) or DER.
      const pemText = typeof r === 'string' ? r : r[0] === 0x30 ? undefined : fromUtf8(r);
      return toX509(pemText !== undefined ? pemToDerList(pemText) : [r as Uint8Array])[0];
    });
    const explicitly = trusted.some((t) => t?.subject.includes(SIMULATED_MARK) && sameBytes(t.raw, last.raw));
    if (explicitly || (opts.allowSimulated && (await signedBy(last, last)))) {
      root = last;
      simulated = true;
      simulatedVia = explicitly ? 'trust-simulated-root' : 'allow-simulated';
      fields.simulated = true;
      checks.push({
        id: 'tdx.simulated',
        outcome: 'pass',
        detail: `SIMULATED evidence accepted (${explicitly ? 'trusted simulated root, pinned by its exact bytes' : 'allowSimulated: ANY simulated root'}); root '${last.subject.replace(/\n/g, ', ')}' sha256 ${digestHex('sha256', last.raw)}: proves NOTHING about Intel hardware`,
      });
    }
  }
  if (!simulated && looksSimulated) {
    fields.simulated = true;
    checks.push({
      id: 'tdx.simulated',
      outcome: 'fail',
      detail: 'SIMULATED evidence is rejected unless its root is explicitly trusted (trustSimulatedRoots)',
    });
  }
  return { root, simulated, simulatedVia };
}
