/**
 * NVIDIA reference integrity manifests (RIMs): signed SWID tags (ISO/IEC 19770-2, TCG RIM IM) for the
 * GPU driver and the VBIOS, as NVIDIA's RIM service publishes them and its local verifier (nvtrust)
 * appraises them.
 *
 * A RIM is checked in three steps:
 *  1. the enveloped XML signature (one ds:Signature, one Reference URI="" with the enveloped-signature
 *     transform, C14N 1.1, SHA-384 digest, ECDSA P-384 signature) is verified by xml-crypto with the
 *     signer certificate taken from KeyInfo;
 *  2. the KeyInfo chain (HCC RIM L4 Signer → Reference Value L3 → Reference Value CA → root) is
 *     verified to the PINNED "NVIDIA CoRIM signing Root CA" at a given time;
 *  3. the reference values are read from the SIGNED bytes (xml-crypto's canonical signed reference),
 *     never from the document as received, so nothing outside the signature can add or change one.
 *
 * Then `compareEvidenceToRims` appraises the SPDM measurement blocks of GPU evidence the way nvtrust
 * does: every ACTIVE RIM measurement (driver and VBIOS RIMs merged; an index active in both is a
 * conflict) must equal one of its alternatives (Hash0..HashN-1) in SPDM block index+1.
 *
 * C14N 1.1 vs 1.0: xml-crypto implements Canonical XML 1.0. C14N 1.1 differs from 1.0 only in how
 * attributes of the xml: namespace (xml:id, xml:base, xml:lang, xml:space) are inherited into a
 * document subset. A RIM holding any xml:-namespace attribute is therefore rejected (RIM_MALFORMED);
 * for every other document the two algorithms produce the same bytes, and C14N 1.0 is registered
 * under the 1.1 identifier.
 */

import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { describeOpaque, type SpdmEvidence } from '../../formats/index.ts';
import { WasmvmTeeError } from '../../util/errors.ts';
import type { Check, Verdict } from '../types.ts';
import { Certificate } from '../x509.ts';
import { verifyChainToPinnedRoot } from './certs.ts';
import { NVIDIA_RIM_ROOT_PEM } from './roots.ts';
import { strictVerdict } from './strict-verdict.ts';
import { C14nCanonicalization, DOMParser, SignedXml, type XmlDocument, type XmlElement } from './xml-libs.ts';

export { strictVerdict };

/** Stable error codes of RIM checks (a failing check's detail starts with its code). */
export type RimErrorCode =
  | 'RIM_MALFORMED' // not a well-formed SWID RIM, or a structure this verifier refuses
  | 'RIM_SIGNATURE_INVALID' // the XML signature does not verify (content changed, or wrong key)
  | 'RIM_UNKNOWN_SIGNER' // the signing chain does not end at the pinned NVIDIA CoRIM signing root
  | 'RIM_CHAIN_INVALID' // a chain certificate is not signed by the next one, or an issuer is not a CA
  | 'RIM_EXPIRED' // a chain certificate is outside its validity at the verification time
  | 'RIM_VERSION_MISMATCH' // the RIM describes another driver / VBIOS version than the evidence
  | 'RIM_VERSION_NOT_ALLOWED' // the RIM version is not in the policy's allowed list
  | 'RIM_CONFLICT' // driver and VBIOS RIMs both claim an index
  | 'RIM_MEASUREMENT_MISMATCH' // an active measurement differs from every golden alternative
  | 'RIM_REVOCATION_FAILED' // the signing chain's online OCSP check did not say good for every certificate
  | 'RIM_NOT_CHECKED'; // a check that could not run (no RIM given, revocation offline)

export class RimError extends WasmvmTeeError<RimErrorCode> {}

const NS_SWID = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd';
const NS_DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const NS_XML = 'http://www.w3.org/XML/1998/namespace';
const NS_SHA384 = 'http://www.w3.org/2001/04/xmlenc#sha384';
const C14N11 = 'http://www.w3.org/2006/12/xml-c14n11';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA384_DIGEST = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
const ECDSA_SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384';

