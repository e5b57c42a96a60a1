/**
 * Step 2 of local GPU verification: the device certificate chain to the pinned NVIDIA Device Identity CA
 * (or a SIMULATED root only when explicitly trusted: 'nvidia.simulated'), its signatures, CA flags,
 * validity, critical extensions and revocation ('nvidia.chain.*'), and the evidence's arch ('nvidia.arch').
 */
import type { GpuEvidence } from '../../../binding/index.ts';
import { digestHex } from '../../../util/digest.ts';
import { bytesEqual, bytesToBase64, fromUtf8 } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { commonName, issuedBy, parseCertificateCached, verifyChainToPinnedRoot } from '../certs.ts';
import { fail, pass, skip, type VerifyGpuEvidenceOptions } from './local-common.ts';

const ARCH_BY_CHIP: Record<string, string> = {
  GH100: 'HOPPER',
  GB100: 'BLACKWELL',
  GB102: 'BLACKWELL',
  GB202: 'BLACKWELL',
};

const selfSigned = (c: Certificate): Promise<boolean> => issuedBy(c, c);

/** The SIMULATED root the chain may end at (trustSimulatedRoot, or allowSimulated), and why. */
async function simulatedRoot(
  last: Certificate,
  opts: VerifyGpuEvidenceOptions,
  checks: Check[],
): Promise<{ simRoot: Certificate | undefined; via: string }> {
  const given = opts.trustSimulatedRoot;
  const roots =
    given === undefined ? [] : typeof given === 'string' || given instanceof Uint8Array ? [given] : given;
  let simRoot: Certificate | undefined;
  for (const r of roots) {
    let c: Certificate;
    try {
      // PEM text may also come as bytes (read from a file), as node:crypto's X509Certificate took it
      const pemBytes = typeof r !== 'string' && fromUtf8(r.subarray(0, 11)) === '-----BEGIN ';
      const input = typeof r === 'string' ? r : pemBytes ? fromUtf8(r) : r;
      c = parseCertificateCached(
        typeof input === 'string' ? input : `der:${bytesToBase64(input)}`,
        () => input,
        'trustSimulatedRoot',
      );
    } catch {
      if (roots.length === 1)
        checks.push(fail('nvidia.simulated', 'trustSimulatedRoot is not a PEM certificate'));
      continue;
    }
    if (bytesEqual(last.raw, c.raw) || (await issuedBy(last, c))) {
      simRoot = c;
      break;
    }
  }
  let via = 'its root was explicitly trusted';
  if (!simRoot && opts.allowSimulated && last.subject.includes('(SIMULATED)') && (await selfSigned(last))) {
    simRoot = last;
    via = 'allowSimulated was set';
  }
  return { simRoot, via };
}

/** Checks the chain (certs non-empty); returns whether it was accepted under a SIMULATED root. */
export async function checkDeviceChain(
  evidence: GpuEvidence,
  certs: Certificate[],
  opts: VerifyGpuEvidenceOptions,
  now: Date,
  checks: Check[],
  fields: Record<string, unknown>,
): Promise<{ simulatedTrusted: boolean }> {
  const leaf = certs[0];
  const { simRoot, via } = await simulatedRoot(certs[certs.length - 1]!, opts, checks);
  const simulatedTrusted = !!simRoot;
  const looksSimulated =
    evidence.source === 'simulated' || certs.some((c) => c.subject.includes('(SIMULATED)'));
  if (simulatedTrusted)
    checks.push(pass('nvidia.simulated', `SIMULATED GPU evidence accepted because ${via} (tests only)`));
  else if (looksSimulated)
    checks.push(fail('nvidia.simulated', 'SIMULATED GPU evidence (not a real NVIDIA GPU) is rejected'));
  const r = simulatedTrusted
    ? await verifyChainToPinnedRoot(certs, now, simRoot)
    : await verifyChainToPinnedRoot(certs, now);
  for (const [id, res] of [
    ['nvidia.chain.root-pinned', r.rootPinned],
    ['nvidia.chain.signatures', r.signatures],
    ['nvidia.chain.ca-flags', r.caFlags],
    ['nvidia.chain.validity', r.validity],
    ['nvidia.chain.critical-extensions', r.criticalExtensions],
  ] as const)
    checks.push(res.ok ? pass(id, res.detail) : fail(id, res.detail));
  const rootCert = r.chain[r.chain.length - 1];
  if (r.rootPinned.ok && rootCert)
    fields.root = {
      subject: commonName(rootCert),
      subjectFull: rootCert.subject,
      simulated: simulatedTrusted,
      sha256: digestHex('sha256', rootCert.raw),
      trustedBy: simulatedTrusted
        ? via === 'allowSimulated was set'
          ? 'allow-simulated'
          : 'trust-simulated-root'
        : 'pinned NVIDIA Device Identity CA',
    };
  await checkRevocation(r.chain, opts, checks);
  fields.hwmodel = r.chain[1] ? commonName(r.chain[1]) : undefined;
  fields.ueid = leaf ? BigInt(`0x${leaf.serialNumber}`).toString(10) : undefined;
  fields.leafSubject = leaf ? commonName(leaf) : undefined;
  if (opts.checkArch !== false && fields.hwmodel) checkArch(evidence, String(fields.hwmodel), checks);
  return { simulatedTrusted };
}

/** 'nvidia.chain.revocation': the caller's OCSP hook, or 'skip' offline. */
async function checkRevocation(chain: Certificate[], opts: VerifyGpuEvidenceOptions, checks: Check[]) {
  if (!opts.ocsp) {
    checks.push(
      skip('nvidia.chain.revocation', 'offline: OCSP revocation status of the device chain not checked'),
    );
    return;
  }
  try {
    const o = await opts.ocsp(chain);
    checks.push(o.ok ? pass('nvidia.chain.revocation', o.detail) : fail('nvidia.chain.revocation', o.detail));
  } catch (e) {
    checks.push(
      fail('nvidia.chain.revocation', `OCSP check failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}

/** 'nvidia.arch': the evidence's arch field against the chip named by the certificate. */
function checkArch(evidence: GpuEvidence, hwmodel: string, checks: Check[]): void {
  const chip = hwmodel.split(' ')[0]!;
  const arch = ARCH_BY_CHIP[chip];
  if (!arch)
    checks.push(
      skip(
        'nvidia.arch',
        `unknown chip '${chip}' in the certificate; arch '${evidence.arch}' not cross-checked`,
      ),
    );
  else if (arch === String(evidence.arch).toUpperCase())
    checks.push(pass('nvidia.arch', `arch ${arch} matches the certificate (${chip})`));
  else
    checks.push(
      fail('nvidia.arch', `evidence says arch '${evidence.arch}' but the certificate is a ${chip} (${arch})`),
    );
}
