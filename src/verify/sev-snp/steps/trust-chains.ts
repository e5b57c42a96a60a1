/**
 * Step 5a: the chains a VEK may end at: the pinned AMD chains of the product line, then SIMULATED roots
 * only when explicitly trusted (trustSimulatedRoots, by fingerprint) or allowSimulated; and the one that signs it.
 */
import type { SnpProduct } from '../../../formats/index.ts';
import type { Certificate } from '../../x509.ts';
import { fingerprint, type PinnedChain, signedBy, verifiedPinnedChains } from '../chain.ts';
import { safeX509 } from './cert-cache.ts';
import { SIMULATED_MARK, type SnpCerts, type VerifySnpOptions } from './common.ts';

export type SimulatedVia = 'trusted-root' | 'allow-simulated';

export interface CandidateChains {
  chains: PinnedChain[];
  /** The ARK and ASK that came with the evidence (only matched, never trusted by themselves). */
  evArk: Certificate | undefined;
  evAsk: Certificate | undefined;
  simulatedVia: SimulatedVia | undefined;
}

export interface ChosenChain {
  chosen: PinnedChain | undefined;
  /** The chosen chain's ASK (VCEK) or ASVK (VLEK). */
  inter: Certificate | undefined;
}

function simulatedChainFrom(ark: Certificate, ask: Certificate | undefined): PinnedChain {
  const c: PinnedChain = { product: 'SIMULATED', ark, simulated: true };
  if (ask) c.ask = ask;
  return c;
}

/** Pinned AMD chains first, then explicitly trusted simulated roots. */
export async function candidateChains(
  product: SnpProduct | undefined,
  evCerts: SnpCerts,
  opts: Pick<VerifySnpOptions, 'trustSimulatedRoots' | 'allowSimulated'>,
): Promise<CandidateChains> {
  const chains: PinnedChain[] = (await verifiedPinnedChains()).filter(
    (c) => !product || c.product === product,
  );
  const evArk = evCerts.ark ? safeX509(evCerts.ark) : undefined;
  const evAsk = evCerts.ask ? safeX509(evCerts.ask) : undefined;
  const trusted = (opts.trustSimulatedRoots ?? [])
    .map((p) => safeX509(p))
    .filter((c): c is Certificate => !!c);
  let simulatedVia: SimulatedVia | undefined;
  if (evArk?.subject.includes(SIMULATED_MARK)) {
    if (trusted.some((t) => fingerprint(t) === fingerprint(evArk))) {
      chains.push(simulatedChainFrom(evArk, evAsk));
      simulatedVia = 'trusted-root';
    } else if (opts.allowSimulated && (await signedBy(evArk, evArk))) {
      chains.push(simulatedChainFrom(evArk, evAsk));
      simulatedVia = 'allow-simulated';
    }
  }
  for (const t of trusted) if (!chains.some((c) => c.ark === t)) chains.push(simulatedChainFrom(t, evAsk));
  return { chains, evArk, evAsk, simulatedVia };
}

/** The first chain whose intermediate signed the VEK. */
export async function findChain(
  chains: PinnedChain[],
  vek: Certificate,
  vekIsVlek: boolean,
): Promise<ChosenChain> {
  for (const c of chains) {
    const i = vekIsVlek ? c.asvk : c.ask;
    // A simulated chain's intermediate comes from the evidence: it must be signed by the trusted ARK.
    if (!i) continue;
    if (c.simulated && !((await signedBy(i, c.ark)) && i.issuer === c.ark.subject)) continue;
    if (vek.issuer === i.subject && (await signedBy(vek, i))) return { chosen: c, inter: i };
  }
  return { chosen: undefined, inter: undefined };
}
