/**
 * Azure formats on the real vectors (test/data/azure, README there): HCL reports (SNP and TDX), runtime
 * claims, TPMS_ATTEST quotes, trustee's quote.bin, TPMT_SIGNATURE / TPMT_PUBLIC round trips, and bad input
 * (each its own error code; nothing crashes).
 */
import * as assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  AzureFormatError,
  hclClaimsBound,
  parseAzureEvidence,
  parseAzureHostCerts,
  parseHclReport,
  parseRuntimeClaims,
  parseTdReport,
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
  parseTrusteeQuoteBin,
  serializeTpmtSignature,
  TPM_ALG,
  TpmWriter,
  tpmPublicToJwk,
  writePcrSelections,
} from '../../src/formats/index.ts';
import { AZURE_AK_ATTRIBUTES, rsaAkPublicArea } from './tpm-templates.ts';

const D = new URL('../data/azure/', import.meta.url);
const bin = (p: string) => new Uint8Array(readFileSync(new URL(p, D)));
const json = (p: string) => JSON.parse(readFileSync(new URL(p, D), 'utf8'));
const code = (c: string) => (e: unknown) => e instanceof AzureFormatError && e.code === c;

describe('HCL report', () => {
  it('SNP (trustee): header, SNP report, runtime claims bound to REPORT_DATA', () => {
    const r = parseHclReport(bin('trustee/az-snp-vtpm/hcl-report.bin'));
    assert.equal(r.teeType, 'sev-snp');
    assert.equal(r.version, 1);
    assert.equal(r.reportSize, 2346);
    assert.equal(r.requestData.reportType, 2);
    assert.equal(r.requestData.hashType, 1);
    assert.equal(r.runtimeClaimsBytes.length, 1110);
    assert.equal(r.hwReport.length, 1184);
    assert.equal(r.hwReport[0], 2); // SNP report version 2 (README)
    assert.ok(hclClaimsBound(r));
    const c = parseRuntimeClaims(r.runtimeClaimsBytes);
    assert.equal(c.akPub?.kty, 'RSA');
    assert.equal(c.vmConfiguration?.['secure-boot'], true);
    assert.equal(c.vmConfiguration?.vmUniqueId, '911B0EF8-9DBA-48B0-B275-4E4DF2D39252');
  });
  it('TDX (trustee, azure-cvm-tooling): TDREPORT type 0x81, claims hash = REPORTDATA[0:32]', () => {
    for (const f of ['trustee/az-tdx-vtpm/hcl-report.bin', 'azure-cvm-tooling/hcl-report-tdx.bin']) {
      const r = parseHclReport(bin(f));
      assert.equal(r.teeType, 'tdx');
      assert.equal(r.version, 2);
      assert.equal(r.hwReport.length, 1024);
      assert.ok(hclClaimsBound(r), f);
      const td = parseTdReport(r.hwReport);
      assert.equal(td.reportType, 0x81);
      assert.deepEqual(td.reportData.subarray(0, 32), r.runtimeClaimsHash);
    }
  });
  it('older 2048-byte SNP report (azure-cvm-tooling) parses and binds its claims', () => {
    const r = parseHclReport(bin('azure-cvm-tooling/hcl-report-snp.bin'));
    assert.equal(r.teeType, 'sev-snp');
    assert.ok(hclClaimsBound(r));
    assert.ok(parseRuntimeClaims(r.runtimeClaimsBytes).akPub);
  });
  it('bad input: truncated, wrong signature, report type, hash type, sizes, claims', () => {
    const good = bin('trustee/az-snp-vtpm/hcl-report.bin');
    for (const n of [0, 10, 31, 1000, 1235, 1236, 2000, 2345])
      assert.throws(() => parseHclReport(good.slice(0, n)), code('AZURE_HCL_TRUNCATED'), `length ${n}`);
    const m = (off: number, v: number) => {
      const b = good.slice();
      b[off] = v;
      return b;
    };
    assert.throws(() => parseHclReport(m(0, 0x41)), code('AZURE_HCL_SIGNATURE'));
    assert.throws(() => parseHclReport(m(1216 + 8, 3)), code('AZURE_HCL_REPORT_TYPE'));
    assert.throws(() => parseHclReport(m(1216 + 12, 9)), code('AZURE_HCL_HASH_TYPE'));
    assert.throws(() => parseHclReport(m(1216 + 16, 0xff)), code('AZURE_HCL_TRUNCATED'));
    assert.throws(() => parseHclReport(m(8, 0)), code('AZURE_HCL_TRUNCATED'));
    // report_type TDX but an SNP report in the area
    assert.throws(() => parseHclReport(m(1216 + 8, 4)), code('AZURE_HCL_REPORT_TYPE'));
    // claims that are not JSON
    assert.throws(
      () => parseRuntimeClaims(new TextEncoder().encode('{"keys":')),
      code('AZURE_RUNTIME_CLAIMS'),
    );
    assert.throws(() => parseRuntimeClaims(new TextEncoder().encode('[1]')), code('AZURE_RUNTIME_CLAIMS'));
    assert.throws(() => parseRuntimeClaims(Uint8Array.of(0xff, 0xfe)), code('AZURE_RUNTIME_CLAIMS'));
  });
});