export interface RimMeasurement {
  /** RIM index (SPDM measurement block index − 1). */
  index: number;
  name: string;
  active: boolean;
  /** Digest size in bytes (48 for SHA-384). */
  size: number;
  /** Accepted values, lower-case hex (Hash0..Hash{alternatives-1}). */
  alternatives: string[];
}

export type RimKind = 'driver' | 'vbios';

export interface ParsedRim {
  tagId: string;
  /** Product (Meta/@product, e.g. GH100). */
  product: string;
  /** Version the RIM describes (Meta/@colloquialVersion): '96.00.74.00.1A' or '550.90.07'. */
  version: string;
  kind: RimKind;
  manufacturer: string;
  measurements: RimMeasurement[];
  /** KeyInfo certificates in document order (leaf first). */
  certificates: X509Certificate[];
}

/** VBIOS versions are five dot-separated hex bytes; driver versions are decimal (545.00, 550.90.07). */
export function rimKindOf(version: string): RimKind {
  return /^[0-9A-Fa-f]{2}(\.[0-9A-Fa-f]{2}){4}$/.test(version) ? 'vbios' : 'driver';
}

// --- xml-crypto adapters for the algorithms NVIDIA uses (node:crypto does the cryptography) ---

class Sha384 {
  getAlgorithmName() {
    return SHA384_DIGEST;
  }
  getHash(xml: string): string {
    return createHash('sha384').update(xml, 'utf8').digest('base64');
  }
}

/** XML-DSig ECDSA (RFC 4051 §3.3): SignatureValue is r ‖ s, each the size of the curve order. */
function ecdsaSha384Verify(material: string, key: unknown, signatureValue: string): boolean {
  try {
    return cryptoVerify(
      'sha384',
      Buffer.from(material, 'utf8'),
      { key: key as string, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signatureValue, 'base64'),
    );
  } catch {
    return false;
  }
}

class EcdsaSha384 {
  getAlgorithmName() {
    return ECDSA_SHA384;
  }
  getSignature(): string {
    throw new RimError('RIM_NOT_CHECKED', 'signing RIMs is not supported');
  }
  verifySignature(material: string, key: unknown, signatureValue: string, cb?: unknown): boolean {
    const ok = ecdsaSha384Verify(material, key, signatureValue);
    if (typeof cb === 'function') (cb as (e: Error | null, v: boolean) => void)(null, ok);
    return ok;
  }
}

class C14n11AsC14n10 extends C14nCanonicalization {
  override getAlgorithmName() {
    return C14N11;
  }
}

// --- parsing ---

function parseXml(text: string): XmlDocument {
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: {
      warning: () => {},
      error: (m: string) => errors.push(m),
      fatalError: (m: string) => errors.push(m),
    },
  }).parseFromString(text, 'text/xml');
  if (errors.length > 0 || !doc.documentElement)
    throw new RimError('RIM_MALFORMED', `not well-formed XML: ${errors[0] ?? 'no document element'}`);
  return doc;
}

function* allElements(e: XmlElement): Generator<XmlElement> {
  yield e;
  for (const c of Array.from(e.childNodes)) if (c.nodeType === 1) yield* allElements(c);
}

