/**
 * Step 3 of local GPU verification: the signed SPDM report: its fields, the FWID binding of the leaf
 * certificate ('nvidia.chain.fwid'), the P-384 signature ('nvidia.spdm.signature') and the nonce
 * ('nvidia.nonce.consistent', 'nvidia.nonce').
 */
import type { GpuEvidence } from '../../../binding/index.ts';
import { describeOpaque, opaqueField, type SpdmEvidence, toHex } from '../../../formats/index.ts';
import { bytesEqual } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { leafFwids, verifyP384RawSignature } from '../certs.ts';
import { compareHexNonce, toNonceBytes } from '../hex.ts';
import { fail, pass, skip } from './local-common.ts';

/** The report's fields for the verdict; returns the decoded opaque data. */
export function reportFields(spdm: SpdmEvidence, fields: Record<string, unknown>): Record<string, unknown> {
  const resp = spdm.response;
  const opaque = describeOpaque(resp);
  fields.driverVersion = opaque.DRIVER_VERSION;
  fields.vbiosVersion = opaque.VBIOS_VERSION;
  fields.project = opaque.PROJECT;
  fields.chipSku = opaque.CHIP_SKU;
  fields.opaque = opaque;
  fields.requestNonce = toHex(spdm.request.nonce);
  fields.measurements = Object.fromEntries(resp.blocks.map((b) => [String(b.index), toHex(b.value)]));
  return opaque;
}

/** FWID binding: leaf certificate ↔ signed opaque data (no check without a leaf). */
export function checkFwid(spdm: SpdmEvidence, leaf: Certificate | undefined, checks: Check[]): void {
  const fwid = opaqueField(spdm.response, 'FWID');
  if (!leaf) return;
  const fwids = leafFwids(leaf.raw);
  if (!fwid) checks.push(fail('nvidia.chain.fwid', 'the report has no FWID opaque field'));
  else if (fwids.length === 0)
    checks.push(fail('nvidia.chain.fwid', 'the leaf certificate has no TCG DICE FWID'));
  else if (fwids.some((f) => bytesEqual(f, fwid)))
    checks.push(
      pass('nvidia.chain.fwid', `leaf TCG DICE FWID equals the report's FWID ${toHex(fwid).slice(0, 16)}…`),
    );
  else
    checks.push(
      fail(
        'nvidia.chain.fwid',
        `report FWID ${toHex(fwid)} differs from the leaf's ${fwids.map(toHex).join(', ')}`,
      ),
    );
}

/** ECDSA P-384/SHA-384 over request ‖ response with the leaf key (SPDM 1.1 signing scheme). */
export async function checkSpdmSignature(
  spdm: SpdmEvidence,
  leaf: Certificate | undefined,
  checks: Check[],
): Promise<void> {
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
  else if (await verifyP384RawSignature(leaf, spdm.signedData, spdm.response.signature))
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
}

/** The signed request nonce against the evidence's nonce field and the expected nonce. */
export function checkNonce(
  spdm: SpdmEvidence,
  evidenceNonce: GpuEvidence['nonce'],
  expectedNonce: Uint8Array | string | undefined,
  checks: Check[],
): void {
  const reqNonce = spdm.request.nonce;
  if (typeof evidenceNonce === 'string' && evidenceNonce.length > 0) {
    const c = compareHexNonce(evidenceNonce, reqNonce);
    checks.push(
      c.ok
        ? pass('nvidia.nonce.consistent', 'the evidence nonce field equals the signed SPDM request nonce')
        : fail('nvidia.nonce.consistent', `evidence nonce field vs signed request nonce: ${c.detail}`),
    );
  }
  if (expectedNonce === undefined) {
    checks.push(skip('nvidia.nonce', 'no expected nonce given: freshness not established'));
    return;
  }
  let expected: Uint8Array | undefined;
  try {
    expected = toNonceBytes(expectedNonce);
  } catch (e) {
    checks.push(fail('nvidia.nonce', `expected nonce: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (!expected) return;
  const ok = bytesEqual(expected, reqNonce);
  checks.push(
    ok
      ? pass('nvidia.nonce', `signed request nonce equals the expected ${toHex(expected)}`)
      : fail('nvidia.nonce', `signed request nonce ${toHex(reqNonce)} != expected ${toHex(expected)}`),
  );
}
