/**
 * Step 5b: the certificate chain ARK → ASK/ASVK → VEK: the evidence's ARK is the trusted one
 * ('snp.chain.evidence-ark'), each link verifies ('snp.chain.ark', '.ask'/'.asvk', '.vek') with the pinned
 * algorithm, no unknown critical extension, valid now; the intermediate's CRL ('snp.chain.crl'); and the
 * SIMULATED marking ('snp.simulated').
 */
import type { SnpProduct } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { cn, fingerprint, isValidAt, type PinnedChain, pinnedChains, validityText } from '../chain.ts';
import { checkCrl, type KdsOptions, kdsCrlUrl, kdsGet } from '../kds.ts';
import { certProblems } from './cert-cache.ts';
import { fail, pass, SIMULATED_MARK, skip, type VerifySnpOptions } from './common.ts';
import type { SimulatedVia } from './trust-chains.ts';
import type { Vek } from './vek.ts';

/** 'snp.chain.evidence-ark': the ARK in the evidence must be the root this report chains to (or a pinned one). */
export function checkEvidenceArk(
  evArk: Certificate | undefined,
  chosen: PinnedChain | undefined,
  checks: Check[],
): void {
  if (!evArk) return;
  const matches = chosen
    ? fingerprint(chosen.ark) === fingerprint(evArk)
    : pinnedChains().some((c) => fingerprint(c.ark) === fingerprint(evArk));
  checks.push(
    matches
      ? pass(
          'snp.chain.evidence-ark',
          'the ARK in the evidence matches the trusted root (it is otherwise ignored)',
        )
      : fail(
          'snp.chain.evidence-ark',
          `the ARK in the evidence (${cn(evArk.subject)}, sha256 ${fingerprint(evArk).slice(0, 16)}…) is not the ${chosen ? `trusted root ${cn(chosen.ark.subject)}` : 'pinned AMD root'}`,
        ),
  );
}

/** 'snp.chain.vek' failed: no trusted intermediate signed the VEK. */
export function failNoChain(
  v: Vek,
  evArk: Certificate | undefined,
  product: SnpProduct | undefined,
  checks: Check[],
): void {
  const { vek, vekKind, vekIsVlek } = v;
  const simNote =
    evArk?.subject.includes(SIMULATED_MARK) || vek.subject.includes(SIMULATED_MARK)
      ? ' This is SIMULATED evidence: trust its root explicitly (--trust-simulated-root, trustSimulatedRoots) or --allow-simulated.'
      : '';
  checks.push(
    fail(
      'snp.chain.vek',
      `${vekKind} (issuer ${cn(vek.issuer)}) is not signed by any pinned ${vekIsVlek ? 'ASVK' : 'ASK'}${product ? ` for ${product}` : ''}.${simNote}`,
    ),
  );
}