function parseRimDocument(doc: XmlDocument, certificates: X509Certificate[]): ParsedRim {
  const root = doc.documentElement!;
  if (root.namespaceURI !== NS_SWID || root.localName !== 'SoftwareIdentity')
    throw new RimError('RIM_MALFORMED', 'the document element is not a SWID SoftwareIdentity');
  const metas = root.getElementsByTagNameNS(NS_SWID, 'Meta');
  const payloads = root.getElementsByTagNameNS(NS_SWID, 'Payload');
  if (metas.length !== 1 || payloads.length !== 1)
    throw new RimError(
      'RIM_MALFORMED',
      `expected one Meta and one Payload, found ${metas.length} and ${payloads.length}`,
    );
  const meta = metas[0]!;
  const version = meta.getAttribute('colloquialVersion') ?? '';
  if (!version) throw new RimError('RIM_MALFORMED', 'Meta has no colloquialVersion');
  const entity = root.getElementsByTagNameNS(NS_SWID, 'Entity')[0];
  const measurements: RimMeasurement[] = [];
  const seen = new Set<number>();
  for (const r of Array.from(payloads[0]!.getElementsByTagNameNS(NS_SWID, 'Resource'))) {
    if (r.getAttribute('type') !== 'Measurement') continue;
    const index = Number(r.getAttribute('index'));
    const n = Number(r.getAttribute('alternatives'));
    const size = Number(r.getAttribute('size'));
    const active = r.getAttribute('active');
    if (!Number.isInteger(index) || index < 0 || index > 254 || seen.has(index))
      throw new RimError(
        'RIM_MALFORMED',
        `Resource with a bad or repeated index '${r.getAttribute('index')}'`,
      );
    seen.add(index);
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new RimError('RIM_MALFORMED', `index ${index}: bad alternatives count`);
    if (active !== 'True' && active !== 'False')
      throw new RimError('RIM_MALFORMED', `index ${index}: active must be True or False`);
    const alternatives: string[] = [];
    for (let i = 0; i < n; i++) {
      const h = r.getAttributeNS(NS_SHA384, `Hash${i}`);
      if (h === null || !/^([0-9a-fA-F]{2})+$/.test(h) || h.length !== size * 2)
        throw new RimError(
          'RIM_MALFORMED',
          `index ${index}: Hash${i} is missing or not ${size} bytes of hex`,
        );
      alternatives.push(h.toLowerCase());
    }
    measurements.push({
      index,
      name: r.getAttribute('name') ?? `Measurement_${index}`,
      active: active === 'True',
      size,
      alternatives,
    });
  }
  if (measurements.length === 0) throw new RimError('RIM_MALFORMED', 'the Payload holds no measurements');
  return {
    tagId: root.getAttribute('tagId') ?? '',
    product: meta.getAttribute('product') ?? '',
    version,
    kind: rimKindOf(version),
    manufacturer: entity?.getAttribute('name') ?? '',
    measurements,
    certificates,
  };
}

/** Parse a RIM WITHOUT checking its signature (inspection only; use verifyRim to trust it). */
export function parseRim(xml: string | Uint8Array): ParsedRim {
  const text = typeof xml === 'string' ? xml : Buffer.from(xml).toString('utf8');
  const doc = parseXml(text);
  return parseRimDocument(doc, keyInfoCertificates(doc));
}

function keyInfoCertificates(doc: XmlDocument): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const e of Array.from(doc.getElementsByTagNameNS(NS_DSIG, 'X509Certificate'))) {
    try {
      out.push(new X509Certificate(Buffer.from((e.textContent ?? '').replace(/\s+/g, ''), 'base64')));
    } catch {
      throw new RimError('RIM_MALFORMED', 'a KeyInfo X509Certificate is not a DER certificate');
    }
  }
  return out;
}

export interface VerifyRimOptions {
  /** Verification time for the signing chain. Default: now. */
  now?: Date;
  /** Trust anchor (PEM) instead of NVIDIA's pinned CoRIM signing root: tests with a test CA only. */
  trustRoot?: string;
  /**
   * Check ids allowed to be "not checked" without failing the verdict (e.g.
   * 'nvidia.rim.chain.revocation' when verifying offline). Default: none, so a check that could not
   * run fails the verdict.
   */
  allowNotChecked?: readonly string[];
  /** Allowed RIM versions (colloquialVersion), from a reference-value policy. */
  allowedVersions?: readonly string[];
  /**
   * Revocation of the signing chain ('nvidia.rim.chain.revocation'): called with the verified chain,
   * leaf first, ending with the root; it must check every certificate but the root, the signing leaf
   * included (rimOcspTargets): createOcspChecker({ targets: rimOcspTargets }) online, or
   * rimOcspFromBundle(bundle, at) offline. Without it revocation is "not checked".
   */
  ocsp?: (chain: Certificate[]) => Promise<{ ok: boolean; detail: string }>;
}

