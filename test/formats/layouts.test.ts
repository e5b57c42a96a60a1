/**
 * src/formats vendor layouts on the real vectors under test/data: SEV-SNP reports and TDX quotes round-trip
 * byte-exactly through parse/serialize, and truncated or mis-sized input fails with the layout's
 * FormatError subclass and a stable code (never a RangeError from a DataView or a bare Error).
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ByteReader,
  ByteWriter,
  buildCertTable,
  CERT_GUIDS,
  DerError,
  FormatError,
  parseCertTable,
  parseReport,
  parseSgxReportBody,
  parseSpdmEvidence,
  parseTdxQuote,
  REPORT_SIZE,
  readNode,
  SnpFormatError,
  SpdmError,
  serializeReport,
  serializeSgxReportBody,
  serializeTdxQuote,
  TdxFormatError,
} from '../../src/formats/index.ts';
import { isWasmvmTeeError } from '../../src/util/errors.ts';

const DATA = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'data');
const read = (...p: string[]) => new Uint8Array(readFileSync(join(DATA, ...p)));
const snpReports = readdirSync(join(DATA, 'sev-snp')).filter((f) => f.endsWith('-report.bin'));
const tdxQuotes = readdirSync(join(DATA, 'tdx')).filter((f) => f.endsWith('.dat'));

/** The error thrown by f, checked to be a FormatError of class `cls` (and a WasmvmTeeError). */
function formatErrorOf(
  f: () => unknown,
  cls: new (...a: never[]) => FormatError<string>,
): FormatError<string> {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.ok(e instanceof FormatError && isWasmvmTeeError(e));
    return e;
  }
  assert.fail(`expected ${cls.name}`);
}

describe('SEV-SNP report layout (test/data/sev-snp)', () => {
  it('has vectors', () => assert.ok(snpReports.length >= 5, snpReports.join()));
  for (const name of snpReports) {
    it(`${name}: serialize(parse(x)) = x`, () => {
      const bytes = read('sev-snp', name);
      assert.equal(bytes.length, REPORT_SIZE);
      assert.deepEqual(Buffer.from(serializeReport(parseReport(bytes))), Buffer.from(bytes));
    });
  }
  it('truncated, extended, wrong version and mis-sized fields fail with SnpFormatError codes', () => {
    const bytes = read('sev-snp', snpReports[0]!);
    for (const n of [0, 1, 0x50, REPORT_SIZE - 1])
      assert.equal(
        formatErrorOf(() => parseReport(bytes.subarray(0, n)), SnpFormatError).code,
        'SNP_REPORT_SIZE',
      );
    const longer = new Uint8Array(REPORT_SIZE + 1);
    longer.set(bytes);
    assert.equal(formatErrorOf(() => parseReport(longer), SnpFormatError).code, 'SNP_REPORT_SIZE');
    const v9 = new Uint8Array(bytes);
    v9[0] = 9;
    assert.equal(formatErrorOf(() => parseReport(v9), SnpFormatError).code, 'SNP_REPORT_VERSION');
    const r = parseReport(bytes);
    r.reportData = new Uint8Array(63);
    assert.equal(formatErrorOf(() => serializeReport(r), SnpFormatError).code, 'SNP_FIELD_SIZE');
  });
  it('certificate table: parse(build(x)) returns the certificates; a truncated table fails', () => {
    const vcek = read('sev-snp', 'genoa-v5-vcek.der');
    const table = buildCertTable([
      { guid: CERT_GUIDS.vcek, data: vcek },
      { guid: CERT_GUIDS.ark, data: Uint8Array.of(1, 2, 3) },
    ]);
    const entries = parseCertTable(table);
    assert.deepEqual(
      entries.map((e) => e.role),
      ['vcek', 'ark'],
    );
    assert.deepEqual(Buffer.from(entries[0]!.data), Buffer.from(vcek));
    assert.deepEqual(Buffer.from(buildCertTable(entries)), Buffer.from(table));
    for (const n of [0, 23, 47, 71, table.length - 1])
      assert.equal(
        formatErrorOf(() => parseCertTable(table.subarray(0, n)), SnpFormatError).code,
        'SNP_CERT_TABLE',
      );
  });
});

describe('TDX quote layout (test/data/tdx)', () => {
  it('has vectors', () => assert.ok(tdxQuotes.length >= 4, tdxQuotes.join()));
  for (const name of tdxQuotes) {
    it(`${name}: serialize(parse(x)) = x, QE report body too`, () => {
      const bytes = read('tdx', name);
      const q = parseTdxQuote(bytes);
      assert.deepEqual(Buffer.from(serializeTdxQuote(q)), Buffer.from(bytes));
      if (q.qeCert) {
        const body = serializeSgxReportBody(q.qeCert.qeReport);
        assert.deepEqual(Buffer.from(serializeSgxReportBody(parseSgxReportBody(body))), Buffer.from(body));
      }
    });
  }
  it('every truncation fails with TdxFormatError TDX_QUOTE_FORMAT', () => {
    const bytes = read('tdx', tdxQuotes[0]!);
    const q = parseTdxQuote(bytes);
    const end = bytes.length - q.trailing.length;
    for (let n = 0; n < end; n += n < 700 ? 1 : 97) {
      const e = formatErrorOf(() => parseTdxQuote(bytes.subarray(0, n)), TdxFormatError);
      assert.equal(e.code, 'TDX_QUOTE_FORMAT', `length ${n}: ${e.message}`);
    }
    assert.equal(
      formatErrorOf(() => parseSgxReportBody(new Uint8Array(383)), TdxFormatError).code,
      'TDX_QUOTE_FORMAT',
    );
  });
});

describe('SPDM, DER and the byte reader/writer', () => {
  it('SPDM evidence truncations fail with SpdmError (a FormatError)', () => {
    const hex = readFileSync(
      join(DATA, 'nvidia', 'nvat-blackwell-attestation-report.hex.txt'),
      'utf8',
    ).trim();
    const raw = new Uint8Array(Buffer.from(hex, 'hex'));
    parseSpdmEvidence(raw);
    for (const n of [0, 3, 36, 40, 100, raw.length - 97])
      assert.equal(
        formatErrorOf(() => parseSpdmEvidence(raw.subarray(0, n)), SpdmError).code,
        'NVIDIA_SPDM_MALFORMED',
      );
  });
  it('DER: a truncated element fails with DerError (code DER)', () => {
    const der = read('sev-snp', 'genoa-v5-vcek.der');
    assert.equal(readNode(der).end, der.length);
    assert.equal(formatErrorOf(() => readNode(der.subarray(0, 10)), DerError).code, 'DER');
  });
  it('ByteReader/ByteWriter: little-endian round trip, strict bounds and sizes', () => {
    const b = new ByteWriter().u16(0x1234).u32(0xdeadbeef).bytes(Uint8Array.of(7, 8), 2, 'tail').done();
    assert.deepEqual([...b], [0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 7, 8]);
    const r = new ByteReader(b, 'test');
    assert.equal(r.u16('a'), 0x1234);
    assert.equal(r.u32('b'), 0xdeadbeef);
    assert.deepEqual([...r.view(2, 'c')], [7, 8]);
    const e = formatErrorOf(() => r.u8('d'), FormatError);
    assert.equal(e.code, 'TRUNCATED');
    assert.match(e.message, /^test: truncated at d \(offset 8, need 1 bytes, have 0\)$/);
    assert.equal(
      formatErrorOf(() => new ByteWriter().bytes(new Uint8Array(3), 4, 'x'), FormatError).code,
      'INVALID_LENGTH',
    );
  });
});
