import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeSgxReportBody, serializeTdxQuote } from '../../../src/formats/index.ts';
import {
  isDebugTd,
  parsePckExtensions,
  parseSgxReportBody,
  parseTdxQuote,
  pemToDerList,
  signedBytes,
  TdxError,
} from '../../../src/verify/tdx/index.ts';
import { EXPECTED, hex, QUOTES, quoteBytes } from './helpers.ts';

describe('TDX quote parse/serialize', () => {
  for (const name of QUOTES) {
    const exp = EXPECTED.quotes.find((q) => q.file === name)!;
    it(`${name}: parses to the expected fields`, () => {
      const bytes = quoteBytes(name);
      assert.equal(bytes.length, exp.length);
      const q = parseTdxQuote(bytes);
      assert.equal(q.header.version, exp.version);
      assert.equal(q.bodyType ?? null, exp.bodyType);
      assert.equal(`0x${q.header.teeType.toString(16)}`, exp.teeType);
      assert.equal(q.header.attestationKeyType, exp.attestationKeyType);
      assert.equal(hex(q.header.qeVendorId), exp.qeVendorId);
      const b = q.body;
      assert.equal(hex(b.teeTcbSvn), exp.teeTcbSvn);
      assert.equal(hex(b.mrSeam), exp.mrSeam);
      assert.equal(hex(b.tdAttributes), exp.tdAttributes);
      assert.equal(isDebugTd(b), exp.debugTd);
      assert.equal(hex(b.xfam), exp.xfam);
      assert.equal(hex(b.mrTd), exp.mrTd);
      assert.equal(hex(b.mrConfigId), exp.mrConfigId);
      assert.equal(hex(b.mrOwner), exp.mrOwner);
      assert.equal(hex(b.mrOwnerConfig), exp.mrOwnerConfig);
      assert.deepEqual(b.rtmr.map(hex), exp.rtmr);
      assert.equal(hex(b.reportData), exp.reportData);
      assert.equal(b.teeTcbSvn2 ? hex(b.teeTcbSvn2) : null, exp.teeTcbSvn2);
      assert.equal(b.mrServiceTd ? hex(b.mrServiceTd) : null, exp.mrServiceTd);
      assert.equal(q.trailing.length, exp.trailingBytesAfterSignedData);
      assert.equal(q.signedRegion.length, (exp.version === 5 ? 54 : 48) + exp.bodyLength);
      assert.equal(q.certificationType, 6);
      assert.equal(q.qeCert?.inner.type, 5);
      const ders = pemToDerList(q.qeCert!.inner.data);
      assert.equal(ders.length, 3);
      assert.equal(hex(parsePckExtensions(ders[0]!).fmspc), exp.fmspc);
    });
    it(`${name}: serializes back byte-exactly`, () => {
      const bytes = quoteBytes(name);
      const q = parseTdxQuote(bytes);
      assert.deepEqual(Buffer.from(serializeTdxQuote(q)), Buffer.from(bytes));
      assert.deepEqual(Buffer.from(signedBytes(q)), Buffer.from(q.signedRegion));
      const qe = q.qeCert!;
      assert.deepEqual(
        Buffer.from(serializeSgxReportBody(parseSgxReportBody(qe.qeReportRaw))),
        Buffer.from(qe.qeReportRaw),
      );
    });
    it(`${name}: a changed field serializes at its offset`, () => {
      const bytes = quoteBytes(name);
      const q = parseTdxQuote(bytes);
      q.body.rtmr[3] = new Uint8Array(48).fill(0xab);
      const out = serializeTdxQuote(q);
      const off = (q.header.version === 5 ? 54 : 48) + 16 + 48 * 2 + 8 * 3 + 48 * 4 + 48 * 3;
      assert.equal(hex(out.subarray(off, off + 48)), 'ab'.repeat(48));
      assert.equal(out.length, bytes.length);
      assert.deepEqual(Buffer.from(parseTdxQuote(out).body.rtmr[3]), Buffer.alloc(48, 0xab));
    });
  }

  it('rejects truncations at every field boundary with TDX_QUOTE_FORMAT', () => {
    const bytes = quoteBytes('quote-v5-gotdxguest.dat');
    for (const n of [
      0,
      1,
      2,
      4,
      8,
      47,
      48,
      50,
      53,
      54,
      100,
      701,
      702,
      705,
      706,
      770,
      834,
      840,
      1224,
      1288,
      1290,
      2000,
      bytes.length - 1,
    ]) {
      assert.throws(
        () => parseTdxQuote(bytes.subarray(0, n)),
        (e: unknown) => e instanceof TdxError && e.code === 'TDX_QUOTE_FORMAT',
        `length ${n}`,
      );
    }
  });

  it('rejects wrong version, TEE type, key type and body type', () => {
    const base = quoteBytes('quote-v5-gotdxguest.dat');
    const cases: [number, number, RegExp][] = [
      [0, 3, /version 3/],
      [4, 0x00, /TEE type 0x0/],
      [2, 3, /attestation key type 3/],
      [48, 1, /body type 1/],
      [50, 0x40, /body type 3 with size/],
    ];
    for (const [off, val, re] of cases) {
      const b = new Uint8Array(base);
      b[off] = val;
      assert.throws(() => parseTdxQuote(b), re);
    }
  });

  it('rejects a signature-data length that disagrees with its contents', () => {
    const b = new Uint8Array(quoteBytes('quote-v4-debugtd.dat'));
    const dv = new DataView(b.buffer);
    dv.setUint32(632, dv.getUint32(632, true) - 1, true);
    assert.throws(
      () => parseTdxQuote(b),
      (e: unknown) => e instanceof TdxError && e.code === 'TDX_QUOTE_FORMAT',
    );
  });
});