export interface RimResult {
  verdict: Verdict;
  /** The RIM as read from the signed bytes; only when the signature verified. */
  rim?: ParsedRim;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, code: RimErrorCode, detail: string): Check => ({
  id,
  outcome: 'fail',
  detail: `${code}: ${detail}`,
});
const notChecked = (id: string, detail: string): Check => ({
  id,
  outcome: 'skip',
  detail: `RIM_NOT_CHECKED: not checked: ${detail}`,
});

function cn(c: X509Certificate): string {
  return (
    c.subject
      .split('\n')
      .find((l) => l.startsWith('CN='))
      ?.slice(3) ?? c.subject
  );
}

/** 1. Structure and the signature element ('nvidia.rim.parse'); undefined when malformed. */
function checkRimStructure(
  text: string,
  checks: Check[],
): { certs: X509Certificate[]; signature: XmlElement } | undefined {
  try {
    const doc = parseXml(text);
    const sigs = doc.getElementsByTagNameNS(NS_DSIG, 'Signature');
    if (sigs.length !== 1)
      throw new RimError('RIM_MALFORMED', `expected one ds:Signature, found ${sigs.length}`);
    const signature = sigs[0]!;
    if (signature.parentNode !== doc.documentElement)
      throw new RimError('RIM_MALFORMED', 'the ds:Signature is not a child of the document element');
    const refs = signature.getElementsByTagNameNS(NS_DSIG, 'Reference');
    if (refs.length !== 1 || refs[0]!.getAttribute('URI') !== '')
      throw new RimError(
        'RIM_MALFORMED',
        'the signature must have exactly one Reference, URI="" (whole document)',
      );
    const transforms = Array.from(refs[0]!.getElementsByTagNameNS(NS_DSIG, 'Transform')).map((t) =>
      t.getAttribute('Algorithm'),
    );
    if (!transforms.includes(ENVELOPED))
      throw new RimError('RIM_MALFORMED', 'the Reference lacks the enveloped-signature transform');
    for (const e of allElements(doc.documentElement!))
      for (const a of Array.from(e.attributes))
        if (a.namespaceURI === NS_XML)
          throw new RimError('RIM_MALFORMED', `xml:-namespace attribute ${a.name} (C14N 1.1 ≠ 1.0 for it)`);
    const certs = keyInfoCertificates(doc);
    if (certs.length === 0) throw new RimError('RIM_MALFORMED', 'KeyInfo holds no X509Certificate');
    parseRimDocument(doc, certs); // structure errors surface before any cryptography
    checks.push(pass('nvidia.rim.parse', `SWID RIM with ${certs.length} KeyInfo certificate(s)`));
    return { certs, signature };
  } catch (e) {
    checks.push(fail('nvidia.rim.parse', 'RIM_MALFORMED', e instanceof Error ? e.message : String(e)));
    return undefined;
  }
}

