/**
 * The azure-vtpm provider against a software model of the Azure vTPM (commands parsed from the bytes the
 * provider sends, responses marshalled by hand): command marshalling byte for byte, the evidence document
 * it produces checked by the verifier, and each bad case (missing NV index, TPM error codes, malformed
 * responses, an AK that is not the report's, an AK of the wrong type, a missing PCR bank, a truncated HCL
 * report) with its own error code. swtpm is not installed here; the swtpm end-to-end test is left.
 */
import * as assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  parseAzureEvidence,
  parseHclReport,
  readPcrSelections,
  TPM_ALG,
  TpmReader,
  TpmWriter,
  writePcrSelections,
} from '../../src/formats/index.ts';
import {
  AzureVtpmProvider,
  nvReadCommand,
  nvReadPublicCommand,
  pcrReadCommand,
  probeAzure,
  quoteCommand,
  readPublicCommand,
  type TpmTransport,
} from '../../src/tee/azure/index.ts';
import { TeeError } from '../../src/tee/index.ts';
import { verifyAzureEvidence } from '../../src/verify/index.ts';
import { AZURE_AK_ATTRIBUTES, rsaAkPublicArea } from '../formats/tpm-templates.ts';

const D = new URL('../data/azure/', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The recorded SNP HCL report with runtime claims naming `ak`, REPORT_DATA set to their hash (so the SNP signature no longer holds). */
function hclWith(ak: KeyObject, truncateTo?: number): Uint8Array {
  const base = Buffer.from(readFileSync(new URL('trustee/az-snp-vtpm/hcl-report.bin', D)));
  const claims = JSON.parse(Buffer.from(parseHclReport(base).runtimeClaimsBytes).toString());
  claims.keys[0] = { kid: 'HCLAkPub', key_ops: ['sign'], ...ak.export({ format: 'jwk' }) };
  const c = Buffer.from(JSON.stringify(claims));
  const head = Buffer.from(base.subarray(0, 1236));
  head.writeUInt32LE(1236 + c.length, 8);
  head.writeUInt32LE(20 + c.length, 1216);
  head.writeUInt32LE(c.length, 1232);
  createHash('sha256')
    .update(c)
    .digest()
    .copy(head, 32 + 0x50);
  const out = Buffer.concat([head, c, Buffer.alloc(2600 - 1236 - c.length)]);
  return new Uint8Array(truncateTo ? out.subarray(0, truncateTo) : out);
}

interface FakeOpts {
  nv?: Uint8Array | null;
  akPriv: KeyObject;
  akPub: KeyObject;
  /** Override the TPMT_PUBLIC area ReadPublic answers. */
  publicArea?: Uint8Array;
  failQuote?: number;
  banks?: number[];
  truncateResponses?: boolean;
  /** Answer TPM_RC_RETRY this many times before quoting (swtpm does it once). */
  retries?: number;
}

function rsaPublicArea(pub: KeyObject): Uint8Array {
  const n = Buffer.from(pub.export({ format: 'jwk' }).n!, 'base64url');
  return rsaAkPublicArea(n);
}

/** A software vTPM: parses each command the provider sends, answers like the Azure vTPM. */
class FakeTpm implements TpmTransport {
  readonly pcr = new Map<number, Uint8Array>();
  readonly seen: string[] = [];
  constructor(private readonly o: FakeOpts) {
    for (let i = 0; i < 24; i++) this.pcr.set(i, createHash('sha256').update(`pcr${i}`).digest());
  }
  private resp(rc: number, sessions: boolean, params: Uint8Array = new Uint8Array(0)): Uint8Array {
    const body = new TpmWriter();
    if (rc === 0) {
      if (sessions)
        body.u32(params.length).raw(params).tpm2b(new Uint8Array(0)).u8(1).tpm2b(new Uint8Array(0));
      else body.raw(params);
    }
    const b = body.done();
    const out = new TpmWriter()
      .u16(sessions && rc === 0 ? 0x8002 : 0x8001)
      .u32(10 + b.length)
      .u32(rc)
      .raw(b)
      .done();
    return this.o.truncateResponses ? out.subarray(0, out.length - 3) : out;
  }
  async send(cmd: Uint8Array): Promise<Uint8Array> {
    const r = new TpmReader(cmd, 'command');
    const tag = r.u16('tag');
    assert.equal(r.u32('size'), cmd.length);
    const cc = r.u32('cc');
    const skipAuth = () => {
      assert.equal(tag, 0x8002);
      const n = r.u32('authSize');
      const a = new TpmReader(r.bytes(n, 'auth'), 'auth');
      assert.equal(a.u32('handle'), 0x40000009);
    };
    switch (cc) {
      case 0x169: {
        this.seen.push('NV_ReadPublic');
        const idx = r.u32('nvIndex');
        if (!this.o.nv || idx !== 0x01400001) return this.resp(0x18b, false);
        const pub = new TpmWriter()
          .u32(idx)
          .u16(TPM_ALG.SHA256)
          .u32(0x42060002)
          .tpm2b(new Uint8Array(0))
          .u16(this.o.nv.length)
          .done();
        return this.resp(0, false, new TpmWriter().tpm2b(pub).tpm2b(new Uint8Array(34)).done());
      }
      case 0x14e: {
        this.seen.push('NV_Read');
        r.u32('auth');
        r.u32('nvIndex');
        skipAuth();
        const size = r.u16('size');
        const off = r.u16('offset');
        assert.ok(size <= 1024);
        return this.resp(0, true, new TpmWriter().tpm2b(this.o.nv!.subarray(off, off + size)).done());
      }
      case 0x173: {
        this.seen.push('ReadPublic');
        assert.equal(r.u32('handle'), 0x81000003);
        const area = this.o.publicArea ?? rsaPublicArea(this.o.akPub);
        return this.resp(
          0,
          false,
          new TpmWriter().tpm2b(area).tpm2b(new Uint8Array(34)).tpm2b(new Uint8Array(34)).done(),
        );
      }
      case 0x17e: {
        this.seen.push('PCR_Read');
        const sels = readPcrSelections(r);
        const s = sels[0]!;
        if (!(this.o.banks ?? [TPM_ALG.SHA256]).includes(s.hashAlg))
          return this.resp(0, false, new TpmWriter().u32(7).u32(0).u32(0).done());
        const take = s.pcrs.slice(0, 8);
        const w = new TpmWriter().u32(7);
        writePcrSelections(w, [{ hashAlg: s.hashAlg, pcrs: take }]);
        w.u32(take.length);
        for (const p of take) w.tpm2b(this.pcr.get(p)!);
        return this.resp(0, false, w.done());
      }
      case 0x158: {
        this.seen.push('Quote');
        assert.equal(r.u32('handle'), 0x81000003);
        skipAuth();
        const extra = r.tpm2b('qualifyingData');
        const scheme = r.u16('scheme');
        if (scheme !== TPM_ALG.NULL) r.u16('hash');
        const sels = readPcrSelections(r);
        r.end();
        if (this.o.failQuote) return this.resp(this.o.failQuote, true);
        if ((this.o.retries ?? 0) > 0) {
          this.o.retries!--;
          return this.resp(0x922, true);
        }
        const h = createHash('sha256');
        for (const p of sels[0]!.pcrs) h.update(this.pcr.get(p)!);
        const attest = new TpmWriter()
          .u32(0xff544347)
          .u16(0x8018)
          .tpm2b(new Uint8Array(34))
          .tpm2b(extra)
          .u64(123456n)
          .u32(1)
          .u32(0)
          .u8(1)
          .u64(0x2000000000000n);
        writePcrSelections(attest, sels);
        const msg = attest.tpm2b(h.digest()).done();
        const sig = sign('sha256', msg, this.o.akPriv);
        return this.resp(
          0,
          true,
          new TpmWriter().tpm2b(msg).u16(TPM_ALG.RSASSA).u16(TPM_ALG.SHA256).tpm2b(sig).done(),
        );
      }
      default:
        return this.resp(0x143, false);
    }
  }
}

const ak = generateKeyPairSync('rsa', { modulusLength: 2048 });
const vcekPem = readFileSync(new URL('trustee/az-snp-vtpm/vcek.pem', D), 'utf8');
const blocks = vcekPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
const hostFetch = async () => ({
  ok: true,
  status: 200,
  text: async () =>
    JSON.stringify({ vcekCert: blocks[0], certificateChain: blocks.slice(1).join('\n'), tcbm: 'x' }),
});

describe('TPM command marshalling', () => {
  it('byte for byte (TCG Part 3 layouts)', () => {
    assert.equal(hex(nvReadPublicCommand(0x01400001)), '80010000000e0000016901400001');
    assert.equal(hex(readPublicCommand(0x81000003)), '80010000000e0000017381000003');
    assert.equal(
      hex(pcrReadCommand([{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }])),
      '8001000000140000017e00000001000b03ff0000',
    );
    assert.equal(
      hex(nvReadCommand(0x01400001, 1024, 2048)),
      '800200000023' +
        '0000014e' +
        '0140000101400001' +
        '00000009' +
        '40000009' +
        '0000' +
        '01' +
        '0000' +
        '0400' +
        '0800',
    );
    const q = quoteCommand(0x81000003, new Uint8Array([1, 2]), [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 7] }]);
    assert.equal(
      hex(q),
      '80020000002b' +
        '00000158' +
        '81000003' +
        '00000009' +
        '40000009000001' +
        '0000' +
        '00020102' +
        '0010' +
        '00000001000b03810000',
    );
  });
});

