/**
 * Local verification of one GPU's evidence (nvattest / NVML form): SPDM parsing, certificate chain
 * to the pinned NVIDIA Device Identity CA, FWID binding, the P-384 signature, the nonce, and the
 * measurements against reference values. Offline: revocation (OCSP) is recorded as 'skip'.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { GpuEvidence } from '../../binding/index.ts';
import type { Check } from '../types.ts';
import { type Verdict, verdict } from '../types.ts';
import {
  commonName,
  leafFwids,
  parseCertChain,
  verifyChainToPinnedRoot,
  verifyP384RawSignature,
} from './certs.ts';
import { compareHexNonce, toNonceBytes } from './hex.ts';
import { describeOpaque, opaqueField, parseSpdmEvidence, type SpdmEvidence } from './spdm.ts';

/**
 * Reference values for the measurement comparison (what NVIDIA's RIMs hold, in a plain JSON form):
 * `measurements` maps a measurement index to the accepted hex digest(s); versions are optional.
 */
export interface GpuReferenceValues {
  measurements?: Record<string, string | string[]>;
  driverVersions?: string[];
  vbiosVersions?: string[];
  /** Measurement indices allowed to be absent from the reference values without failing. Default: none listed → every block must be covered. */
  allowUnlistedIndices?: boolean;
}

export interface VerifyGpuEvidenceOptions {
  /** The nonce this evidence must answer (hex or bytes). Without it freshness is recorded as 'skip'. */
  nonce?: Uint8Array | string;
  /** Clock for certificate validity. Default: now. */
  now?: Date;
  /** Reference values, or a policy `nvidia` section with a `referenceValues` member. */
  referenceValues?: GpuReferenceValues | Record<string, unknown>;
  /** Revocation check hook (OCSP). Without one, revocation is 'skip' (offline). */
  ocsp?: (chain: X509Certificate[]) => Promise<{ ok: boolean; detail: string }>;
  /** Reject evidence whose arch field disagrees with the certificate (default true). */
  checkArch?: boolean;
  /** Accept a host that reports CC dev-tools (debug) mode or a simulated CC environment (default false). */
  allowDevTools?: boolean;
  /**
   * PEM of a SIMULATED root (src/tee/nvidia SimulatedGpu.rootPem()) to accept INSTEAD of NVIDIA's,
   * for tests and development only. Evidence under it is marked by the 'nvidia.simulated' check.
   * Several may be given (PEM or DER; e.g. the CPU's and the GPU's simulated roots together): the chain
   * is accepted when it ends at one of them.
   */
  trustSimulatedRoot?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * Accept a chain ending at any SIMULATED-named, self-signed root that comes with the evidence
   * (testing only; marked by the 'nvidia.simulated' check). Default false.
   */
  allowSimulated?: boolean;
}

/**
 * Bounds of one GPU's evidence (issue 14): real SPDM reports are 4–8 KB (NVML's buffer is 8 KB), chains 5
 * certificates of ~1 KB in 5 KB of PEM. Larger input is rejected before it is decoded.
 */
export const NVIDIA_LIMITS = {
  /** Decoded bytes of the SPDM evidence. */
  maxEvidenceBytes: 64 * 1024,
  /** Characters of the PEM chain (decoded from base64). */
  maxChainBytes: 64 * 1024,
  /** Certificates in the chain. */
  maxChainCerts: 8,
  /** GPUs in one evidence list. */
  maxGpus: 64,
} as const;

const ARCH_BY_CHIP: Record<string, string> = {
  GH100: 'HOPPER',
  GB100: 'BLACKWELL',
  GB102: 'BLACKWELL',
  GB202: 'BLACKWELL',
};

