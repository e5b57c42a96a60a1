/**
 * verifyAzureEvidence on the real Azure vectors (test/data/azure/README.md says what each verifies
 * against): trustee's az-snp-vtpm v0/v1/v2 and az-tdx-vtpm v0 verify with the listed values; a quote
 * from another VM, a VCEK for another chip, the wrong nonce, the wrong bank, a PCR policy miss, and
 * single-byte mutations of every bound region fail, each at its named check.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAzurePolicy, type Verdict, verifyAzureEvidence } from '../../../src/verify/index.ts';

const D = new URL('../../data/azure/', import.meta.url);
const bin = (p: string) => [...readFileSync(new URL(p, D))];
const json = (p: string) => JSON.parse(readFileSync(new URL(p, D), 'utf8'));
const text = (p: string) => readFileSync(new URL(p, D), 'utf8');
const CHALLENGE = new TextEncoder().encode('challenge');
const V2_NONCE = Buffer.from(
  '982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef',
  'hex',
);

const check = (v: Verdict, id: string) => v.checks.find((c) => c.id === id);
const outcome = (v: Verdict, id: string) => check(v, id)?.outcome;
const failed = (v: Verdict) => v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);

describe('Azure vTPM evidence: the recorded vectors verify', () => {
  it('az-snp-vtpm v0 (Milan, SNP v3): every step passes, nonce "challenge"', async () => {
    const v = await verifyAzureEvidence(json('trustee/az-snp-vtpm/evidence-v0.json'), { nonce: CHALLENGE });
    assert.deepEqual(failed(v), []);
    assert.ok(v.ok);
    assert.equal(v.kind, 'azure-sev-snp');
    for (const id of [
      'azure.evidence.format',
      'azure.hcl.format',
      'azure.hw-report',
      'azure.runtime-claims.binding',
      'azure.ak.key',
      'azure.quote.format',
      'azure.quote.signature',
      'azure.quote.nonce',
      'azure.quote.pcr-bank',
      'azure.quote.pcr-digest',
    ])
      assert.equal(outcome(v, id), 'pass', id);
    assert.equal(outcome(v, 'azure.pcr-policy'), 'skip');
    assert.equal(v.parts?.[0]?.kind, 'sev-snp');
    assert.ok(v.parts?.[0]?.ok);
    assert.match(String((v.fields?.snp as { root?: { subject?: string } }).root?.subject), /ARK-Milan/);
    assert.equal(
      v.fields?.runtimeClaimsHash,
      'af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21',
    );
  });
  it('az-snp-vtpm v1 (base64url HCL, hex quote, base64 DER VCEK)', async () => {
    const v = await verifyAzureEvidence(json('trustee/az-snp-vtpm/evidence-v1.json'), { nonce: CHALLENGE });
    assert.deepEqual(failed(v), []);
    assert.equal(v.fields?.source, 'trustee-az-snp-vtpm-v1');
  });
  it('az-snp-vtpm v2: the 48-byte nonce, PCR0 84275b2f…, user data in the claims', async () => {
    const v = await verifyAzureEvidence(json('trustee/az-snp-vtpm/evidence-v2.json'), { nonce: V2_NONCE });
    assert.deepEqual(failed(v), []);
    const pcrs = v.fields?.pcrs as Record<string, string>;
    assert.equal(pcrs['0'], '84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7');
    const claims = v.fields?.runtimeClaims as Record<string, unknown>;
    assert.match(String(claims['user-data']), /^982F5C6E/);
  });
  it('hcl-report.bin + tpm-quote-v1.json + vcek.pem (SNP v2, VCEK ← ASK ← ARK in PEM) verify together', async () => {
    const q = json('trustee/az-snp-vtpm/tpm-quote-v1.json');
    const doc = {
      report: bin('trustee/az-snp-vtpm/hcl-report.bin'),
      quote: { message: q.message, signature: q.signature, pcrs: q.pcrs },
      vcek: text('trustee/az-snp-vtpm/vcek.pem'),
    };
    const v = await verifyAzureEvidence(doc, { nonce: CHALLENGE });
    assert.deepEqual(failed(v), []);
    assert.ok(v.ok);
  });
  it('az-tdx-vtpm v0: TD quote to the Intel root, TDREPORT = quote body; TCB status "not checked"', async () => {
    const doc = json('trustee/az-tdx-vtpm/evidence-v0.json');
    const v = await verifyAzureEvidence(doc, { nonce: CHALLENGE, allowMissingTdxCollateral: true });
    assert.deepEqual(failed(v), []);
    assert.equal(v.kind, 'azure-tdx');
    assert.equal(outcome(v, 'azure.tdx.report-match'), 'pass');
    assert.equal(outcome(v, 'azure.tdx.tcb-status'), 'skip');
    assert.match(check(v, 'azure.tdx.tcb-status')!.detail, /NOT checked/);
    assert.equal(v.parts?.[0]?.kind, 'tdx');
    // Without the explicit allowance a missing collateral is a failure, never a silent pass.
    const strict = await verifyAzureEvidence(doc, { nonce: CHALLENGE });
    assert.equal(strict.ok, false);
    assert.equal(outcome(strict, 'azure.tdx.tcb-status'), 'fail');
  });
  it('PCR policy: the recorded PCR0 passes, another value fails, an uncovered PCR fails', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v2.json');
    const pcr0 = '84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7';
    const ok = await verifyAzureEvidence(doc, {
      nonce: V2_NONCE,
      policy: parseAzurePolicy({ pcrs: { 0: pcr0 } }),
    });
    assert.equal(outcome(ok, 'azure.pcr-policy'), 'pass');
    assert.ok(ok.ok);
    const bad = await verifyAzureEvidence(doc, {
      nonce: V2_NONCE,
      policy: parseAzurePolicy({ pcrs: { 0: '00'.repeat(32) } }),
    });
    assert.equal(outcome(bad, 'azure.pcr-policy'), 'fail');
    assert.equal(bad.ok, false);
    const vm = await verifyAzureEvidence(doc, {
      nonce: V2_NONCE,
      policy: parseAzurePolicy({ vmConfiguration: { 'secure-boot': true, 'console-enabled': false } }),
    });
    assert.equal(outcome(vm, 'azure.vm-configuration'), 'fail'); // console-enabled is true on that VM
  });
});

describe('Azure vTPM evidence: what must fail', () => {
  it('a quote from another VM (tpm-quote.msg/.sig): no AK here verifies it', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v1.json');
    doc.tpm_quote.message = Buffer.from(bin('trustee/az-snp-vtpm/tpm-quote.msg')).toString('hex');
    doc.tpm_quote.signature = Buffer.from(bin('trustee/az-snp-vtpm/tpm-quote.sig')).toString('hex');
    const v = await verifyAzureEvidence(doc, { freshness: 'skip' });
    assert.equal(v.ok, false);
    assert.equal(outcome(v, 'azure.quote.signature'), 'fail');
    assert.equal(outcome(v, 'azure.hw-report'), 'pass');
  });
  it('a VCEK for another chip (azure-cvm-tooling certs.pem with hcl-report-snp.bin): snp.vek.hwid fails', async () => {
    const q = json('trustee/az-snp-vtpm/tpm-quote-v1.json');
    const doc = {
      report: bin('azure-cvm-tooling/hcl-report-snp.bin'),
      quote: { message: q.message, signature: q.signature, pcrs: q.pcrs },
      vcek: text('azure-cvm-tooling/certs.pem'),
    };
    const v = await verifyAzureEvidence(doc, { nonce: CHALLENGE });
    assert.equal(v.ok, false);
    assert.equal(outcome(v, 'azure.hw-report'), 'fail');
    assert.equal(v.parts?.[0]?.checks.find((c) => c.id === 'snp.vek.hwid')?.outcome, 'fail');
    assert.equal(outcome(v, 'azure.runtime-claims.binding'), 'pass'); // the claims are bound to that report
    assert.equal(outcome(v, 'azure.quote.signature'), 'fail'); // that quote is not by this report's AK
  });
  it('wrong nonce, no nonce', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v1.json');
    const v = await verifyAzureEvidence(doc, { nonce: new TextEncoder().encode('challengf') });
    assert.equal(outcome(v, 'azure.quote.nonce'), 'fail');
    assert.match(check(v, 'azure.quote.nonce')!.detail, /AZURE_QUOTE_NONCE/);
    const none = await verifyAzureEvidence(doc);
    assert.equal(outcome(none, 'azure.quote.nonce'), 'fail');
    assert.equal(none.ok, false);
  });
  it('a quote over the wrong PCR bank (policy asks sha384): AZURE_PCR_BANK', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v1.json');
    const v = await verifyAzureEvidence(doc, {
      nonce: CHALLENGE,
      policy: parseAzurePolicy({ pcrBank: 'sha384' }),
    });
    assert.equal(outcome(v, 'azure.quote.pcr-bank'), 'fail');
    assert.match(check(v, 'azure.quote.pcr-bank')!.detail, /AZURE_PCR_BANK/);
  });
  it('runtime claims whose hash does not match REPORT_DATA: AZURE_CLAIMS_HASH', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v0.json');
    // one byte inside the JSON text (a value, keeping it valid JSON)
    const off = 1236 + Buffer.from(doc.report.slice(1236)).indexOf('"secure-boot":true') + 15;
    doc.report[off] = 'f'.charCodeAt(0);
    const v = await verifyAzureEvidence(doc, { nonce: CHALLENGE });
    assert.equal(outcome(v, 'azure.runtime-claims.binding'), 'fail');
    assert.match(check(v, 'azure.runtime-claims.binding')!.detail, /AZURE_CLAIMS_HASH/);
  });
  it('a truncated HCL report, a missing document field: failed checks, not exceptions', async () => {
    const doc = json('trustee/az-snp-vtpm/evidence-v0.json');
    doc.report = doc.report.slice(0, 1500);
    const v = await verifyAzureEvidence(doc, { nonce: CHALLENGE });
    assert.equal(outcome(v, 'azure.hcl.format'), 'fail');
    assert.match(check(v, 'azure.hcl.format')!.detail, /AZURE_HCL_TRUNCATED/);
    const w = await verifyAzureEvidence({ report: [] }, { nonce: CHALLENGE });
    assert.equal(outcome(w, 'azure.evidence.format'), 'fail');
    const x = await verifyAzureEvidence('not json at all', { nonce: CHALLENGE });
    assert.equal(x.ok, false);
  });
  it('an AK that is not RSA-2048/3072 or P-256 (RSA-1024 in the claims): AZURE_AK_KEY', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { parseHclReport } = await import('../../../src/formats/index.ts');
    const doc = json('trustee/az-snp-vtpm/evidence-v0.json');
    const hcl = parseHclReport(new Uint8Array(doc.report));
    const claims = JSON.parse(Buffer.from(hcl.runtimeClaimsBytes).toString());
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    claims.keys[0].n = small.n;
    const v = await verifyAzureEvidence(
      { ...doc, report: rebuildClaims(doc.report, Buffer.from(JSON.stringify(claims))) },
      { nonce: CHALLENGE },
    );
    assert.equal(outcome(v, 'azure.ak.key'), 'fail');
    assert.match(check(v, 'azure.ak.key')!.detail, /AZURE_AK_KEY/);
    assert.equal(outcome(v, 'azure.runtime-claims.binding'), 'fail'); // and the hash no longer matches
  });
});

describe('Azure vTPM evidence: the quote signature schemes a TPM AK produces', () => {
  // The recorded v0 evidence with our own AK in the runtime claims (so the claims binding fails, and only
  // 'azure.quote.signature' is looked at) and the recorded quote message signed by it.
  async function withAk(
    jwk: Record<string, unknown>,
    sig:
      | { sigAlg: 'rsassa' | 'rsapss'; signature: Uint8Array }
      | { sigAlg: 'ecdsa'; r: Uint8Array; s: Uint8Array },
  ) {
    const { parseAzureEvidence, parseHclReport, TPM_ALG } = await import('../../../src/formats/index.ts');
    const doc = json('trustee/az-snp-vtpm/evidence-v0.json');
    const claims = JSON.parse(
      Buffer.from(parseHclReport(new Uint8Array(doc.report)).runtimeClaimsBytes).toString(),
    );
    claims.keys[0] = { kid: 'HCLAkPub', key_ops: ['sign'], ...jwk };
    const ev = parseAzureEvidence({
      ...doc,
      report: rebuildClaims(doc.report, Buffer.from(JSON.stringify(claims))),
    });
    const v = await verifyAzureEvidence(
      { ...ev, quoteSignature: { ...sig, hashAlg: TPM_ALG.SHA256 }, signatureIsBare: false },
      { nonce: CHALLENGE },
    );
    assert.equal(outcome(v, 'azure.ak.key'), 'pass', check(v, 'azure.ak.key')?.detail);
    return v;
  }
  const message = () => new Uint8Array(json('trustee/az-snp-vtpm/evidence-v0.json').quote.message);

  it('RSASSA-PSS with any salt length verifies (OpenSSL auto salt), a changed byte does not', async () => {
    const { constants, generateKeyPairSync, sign } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    for (const saltLength of [32, 222, 20, 0]) {
      const signature = new Uint8Array(
        sign('sha256', message(), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
      );
      const v = await withAk(jwk, { sigAlg: 'rsapss', signature });
      assert.equal(outcome(v, 'azure.quote.signature'), 'pass', `salt ${saltLength}`);
      assert.match(check(v, 'azure.quote.signature')!.detail, /RSASSA-PSS sha256/);
      signature[7]! ^= 1;
      const bad = await withAk(jwk, { sigAlg: 'rsapss', signature });
      assert.equal(outcome(bad, 'azure.quote.signature'), 'fail', `salt ${saltLength}, changed`);
    }
    const pkcs1 = new Uint8Array(sign('sha256', message(), privateKey));
    assert.equal(
      outcome(await withAk(jwk, { sigAlg: 'rsassa', signature: pkcs1 }), 'azure.quote.signature'),
      'pass',
    );
    assert.equal(
      outcome(await withAk(jwk, { sigAlg: 'rsapss', signature: pkcs1 }), 'azure.quote.signature'),
      'fail',
    );
  });

  it('ECDSA P-256 verifies (r and s left-padded), a changed s does not; an ECDSA signature with an RSA AK fails', async () => {
    const { generateKeyPairSync, sign } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const p1363 = new Uint8Array(sign('sha256', message(), { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    const r = p1363.slice(0, 32);
    const s = p1363.slice(32);
    const v = await withAk(jwk, { sigAlg: 'ecdsa', r, s });
    assert.equal(outcome(v, 'azure.quote.signature'), 'pass', check(v, 'azure.quote.signature')?.detail);
    assert.match(check(v, 'azure.ak.key')!.detail, /ECC P-256, SPKI sha256 [0-9a-f]{64}/);
    s[0]! ^= 1;
    assert.equal(outcome(await withAk(jwk, { sigAlg: 'ecdsa', r, s }), 'azure.quote.signature'), 'fail');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const mixed = await withAk(rsa as Record<string, unknown>, { sigAlg: 'ecdsa', r, s });
    assert.match(
      check(mixed, 'azure.quote.signature')!.detail,
      /a ecdsa signature but an rsa attestation key/,
    );
  });

  it('the AK SPKI digest is the SHA-256 of the key as DER SubjectPublicKeyInfo', async () => {
    const { createHash, generateKeyPairSync, sign } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const v = await withAk(publicKey.export({ format: 'jwk' }) as Record<string, unknown>, {
      sigAlg: 'rsassa',
      signature: new Uint8Array(sign('sha256', message(), privateKey)),
    });
    const want = createHash('sha256')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest('hex');
    assert.equal(v.fields?.akPublicKeySha256, want);
    assert.match(check(v, 'azure.ak.key')!.detail, /RSA-3072/);
  });
});

/** An HCL report (byte array) with other runtime claims: sizes in the header and request data adjusted. */
function rebuildClaims(report: number[], claims: Buffer): number[] {
  const b = Buffer.from(report);
  const head = Buffer.from(b.subarray(0, 1236));
  head.writeUInt32LE(1236 + claims.length, 8);
  head.writeUInt32LE(20 + claims.length, 1216);
  head.writeUInt32LE(claims.length, 1232);
  return [...Buffer.concat([head, claims, Buffer.alloc(Math.max(0, 2600 - 1236 - claims.length))])];
}