describe('azure-vtpm provider (software vTPM)', () => {
  it('reads the HCL report, checks the AK, quotes the boot PCRs with qualifyingData = REPORT_DATA', async () => {
    const tpm = new FakeTpm({
      nv: hclWith(ak.publicKey),
      akPriv: ak.privateKey,
      akPub: ak.publicKey,
      retries: 2,
    });
    const p = await AzureVtpmProvider.open({ transport: tpm, fetch: hostFetch });
    assert.equal(p.kind, 'azure-sev-snp');
    const rd = new Uint8Array(64).map((_, i) => i);
    const ev = await p.getEvidence(rd);
    assert.equal(ev.kind, 'azure-sev-snp');
    assert.equal(ev.provider, 'azure-vtpm');
    const doc = JSON.parse(new TextDecoder().decode(ev.report));
    assert.equal(doc.format, 'azure-vtpm/1');
    assert.deepEqual(Object.keys(doc.quote.pcrs), ['0', '1', '2', '3', '4', '5', '6', '7']);
    assert.equal(parseAzureEvidence(doc).certs.length, 3);
    assert.ok(tpm.seen.filter((c) => c === 'NV_Read').length >= 3); // 2600 bytes in 1024-byte chunks
    assert.equal(tpm.seen.filter((c) => c === 'Quote').length, 3); // TPM_RC_RETRY twice, then the quote
    // The verifier: every vTPM link holds; the SNP report does not (its REPORT_DATA was rewritten here).
    const v = await verifyAzureEvidence(doc, { nonce: rd });
    const out = (id: string) => v.checks.find((c) => c.id === id)?.outcome;
    for (const id of [
      'azure.evidence.format',
      'azure.hcl.format',
      'azure.runtime-claims.binding',
      'azure.ak.key',
      'azure.quote.signature',
      'azure.quote.nonce',
      'azure.quote.pcr-bank',
      'azure.quote.pcr-digest',
    ])
      assert.equal(out(id), 'pass', id);
    assert.equal(out('azure.hw-report'), 'fail');
    assert.equal(v.parts?.[0]?.checks.find((c) => c.id === 'snp.report.signature')?.outcome, 'fail');
    // A PCR extended after the quote: the digest check catches it.
    const doc2 = structuredClone(doc);
    doc2.quote.pcrs['3'] = '00'.repeat(32);
    const v2 = await verifyAzureEvidence(doc2, { nonce: rd });
    assert.equal(v2.checks.find((c) => c.id === 'azure.quote.pcr-digest')?.outcome, 'fail');
  });
  it('bad cases: each its own error code, nothing crashes', async () => {
    const code = (c: string) => (e: unknown) => e instanceof TeeError && e.code === c;
    const base = { akPriv: ak.privateKey, akPub: ak.publicKey };
    // missing NV index: not an Azure CVM (detection says no)
    assert.equal(await probeAzure(new FakeTpm({ ...base, nv: null })), undefined);
    await assert.rejects(
      AzureVtpmProvider.open({ transport: new FakeTpm({ ...base, nv: null }) }),
      code('TEE_AZURE_NV_MISSING'),
    );
    // a truncated HCL report
    await assert.rejects(
      AzureVtpmProvider.open({ transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey, 1500) }) }),
      code('TEE_AZURE_HCL'),
    );
    const rd = new Uint8Array(64);
    // a TPM error code on Quote
    const failing = await AzureVtpmProvider.open({
      transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey), failQuote: 0x98e }),
      fetch: hostFetch,
    });
    await assert.rejects(
      failing.getEvidence(rd),
      (e: unknown) => code('TEE_TPM_ERROR')(e) && /TPM_RC_AUTH_FAIL|0x0000098e/.test((e as Error).message),
    );
    // an AK that is not the report's HCLAkPub
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrongAk = await AzureVtpmProvider.open({
      transport: new FakeTpm({ ...base, akPub: other.publicKey, nv: hclWith(ak.publicKey) }),
    });
    await assert.rejects(wrongAk.getEvidence(rd), code('TEE_AZURE_AK'));
    // an AK on P-384
    const p384 = new TpmWriter()
      .u16(TPM_ALG.ECC)
      .u16(TPM_ALG.SHA256)
      .u32(AZURE_AK_ATTRIBUTES)
      .tpm2b(new Uint8Array(0))
      .u16(TPM_ALG.NULL)
      .u16(TPM_ALG.ECDSA)
      .u16(TPM_ALG.SHA384)
      .u16(0x0004)
      .u16(TPM_ALG.NULL)
      .tpm2b(new Uint8Array(48))
      .tpm2b(new Uint8Array(48))
      .done();
    const eccAk = await AzureVtpmProvider.open({
      transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey), publicArea: p384 }),
    });
    await assert.rejects(eccAk.getEvidence(rd), code('TEE_AZURE_AK'));
    // a PCR bank the TPM does not have
    const noBank = await AzureVtpmProvider.open({
      transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey) }),
      pcrBank: 'sha384',
    });
    await assert.rejects(noBank.getEvidence(rd), code('TEE_AZURE_PCR_BANK'));
    // malformed (truncated) responses
    await assert.rejects(
      AzureVtpmProvider.open({
        transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey), truncateResponses: true }),
      }),
      code('TEE_TPM_RESPONSE'),
    );
    // REPORT_DATA of the wrong size
    const ok = await AzureVtpmProvider.open({
      transport: new FakeTpm({ ...base, nv: hclWith(ak.publicKey) }),
    });
    await assert.rejects(ok.getEvidence(new Uint8Array(32)), code('TEE_BAD_REPORT_DATA'));
  });
});