/** The links of the chosen chain, their signature algorithm, critical extensions and validity. */
export function checkChainLinks(
  chosen: PinnedChain,
  inter: Certificate,
  v: Vek,
  now: Date,
  checks: Check[],
): void {
  const { vek, vekKind, vekIsVlek } = v;
  checks.push(
    pass(
      'snp.chain.ark',
      `${cn(chosen.ark.subject)} ${chosen.simulated ? '(SIMULATED root, explicitly trusted)' : '(pinned AMD root)'}, sha256 ${fingerprint(chosen.ark)}`,
    ),
  );
  checks.push(
    pass(
      vekIsVlek ? 'snp.chain.asvk' : 'snp.chain.ask',
      `${cn(inter.subject)} signed by ${cn(chosen.ark.subject)} (RSA-PSS SHA-384)`,
    ),
  );
  checks.push(pass('snp.chain.vek', `${vekKind} signed by ${cn(inter.subject)} (RSA-PSS SHA-384)`));
  const algProblems = [chosen.ark, inter, vek]
    .map((c) => [c, certProblems(c).algorithm] as const)
    .filter(([, p]) => p !== undefined)
    .map(([c, p]) => `${cn(c.subject)}: ${p}`);
  checks.push(
    algProblems.length === 0
      ? pass(
          'snp.chain.signature-algorithm',
          'ARK, intermediate and VEK are signed with RSASSA-PSS / SHA-384 / MGF1-SHA-384 / salt 48 (pinned)',
        )
      : fail('snp.chain.signature-algorithm', `not the pinned RSASSA-PSS SHA-384: ${algProblems.join('; ')}`),
  );
  const critical = [chosen.ark, inter, vek]
    .map((c) => [c, certProblems(c).critical] as const)
    .filter(([, u]) => u.length > 0)
    .map(([c, u]) => `${cn(c.subject)}: ${u.join(', ')}`);
  checks.push(
    critical.length === 0
      ? pass('snp.chain.critical-extensions', 'no certificate has an unknown critical extension')
      : fail('snp.chain.critical-extensions', `unknown critical extension(s): ${critical.join('; ')}`),
  );
  const bad = [chosen.ark, inter, vek].filter((c) => !isValidAt(c, now));
  checks.push(
    bad.length === 0
      ? pass(
          'snp.chain.validity',
          `all certificates valid at ${now.toISOString()} (${vekKind} ${validityText(vek)})`,
        )
      : fail(
          'snp.chain.validity',
          `not valid at ${now.toISOString()}: ${bad.map((c) => `${cn(c.subject)} (${validityText(c)})`).join(', ')}`,
        ),
  );
}

/** 'snp.chain.crl': the intermediate is not revoked (skipped without a CRL). */
export async function checkIntermediateCrl(
  chosen: PinnedChain,
  inter: Certificate,
  vekIsVlek: boolean,
  opts: Pick<VerifySnpOptions, 'crl' | 'kds' | 'allowStaleCrl'>,
  kds: KdsOptions | undefined,
  now: Date,
  checks: Check[],
): Promise<void> {
  if (!opts.crl) {
    checks.push(skip('snp.chain.crl', 'no CRL given (revocation of the intermediate not checked)'));
    return;
  }
  try {
    const crlDer =
      opts.crl === 'fetch'
        ? await kdsGet(
            kdsCrlUrl(chosen.product as SnpProduct, vekIsVlek ? 'vlek' : 'vcek', opts.kds?.baseUrl),
            kds ?? { offline: true },
          )
        : opts.crl;
    const res = await checkCrl(crlDer, chosen.ark.parsed, inter.parsed, now, {
      allowStale: opts.allowStaleCrl === true,
    });
    checks.push((res.ok ? pass : fail)('snp.chain.crl', `${cn(inter.subject)}: ${res.detail}`));
  } catch (e) {
    checks.push(fail('snp.chain.crl', `CRL unavailable: ${(e as Error).message}`));
  }
}

/** 'snp.simulated': SIMULATED evidence passes only under an explicitly trusted root; marks the fields. */
export function checkSimulated(
  chosen: PinnedChain | undefined,
  simulatedVia: SimulatedVia | undefined,
  evArk: Certificate | undefined,
  vek: Certificate,
  checks: Check[],
  fields: Record<string, unknown>,
): void {
  if (!(chosen?.simulated || evArk?.subject.includes(SIMULATED_MARK) || vek.subject.includes(SIMULATED_MARK)))
    return;
  fields.simulated = true;
  checks.push(
    chosen?.simulated
      ? pass(
          'snp.simulated',
          `SIMULATED evidence accepted (${simulatedVia === 'allow-simulated' ? '--allow-simulated: ANY simulated root' : 'trusted simulated root, pinned by its SHA-256 fingerprint'}); root '${chosen.ark.subject.replace(/\n/g, ', ')}' sha256 ${fingerprint(chosen.ark)}: proves NOTHING about AMD hardware`,
        )
      : fail('snp.simulated', 'SIMULATED evidence is rejected unless its root is explicitly trusted'),
  );
}