describe('Azure vTPM evidence: single-byte mutations of every bound region fail', () => {
  const doc0 = json('trustee/az-snp-vtpm/evidence-v0.json');
  // Offsets in the HCL report: the SNP report's signed part and its signature, the request data, the claims.
  const hclOffsets = [
    0,
    3,
    8,
    32,
    32 + 0x08,
    32 + 0x50,
    32 + 0x6f,
    32 + 0x90,
    32 + 0x1a0,
    32 + 0x29f,
    32 + 0x2a0,
    32 + 0x2e8,
    32 + 0x300,
  ];
  const claimsStart = 1236;
  const claimsLen = 1110;
  for (let i = 0; i < 8; i++) hclOffsets.push(claimsStart + Math.floor((claimsLen * i) / 8) + 3);
  hclOffsets.push(1216, 1216 + 8, 1216 + 12, 1216 + 16, claimsStart + claimsLen - 1);
  const msgLen = doc0.quote.message.length;
  const msgOffsets = [0, 4, 6, 8, 10, 20, 45, 50, 60, 70, 80, 90, 100, msgLen - 1];
  const sigOffsets = [0, 1, 100, 255];
  const flip = (a: number[], o: number) => {
    a[o] = a[o]! ^ 0x01;
  };
  const cases: Array<[string, (d: typeof doc0) => void]> = [
    ...hclOffsets.map((o): [string, (d: typeof doc0) => void] => [
      `HCL report byte ${o}`,
      (d) => flip(d.report, o),
    ]),
    ...msgOffsets.map((o): [string, (d: typeof doc0) => void] => [
      `quote byte ${o}`,
      (d) => flip(d.quote.message, o),
    ]),
    ...sigOffsets.map((o): [string, (d: typeof doc0) => void] => [
      `signature byte ${o}`,
      (d) => flip(d.quote.signature, o),
    ]),
    ...[0, 7, 14, 23].map((p): [string, (d: typeof doc0) => void] => [
      `PCR ${p} value`,
      (d) => flip(d.quote.pcrs[p], 5),
    ]),
  ];
  it(`${cases.length} mutations, each rejected`, async () => {
    const base = await verifyAzureEvidence(doc0, { nonce: CHALLENGE });
    assert.ok(base.ok);
    for (const [name, mutate] of cases) {
      const d = structuredClone(doc0);
      mutate(d);
      const v = await verifyAzureEvidence(d, { nonce: CHALLENGE });
      assert.equal(v.ok, false, `${name}: accepted`);
    }
  });
});