/** 2. XML signature with the KeyInfo leaf ('nvidia.rim.signature'); the reference values come from the signed bytes only. */
function checkRimSignature(
  text: string,
  signature: XmlElement,
  certs: X509Certificate[],
  checks: Check[],
): ParsedRim | undefined {
  const leaf = certs[0]!;
  try {
    const sx = new SignedXml({
      publicCert: leaf.toString(),
      getCertFromKeyInfo: () => null,
    });
    sx.CanonicalizationAlgorithms[C14N11] = C14n11AsC14n10;
    sx.HashAlgorithms[SHA384_DIGEST] = Sha384;
    sx.SignatureAlgorithms[ECDSA_SHA384] = EcdsaSha384;
    sx.loadSignature(signature);
    const ok = sx.checkSignature(text);
    const signed = sx.getSignedReferences();
    if (!ok || signed.length !== 1) throw new RimError('RIM_SIGNATURE_INVALID', 'signature does not verify');
    const signedDoc = parseXml(signed[0]!);
    const rim = parseRimDocument(signedDoc, certs);
    checks.push(
      pass(
        'nvidia.rim.signature',
        `enveloped XML-DSig (C14N 1.1, SHA-384, ECDSA P-384) verifies with '${cn(leaf)}'; ${rim.measurements.length} measurements read from the signed bytes`,
      ),
    );
    return rim;
  } catch (e) {
    checks.push(
      fail(
        'nvidia.rim.signature',
        'RIM_SIGNATURE_INVALID',
        `${e instanceof Error ? e.message : String(e)} (signer '${cn(leaf)}')`,
      ),
    );
  }
  return undefined;
}

/** 3. Signing chain to the pinned NVIDIA CoRIM signing root ('nvidia.rim.chain.*'). */
async function checkRimChain(
  certs: X509Certificate[],
  opts: VerifyRimOptions,
  now: Date,
  checks: Check[],
): Promise<void> {
  const root = new X509Certificate(opts.trustRoot ?? NVIDIA_RIM_ROOT_PEM);
  const chain = await verifyChainToPinnedRoot(
    certs.map((c, i) => Certificate.parse(new Uint8Array(c.raw), `KeyInfo certificate #${i}`)),
    now,
    Certificate.parse(new Uint8Array(root.raw), 'RIM trust root'),
  );
  const rootName = opts.trustRoot ? `explicitly trusted '${cn(root)}'` : `pinned '${cn(root)}'`;
  checks.push(
    chain.rootPinned.ok
      ? pass('nvidia.rim.chain.root-pinned', `signing chain ends at the ${rootName}`)
      : fail(
          'nvidia.rim.chain.root-pinned',
          'RIM_UNKNOWN_SIGNER',
          `signing chain does not end at the ${rootName}: ${chain.rootPinned.detail}`,
        ),
  );
  checks.push(
    chain.signatures.ok
      ? pass('nvidia.rim.chain.signatures', chain.signatures.detail)
      : fail('nvidia.rim.chain.signatures', 'RIM_CHAIN_INVALID', chain.signatures.detail),
  );
  checks.push(
    chain.caFlags.ok
      ? pass('nvidia.rim.chain.ca-flags', chain.caFlags.detail)
      : fail('nvidia.rim.chain.ca-flags', 'RIM_CHAIN_INVALID', chain.caFlags.detail),
  );
  checks.push(
    chain.validity.ok
      ? pass('nvidia.rim.chain.validity', chain.validity.detail)
      : fail('nvidia.rim.chain.validity', 'RIM_EXPIRED', chain.validity.detail),
  );
  checks.push(await checkRimRevocation(chain.chain, chain.rootPinned.ok, opts));
}