describe('TPM 2.0 structures', () => {
  it('TPMS_ATTEST quote (trustee): magic, type, extraData "challenge", all 24 SHA-256 PCRs, digest', () => {
    const q = json('trustee/az-snp-vtpm/tpm-quote-v1.json');
    const a = parseTpmsAttest(new Uint8Array(Buffer.from(q.message, 'hex')));
    assert.equal(a.magic, 0xff544347);
    assert.equal(a.type, 0x8018);
    assert.equal(Buffer.from(a.extraData).toString(), 'challenge');
    assert.deepEqual(a.pcrSelect, [{ hashAlg: TPM_ALG.SHA256, pcrs: [...Array(24).keys()] }]);
    const h = createHash('sha256');
    for (const p of q.pcrs) h.update(Buffer.from(p, 'hex'));
    assert.deepEqual(Buffer.from(a.pcrDigest), h.digest());
  });
  it('tpm-quote.msg: PCRs {0..7,14}, 122 bytes', () => {
    const a = parseTpmsAttest(bin('trustee/az-snp-vtpm/tpm-quote.msg'));
    assert.deepEqual(a.pcrSelect[0]?.pcrs, [0, 1, 2, 3, 4, 5, 6, 7, 14]);
  });
  it('trustee quote.bin (bincode) = tpm-quote-v1.json; azure-cvm-tooling quote.bin verifies with akpub.pem', () => {
    const q = parseTrusteeQuoteBin(bin('trustee/az-snp-vtpm/quote.bin'));
    const j = json('trustee/az-snp-vtpm/tpm-quote-v1.json');
    assert.equal(Buffer.from(q.message).toString('hex'), j.message);
    assert.equal(Buffer.from(q.signature).toString('hex'), j.signature);
    assert.deepEqual(
      q.pcrs.map((p) => Buffer.from(p.value).toString('hex')),
      j.pcrs,
    );
    const t = parseTrusteeQuoteBin(bin('azure-cvm-tooling/quote.bin'));
    const ak = createPublicKey(readFileSync(new URL('azure-cvm-tooling/akpub.pem', D)));
    assert.ok(verify('sha256', t.message, ak, t.signature));
    const a = parseTpmsAttest(t.message);
    assert.equal(Buffer.from(a.extraData).toString(), 'challenge');
    const h = createHash('sha256');
    for (const i of a.pcrSelect[0]!.pcrs) h.update(t.pcrs[i]!.value);
    assert.deepEqual(Buffer.from(a.pcrDigest), h.digest());
    // one byte flipped in the message: the signature no longer verifies
    const m = t.message.slice();
    m[40]! ^= 1;
    assert.equal(verify('sha256', m, ak, t.signature), false);
    assert.throws(
      () => parseTrusteeQuoteBin(bin('azure-cvm-tooling/quote.bin').slice(0, 500)),
      code('TPM_TRUNCATED'),
    );
  });
  it('bad TPMS_ATTEST: magic, type, truncation, trailing bytes', () => {
    const good = bin('trustee/az-snp-vtpm/tpm-quote.msg');
    const m = (off: number) => {
      const b = good.slice();
      b[off]! ^= 0xff;
      return b;
    };
    assert.throws(() => parseTpmsAttest(m(0)), code('TPM_MAGIC'));
    assert.throws(() => parseTpmsAttest(m(5)), code('TPM_ATTEST_TYPE'));
    for (const n of [0, 3, 6, 50, 121])
      assert.throws(() => parseTpmsAttest(good.slice(0, n)), code('TPM_TRUNCATED'));
    assert.throws(() => parseTpmsAttest(Buffer.concat([good, Uint8Array.of(0)])), code('TPM_TRAILING'));
  });
  it('TPMT_SIGNATURE round trip (RSASSA, RSAPSS, ECDSA); unknown algorithm', () => {
    const sigs = [
      { sigAlg: 'rsassa' as const, hashAlg: TPM_ALG.SHA256, signature: new Uint8Array(256).fill(7) },
      { sigAlg: 'rsapss' as const, hashAlg: TPM_ALG.SHA384, signature: new Uint8Array(384).fill(9) },
      {
        sigAlg: 'ecdsa' as const,
        hashAlg: TPM_ALG.SHA256,
        r: new Uint8Array(32).fill(1),
        s: new Uint8Array(32).fill(2),
      },
    ];
    for (const s of sigs) assert.deepEqual(parseTpmtSignature(serializeTpmtSignature(s)), s);
    assert.throws(() => parseTpmtSignature(Uint8Array.of(0, 0x99, 0, 0x0b, 0, 0)), code('TPM_ALGORITHM'));
  });
  it('TPMT_PUBLIC: RSA and ECC P-256 areas to JWK; other curves refused', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n!, 'base64url');
    const rsa = rsaAkPublicArea(n);
    const { pub } = parseTpm2bPublic(new TpmWriter().tpm2b(rsa).done());
    assert.equal(pub.type, 'rsa');
    assert.deepEqual(tpmPublicToJwk(pub), { kty: 'RSA', n: jwk.n, e: 'AQAB' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const ecc = (curve: number) =>
      new TpmWriter()
        .u16(TPM_ALG.ECC)
        .u16(TPM_ALG.SHA256)
        .u32(AZURE_AK_ATTRIBUTES)
        .tpm2b(new Uint8Array(0))
        .u16(TPM_ALG.NULL)
        .u16(TPM_ALG.ECDSA)
        .u16(TPM_ALG.SHA256)
        .u16(curve)
        .u16(TPM_ALG.NULL)
        .tpm2b(Buffer.from(ec.x!, 'base64url'))
        .tpm2b(Buffer.from(ec.y!, 'base64url'))
        .done();
    const p256 = parseTpm2bPublic(new TpmWriter().tpm2b(ecc(3)).done()).pub;
    assert.deepEqual(tpmPublicToJwk(p256), { kty: 'EC', crv: 'P-256', x: ec.x, y: ec.y });
    const p384 = parseTpm2bPublic(new TpmWriter().tpm2b(ecc(4)).done()).pub;
    assert.throws(() => tpmPublicToJwk(p384), code('AZURE_AK_KEY'));
  });
  it('PCR selection marshalling: bitmaps, and PCR indices out of range refused', () => {
    const w = writePcrSelections(new TpmWriter(), [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 7, 14, 23] }]);
    assert.equal(Buffer.from(w.done()).toString('hex'), '00000001000b03834080');
    assert.throws(
      () => writePcrSelections(new TpmWriter(), [{ hashAlg: TPM_ALG.SHA256, pcrs: [24] }]),
      code('TPM_PCR_SELECTION'),
    );
  });
});