/** `c` names `issuer` as its issuer AND is signed with its key (checkIssued alone compares names only). */
function issuedBy(c: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return c.checkIssued(issuer) && c.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

const selfSigned = (c: X509Certificate): boolean => issuedBy(c, c);

function pass(id: string, detail: string): Check {
  return { id, outcome: 'pass', detail };
}
function fail(id: string, detail: string): Check {
  return { id, outcome: 'fail', detail };
}
function skip(id: string, detail: string): Check {
  return { id, outcome: 'skip', detail };
}

function decodeB64(s: unknown, what: string, maxBytes: number): Uint8Array {
  if (typeof s === 'string' && s.length > Math.ceil(maxBytes / 3) * 4 + 1024)
    throw new Error(`NVIDIA_EVIDENCE_SIZE: ${what} is over ${maxBytes} bytes`);
  if (typeof s !== 'string' || s.length === 0 || !/^[A-Za-z0-9+/=\s_-]+$/.test(s))
    throw new Error(`${what} is not base64 text`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export async function verifyGpuEvidence(
  evidence: GpuEvidence,
  opts: VerifyGpuEvidenceOptions = {},
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  const now = opts.now ?? new Date();
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence))
    return verdict('nvidia-local', [
      fail('nvidia.evidence', 'GPU evidence must be an object {arch, certificate, evidence, nonce}'),
    ]);
  if (evidence.index !== undefined) fields.index = evidence.index;
  if (evidence.uuid) fields.uuid = evidence.uuid;

  // 1. Decode
  let spdm: SpdmEvidence | undefined;
  let certs: X509Certificate[] = [];
  try {
    const raw = decodeB64(evidence?.evidence, 'evidence', NVIDIA_LIMITS.maxEvidenceBytes);
    spdm = parseSpdmEvidence(raw);
    checks.push(
      pass(
        'nvidia.spdm.parse',
        `SPDM 1.${spdm.request.version & 0xf} GET_MEASUREMENTS request (${spdm.request.bytes.length} B) + MEASUREMENTS response with ${spdm.response.blocks.length} blocks, ${spdm.response.opaque.length} B opaque data${spdm.response.trailingZeroBytes ? `; ${spdm.response.trailingZeroBytes} zero byte(s) of padding after the signature ignored` : ''}`,
      ),
    );
  } catch (e) {
    checks.push(
      fail(
        'nvidia.spdm.parse',
        `cannot parse the SPDM evidence: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
  }
  try {
    const pem = Buffer.from(
      decodeB64(evidence?.certificate, 'certificate', NVIDIA_LIMITS.maxChainBytes),
    ).toString('latin1');
    const blocks = pem.split('-----BEGIN CERTIFICATE-----').length - 1;
    if (blocks > NVIDIA_LIMITS.maxChainCerts)
      throw new Error(
        `NVIDIA_CHAIN_COUNT: ${blocks} certificates, over the limit of ${NVIDIA_LIMITS.maxChainCerts}`,
      );
    certs = parseCertChain(pem);
    if (certs.length === 0) throw new Error('no PEM certificate found');
    checks.push(pass('nvidia.chain.parse', `${certs.length} certificates`));
  } catch (e) {
    checks.push(
      fail(
        'nvidia.chain.parse',
        `cannot parse the certificate chain: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
  }

  // 2. Chain to the pinned root
  const leaf = certs[0];
  let simulatedTrusted = false;
  if (certs.length > 0) {
    const last = certs[certs.length - 1]!;
    const given = opts.trustSimulatedRoot;
    const roots =
      given === undefined ? [] : typeof given === 'string' || given instanceof Uint8Array ? [given] : given;
    let simRoot: X509Certificate | undefined;
    for (const r of roots) {
      let c: X509Certificate;
      try {
        c = new X509Certificate(typeof r === 'string' ? r : Buffer.from(r));
      } catch {
        if (roots.length === 1)
          checks.push(fail('nvidia.simulated', 'trustSimulatedRoot is not a PEM certificate'));
        continue;
      }
      if (last.raw.equals(c.raw) || issuedBy(last, c)) {
        simRoot = c;
        break;
      }
    }
    let via = 'its root was explicitly trusted';
    if (!simRoot && opts.allowSimulated && last.subject.includes('(SIMULATED)') && selfSigned(last)) {
      simRoot = last;
      via = 'allowSimulated was set';
    }
    simulatedTrusted = !!simRoot;
    const looksSimulated =
      evidence.source === 'simulated' || certs.some((c) => c.subject.includes('(SIMULATED)'));
    if (simulatedTrusted)
      checks.push(pass('nvidia.simulated', `SIMULATED GPU evidence accepted because ${via} (tests only)`));
    else if (looksSimulated)
      checks.push(fail('nvidia.simulated', 'SIMULATED GPU evidence (not a real NVIDIA GPU) is rejected'));
    const r = simulatedTrusted
      ? verifyChainToPinnedRoot(certs, now, simRoot)
      : verifyChainToPinnedRoot(certs, now);
    checks.push(
      r.rootPinned.ok
        ? pass('nvidia.chain.root-pinned', r.rootPinned.detail)
        : fail('nvidia.chain.root-pinned', r.rootPinned.detail),
    );
    checks.push(
      r.signatures.ok
        ? pass('nvidia.chain.signatures', r.signatures.detail)
        : fail('nvidia.chain.signatures', r.signatures.detail),
    );
    checks.push(
      r.caFlags.ok
        ? pass('nvidia.chain.ca-flags', r.caFlags.detail)
        : fail('nvidia.chain.ca-flags', r.caFlags.detail),
    );
    checks.push(
      r.validity.ok
        ? pass('nvidia.chain.validity', r.validity.detail)
        : fail('nvidia.chain.validity', r.validity.detail),
    );
    checks.push(
      r.criticalExtensions.ok
        ? pass('nvidia.chain.critical-extensions', r.criticalExtensions.detail)
        : fail('nvidia.chain.critical-extensions', r.criticalExtensions.detail),
    );
    const rootCert = r.chain[r.chain.length - 1];
    if (r.rootPinned.ok && rootCert)
      fields.root = {
        subject: commonName(rootCert),
        subjectFull: rootCert.subject.replace(/\n/g, ', '),
        simulated: simulatedTrusted,
        sha256: createHash('sha256').update(rootCert.raw).digest('hex'),
        trustedBy: simulatedTrusted
          ? via === 'allowSimulated was set'
            ? 'allow-simulated'
            : 'trust-simulated-root'
          : 'pinned NVIDIA Device Identity CA',
      };
    if (opts.ocsp) {
      try {
        const o = await opts.ocsp(r.chain);
        checks.push(
          o.ok ? pass('nvidia.chain.revocation', o.detail) : fail('nvidia.chain.revocation', o.detail),
        );
      } catch (e) {
        checks.push(
          fail('nvidia.chain.revocation', `OCSP check failed: ${e instanceof Error ? e.message : String(e)}`),
        );
      }
    } else {
      checks.push(
        skip('nvidia.chain.revocation', 'offline: OCSP revocation status of the device chain not checked'),
      );
    }
    fields.hwmodel = r.chain[1] ? commonName(r.chain[1]) : undefined;
    fields.ueid = leaf ? BigInt(`0x${leaf.serialNumber}`).toString(10) : undefined;
    fields.leafSubject = leaf ? commonName(leaf) : undefined;
    // arch vs chip in the certificate
    if (opts.checkArch !== false && fields.hwmodel) {
      const chip = String(fields.hwmodel).split(' ')[0]!;
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
          fail(
            'nvidia.arch',
            `evidence says arch '${evidence.arch}' but the certificate is a ${chip} (${arch})`,
          ),
        );
    }
  }

  if (spdm) {
    const resp = spdm.response;
    const opaque = describeOpaque(resp);
    fields.driverVersion = opaque.DRIVER_VERSION;
    fields.vbiosVersion = opaque.VBIOS_VERSION;
    fields.project = opaque.PROJECT;
    fields.chipSku = opaque.CHIP_SKU;
    fields.opaque = opaque;
    fields.requestNonce = Buffer.from(spdm.request.nonce).toString('hex');
    fields.measurements = Object.fromEntries(
      resp.blocks.map((b) => [String(b.index), Buffer.from(b.value).toString('hex')]),
    );

    // 3. FWID binding: leaf certificate ↔ signed opaque data
    const fwid = opaqueField(resp, 'FWID');
    if (leaf) {
      const fwids = leafFwids(new Uint8Array(leaf.raw));
      if (!fwid) checks.push(fail('nvidia.chain.fwid', 'the report has no FWID opaque field'));
      else if (fwids.length === 0)
        checks.push(fail('nvidia.chain.fwid', 'the leaf certificate has no TCG DICE FWID'));
      else if (fwids.some((f) => Buffer.from(f).equals(Buffer.from(fwid))))
        checks.push(
          pass(
            'nvidia.chain.fwid',
            `leaf TCG DICE FWID equals the report's FWID ${Buffer.from(fwid).toString('hex').slice(0, 16)}…`,
          ),
        );
      else
        checks.push(
          fail(
            'nvidia.chain.fwid',
            `report FWID ${Buffer.from(fwid).toString('hex')} differs from the leaf's ${fwids.map((f) => Buffer.from(f).toString('hex')).join(', ')}`,
          ),
        );
    }

    // 4. Signature
    if (!spdm.request.signatureRequested)
      checks.push(fail('nvidia.spdm.signature', 'the request did not ask for a signed response'));
    else if (spdm.request.version !== 0x11)
      checks.push(
        fail(
          'nvidia.spdm.signature',
          `SPDM version 1.${spdm.request.version & 0xf} signing scheme not supported (only 1.1)`,
        ),
      );
    else if (!leaf) checks.push(fail('nvidia.spdm.signature', 'no leaf certificate to verify with'));
    else if (verifyP384RawSignature(leaf, spdm.signedData, resp.signature))
      checks.push(
        pass(
          'nvidia.spdm.signature',
          `ECDSA P-384/SHA-384 over request ‖ response (${spdm.signedData.length} B) verifies with the leaf key`,
        ),
      );
    else
      checks.push(
        fail(
          'nvidia.spdm.signature',
          'ECDSA P-384 signature over request ‖ response does not verify with the leaf key',
        ),
      );

    // 5. Nonce
    const reqNonce = spdm.request.nonce;
    if (typeof evidence.nonce === 'string' && evidence.nonce.length > 0) {
      const c = compareHexNonce(evidence.nonce, reqNonce);
      checks.push(
        c.ok
          ? pass('nvidia.nonce.consistent', 'the evidence nonce field equals the signed SPDM request nonce')
          : fail('nvidia.nonce.consistent', `evidence nonce field vs signed request nonce: ${c.detail}`),
      );
    }
    if (opts.nonce !== undefined) {
      let expected: Uint8Array | undefined;
      try {
        expected = toNonceBytes(opts.nonce);
      } catch (e) {
        checks.push(fail('nvidia.nonce', `expected nonce: ${e instanceof Error ? e.message : String(e)}`));
      }
      if (expected) {
        const ok = Buffer.from(expected).equals(Buffer.from(reqNonce));
        checks.push(
          ok
            ? pass(
                'nvidia.nonce',
                `signed request nonce equals the expected ${Buffer.from(expected).toString('hex')}`,
              )
            : fail(
                'nvidia.nonce',
                `signed request nonce ${Buffer.from(reqNonce).toString('hex')} != expected ${Buffer.from(expected).toString('hex')}`,
              ),
        );
      }
    } else {
      checks.push(skip('nvidia.nonce', 'no expected nonce given: freshness not established'));
    }

    // 6. Measurements against reference values
    checks.push(...compareReferenceValues(spdm, opaque, normalizeReferenceValues(opts.referenceValues)));
  }

  // 7. CC settings the host reported with the evidence (NVML; not signed by the GPU, informative)
  const cc = evidence.cc;
  if (!cc) checks.push(skip('nvidia.cc-settings', 'no CC settings reported with the evidence'));
  else {
    const bad: string[] = [];
    if (!cc.ccFeature) bad.push('CC feature off');
    if (cc.devToolsMode && !opts.allowDevTools) bad.push('dev-tools (debug) mode on');
    if (cc.environment === 'sim' && !opts.allowDevTools && !simulatedTrusted)
      bad.push('simulated CC environment');
    fields.cc = cc;
    checks.push(
      bad.length === 0
        ? pass(
            'nvidia.cc-settings',
            `host reports CC on, environment ${String(cc.environment)}, multi-GPU ${String(cc.multiGpuMode ?? 'n/a')} (unsigned)`,
          )
        : fail('nvidia.cc-settings', `host reports ${bad.join(', ')} (unsigned NVML data)`),
    );
  }

  return verdict('nvidia-local', checks, { fields });
}

/**
 * Accept the reference values themselves, or a policy file's `nvidia` section holding them under
 * `referenceValues` (the section may also hold NRAS claim rules, which do not apply here).
 */
export function normalizeReferenceValues(x: unknown): GpuReferenceValues | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const o = x as Record<string, unknown>;
  if ('referenceValues' in o) return normalizeReferenceValues(o.referenceValues);
  if ('nvidia' in o) return normalizeReferenceValues(o.nvidia);
  if ('measurements' in o || 'driverVersions' in o || 'vbiosVersions' in o) return o as GpuReferenceValues;
  return undefined;
}

function compareReferenceValues(
  spdm: SpdmEvidence,
  opaque: Record<string, unknown>,
  ref: GpuReferenceValues | undefined,
): Check[] {
  if (!ref)
    return [
      skip('nvidia.measurements', 'no reference values (RIMs) given: the measurements were not appraised'),
    ];
  const out: Check[] = [];
  if (ref.measurements) {
    const bad: string[] = [];
    let matched = 0;
    const byIndex = new Map(spdm.response.blocks.map((b) => [b.index, Buffer.from(b.value).toString('hex')]));
    for (const [idx, want] of Object.entries(ref.measurements)) {
      const got = byIndex.get(Number(idx));
      const accepted = (Array.isArray(want) ? want : [want]).map((w) => w.toLowerCase());
      if (got === undefined) bad.push(`index ${idx}: missing from the report`);
      else if (!accepted.includes(got)) bad.push(`index ${idx}: ${got} not in [${accepted.join(', ')}]`);
      else matched++;
    }
    if (!ref.allowUnlistedIndices) {
      for (const idx of byIndex.keys())
        if (!(String(idx) in ref.measurements)) bad.push(`index ${idx}: no reference value`);
    }
    out.push(
      bad.length === 0
        ? pass('nvidia.measurements', `${matched} measurement(s) equal the reference values`)
        : fail(
            'nvidia.measurements',
            `${bad.length} mismatch(es): ${bad.slice(0, 8).join('; ')}${bad.length > 8 ? '; …' : ''}`,
          ),
    );
  } else {
    out.push(skip('nvidia.measurements', 'reference values hold no measurements'));
  }
  if (ref.driverVersions) {
    const v = String(opaque.DRIVER_VERSION ?? '');
    out.push(
      ref.driverVersions.includes(v)
        ? pass('nvidia.driver-version', `driver ${v} is allowed`)
        : fail('nvidia.driver-version', `driver ${v} not in [${ref.driverVersions.join(', ')}]`),
    );
  }
  if (ref.vbiosVersions) {
    const v = String(opaque.VBIOS_VERSION ?? '');
    const allowed = ref.vbiosVersions.map((x) => x.toUpperCase());
    out.push(
      allowed.includes(v.toUpperCase())
        ? pass('nvidia.vbios-version', `VBIOS ${v} is allowed`)
        : fail('nvidia.vbios-version', `VBIOS ${v} not in [${ref.vbiosVersions.join(', ')}]`),
    );
  }
  return out;
}

/** Verify a list of GPU evidence (composite: every GPU with the same nonce). */
export async function verifyGpuEvidenceList(
  list: GpuEvidence[],
  opts: VerifyGpuEvidenceOptions = {},
): Promise<Verdict> {
  if (list.length > NVIDIA_LIMITS.maxGpus)
    return verdict('nvidia-local-list', [
      fail(
        'nvidia.gpu-count',
        `NVIDIA_EVIDENCE_SIZE: ${list.length} GPUs, over the limit of ${NVIDIA_LIMITS.maxGpus}`,
      ),
    ]);
  const parts = [];
  for (const e of list) parts.push(await verifyGpuEvidence(e, opts));
  const checks: Check[] = [
    list.length > 0
      ? pass('nvidia.gpu-count', `${list.length} GPU(s)`)
      : fail('nvidia.gpu-count', 'no GPU evidence'),
  ];
  return verdict('nvidia-local-list', checks, { parts });
}