/** 'nvidia.rim.chain.revocation': the caller's OCSP hook over the verified chain, or "not checked". */
async function checkRimRevocation(
  chain: Certificate[],
  rootPinned: boolean,
  opts: VerifyRimOptions,
): Promise<Check> {
  const id = 'nvidia.rim.chain.revocation';
  if (!opts.ocsp)
    return notChecked(
      id,
      'OCSP status of the RIM signing chain (offline verifier; allow with allowNotChecked)',
    );
  if (!rootPinned)
    return notChecked(
      id,
      'the signing chain does not end at the trusted root: its OCSP status was not asked',
    );
  try {
    const o = await opts.ocsp(chain);
    return o.ok
      ? pass(id, o.detail)
      : {
          id,
          outcome: 'fail',
          // the bundle hook's detail starts with its code (COLLATERAL_*, OCSP_*); the online one's does not
          detail: /^(COLLATERAL|OCSP)_[A-Z_]+: /.test(o.detail)
            ? o.detail
            : `RIM_REVOCATION_FAILED: ${o.detail}`,
        };
  } catch (e) {
    return fail(
      id,
      'RIM_REVOCATION_FAILED',
      `OCSP check failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * The signing chain of a RIM as verifyRim checks it: the KeyInfo certificates (leaf first) completed
 * with the pinned NVIDIA CoRIM signing root (or `trustRoot`, tests only) when they end below it.
 * Nothing is verified here (verifyRim does that); for fetching the chain's OCSP responses.
 */
export async function rimSigningChain(
  xml: string | Uint8Array,
  now: Date,
  trustRoot?: string,
): Promise<Certificate[]> {
  const certs = parseRim(xml).certificates;
  const root = new X509Certificate(trustRoot ?? NVIDIA_RIM_ROOT_PEM);
  const r = await verifyChainToPinnedRoot(
    certs.map((c, i) => Certificate.parse(new Uint8Array(c.raw), `KeyInfo certificate #${i}`)),
    now,
    Certificate.parse(new Uint8Array(root.raw), 'RIM trust root'),
  );
  if (!r.rootPinned.ok) throw new RimError('RIM_UNKNOWN_SIGNER', r.rootPinned.detail);
  return r.chain;
}

/** Verify one RIM: XML signature, signing chain to the pinned root at `now`, structure. */
export async function verifyRim(xml: string | Uint8Array, opts: VerifyRimOptions = {}): Promise<RimResult> {
  const now = opts.now ?? new Date();
  const checks: Check[] = [];
  const done = (rim?: ParsedRim): RimResult => {
    const fields: Record<string, unknown> = { verifiedAt: now.toISOString() };
    if (rim) {
      fields.kind = rim.kind;
      fields.version = rim.version;
      fields.product = rim.product;
      fields.tagId = rim.tagId;
      fields.activeMeasurements = rim.measurements.filter((m) => m.active).length;
    }
    const r: RimResult = { verdict: strictVerdict('nvidia-rim', checks, opts.allowNotChecked, { fields }) };
    if (rim) r.rim = rim;
    return r;
  };
  const text = typeof xml === 'string' ? xml : Buffer.from(xml).toString('utf8');

  const structure = checkRimStructure(text, checks);
  if (!structure) return done();
  const { certs, signature } = structure;
  const rim = checkRimSignature(text, signature, certs, checks);
  await checkRimChain(certs, opts, now, checks);
  if (rim && opts.allowedVersions) {
    const allowed = opts.allowedVersions.map((v) => v.toUpperCase());
    checks.push(
      allowed.includes(rim.version.toUpperCase())
        ? pass('nvidia.rim.version-allowed', `${rim.kind} RIM version ${rim.version} is allowed`)
        : fail(
            'nvidia.rim.version-allowed',
            'RIM_VERSION_NOT_ALLOWED',
            `${rim.kind} RIM version ${rim.version} not in [${opts.allowedVersions.join(', ')}]`,
          ),
    );
  }
  return done(rim);
}

export interface RimIndexResult {
  /** RIM index; the SPDM block is index + 1. */
  index: number;
  spdmIndex: number;
  source: RimKind;
  name: string;
  outcome: 'match' | 'mismatch' | 'missing';
  expected: string[];
  actual?: string;
}

export interface CompareRimsOptions {
  allowNotChecked?: readonly string[];
}

/**
 * Appraise the measurement blocks of (already verified) SPDM evidence against verified RIMs, as
 * nvtrust does. Pass only RIMs whose verifyRim verdict is ok.
 */
export function compareEvidenceToRims(
  spdm: SpdmEvidence,
  rims: { driver?: ParsedRim; vbios?: ParsedRim },
  opts: CompareRimsOptions = {},
): { verdict: Verdict; perIndex: RimIndexResult[] } {
  const checks: Check[] = [];
  const opaque = describeOpaque(spdm.response);
  const reported: Record<RimKind, string> = {
    driver: String(opaque.DRIVER_VERSION ?? ''),
    vbios: String(opaque.VBIOS_VERSION ?? ''),
  };
  const golden = new Map<number, { m: RimMeasurement; source: RimKind }>();
  const conflicts: number[] = [];
  for (const kind of ['driver', 'vbios'] as const) {
    const rim = rims[kind];
    const id = `nvidia.rim.${kind}`;
    if (!rim) {
      checks.push(notChecked(id, `no ${kind} RIM given: the ${kind} measurements were not appraised`));
      continue;
    }
    if (rim.kind !== kind) {
      checks.push(
        fail(id, 'RIM_MALFORMED', `the RIM given as ${kind} RIM describes a ${rim.kind} (${rim.version})`),
      );
      continue;
    }
    if (rim.version.toUpperCase() !== reported[kind].toUpperCase()) {
      checks.push(
        fail(
          id,
          'RIM_VERSION_MISMATCH',
          `the ${kind} RIM is for ${rim.version}, the signed evidence reports ${reported[kind] || '(none)'}`,
        ),
      );
      continue;
    }
    checks.push(
      pass(id, `${kind} RIM ${rim.version} (${rim.product}) matches the version in the signed evidence`),
    );
    for (const m of rim.measurements) {
      if (!m.active) continue;
      if (golden.has(m.index)) conflicts.push(m.index);
      else golden.set(m.index, { m, source: kind });
    }
  }
  if (conflicts.length > 0)
    checks.push(
      fail('nvidia.rim.conflict', 'RIM_CONFLICT', `indices active in both RIMs: ${conflicts.join(', ')}`),
    );

  const blocks = new Map(spdm.response.blocks.map((b) => [b.index, Buffer.from(b.value).toString('hex')]));
  const perIndex: RimIndexResult[] = [];
  for (const [index, { m, source }] of [...golden].sort((a, b) => a[0] - b[0])) {
    const actual = blocks.get(index + 1);
    const r: RimIndexResult = {
      index,
      spdmIndex: index + 1,
      source,
      name: m.name,
      outcome: actual === undefined ? 'missing' : m.alternatives.includes(actual) ? 'match' : 'mismatch',
      expected: m.alternatives,
    };
    if (actual !== undefined) r.actual = actual;
    perIndex.push(r);
  }
  const bad = perIndex.filter((r) => r.outcome !== 'match');
  if (perIndex.length === 0)
    checks.push(notChecked('nvidia.rim.measurements', 'no usable RIM: no measurement was appraised'));
  else
    checks.push(
      bad.length === 0
        ? pass(
            'nvidia.rim.measurements',
            `all ${perIndex.length} active RIM measurements match (${countBy(perIndex)})`,
          )
        : fail(
            'nvidia.rim.measurements',
            'RIM_MEASUREMENT_MISMATCH',
            `${perIndex.length - bad.length} of ${perIndex.length} active measurements match; ${bad
              .map(
                (r) =>
                  `${r.source} index ${r.index} (SPDM block ${r.spdmIndex}, ${r.name}): ${
                    r.outcome === 'missing'
                      ? 'missing from the evidence'
                      : `${r.actual?.slice(0, 16)}… not in [${r.expected.map((e) => `${e.slice(0, 16)}…`).join(', ')}]`
                  }`,
              )
              .join('; ')}`,
          ),
    );
  return {
    verdict: strictVerdict('nvidia-rim-appraisal', checks, opts.allowNotChecked, {
      fields: {
        driverVersion: reported.driver,
        vbiosVersion: reported.vbios,
        matched: perIndex.length - bad.length,
        appraised: perIndex.length,
        perIndex,
      },
    }),
    perIndex,
  };
}

function countBy(rs: RimIndexResult[]): string {
  const d = rs.filter((r) => r.source === 'driver').length;
  const v = rs.filter((r) => r.source === 'vbios').length;
  return `${d} driver, ${v} VBIOS`;
}