describe('evidence documents', () => {
  it('trustee az-snp-vtpm v0/v1/v2 and az-tdx-vtpm v0 normalize to the same pieces', () => {
    const v0 = parseAzureEvidence(json('trustee/az-snp-vtpm/evidence-v0.json'));
    const v1 = parseAzureEvidence(json('trustee/az-snp-vtpm/evidence-v1.json'));
    const v2 = parseAzureEvidence(json('trustee/az-snp-vtpm/evidence-v2.json'));
    const td = parseAzureEvidence(json('trustee/az-tdx-vtpm/evidence-v0.json'));
    assert.equal(v0.source, 'trustee-az-snp-vtpm-v0');
    assert.equal(v1.source, 'trustee-az-snp-vtpm-v1');
    assert.equal(v2.source, 'trustee-az-snp-vtpm-v2');
    assert.equal(td.source, 'trustee-az-tdx-vtpm-v0');
    assert.equal(v1.hclReport.length, 2600);
    assert.equal(v0.hclReport[32], 3); // SNP report v3
    assert.deepEqual(td.hclReport, bin('trustee/az-tdx-vtpm/hcl-report.bin'));
    assert.deepEqual(td.tdQuote, bin('trustee/az-tdx-vtpm/td-quote.bin'));
    assert.equal(v0.certs.length, 1); // VCEK (PEM)
    assert.equal(v1.certs.length, 1); // VCEK (base64 DER)
    assert.equal(Buffer.from(v2.pcrs[0]!.value).toString('hex').slice(0, 8), '84275b2f');
  });
  it('bad documents: each an AZURE_EVIDENCE error', () => {
    for (const d of [
      null,
      [],
      {},
      { format: 'azure-vtpm/1' },
      { tpm_quote: {}, hcl_report: 'x', version: 7 },
    ])
      assert.throws(
        () => parseAzureEvidence(d),
        (e: unknown) => e instanceof AzureFormatError,
      );
    assert.throws(
      () => parseAzureEvidence({ quote: { message: [256], pcrs: [], signature: [] }, report: [] }),
      code('AZURE_EVIDENCE'),
    );
  });
  it('host certificate endpoint JSON (vcekCert, certificateChain, tcbm)', () => {
    const pem = readFileSync(new URL('trustee/az-snp-vtpm/vcek.pem', D), 'utf8');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
    const h = parseAzureHostCerts({
      vcekCert: blocks[0],
      certificateChain: blocks.slice(1).join('\n'),
      tcbm: 'DB18000000000004',
      cacheControl: '86400',
    });
    assert.equal(h.chain.length, 2);
    assert.equal(h.tcbm, 'DB18000000000004');
    assert.throws(() => parseAzureHostCerts({ vcekCert: pem }), code('AZURE_EVIDENCE'));
  });
});
