/**
 * Issue 14 item 8: the SEV-SNP verifier is bounded. Hostile certificate tables are generated here (nothing
 * big is committed): each is rejected with a stable code, without copying the referenced region per entry.
 * Memory is measured loosely (ArrayBuffer growth far below what one copy per entry would take); no timings.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/verify.ts';
import { buildCertTable, guidToBytes } from '../../../src/formats/index.ts';
import {
  CERT_GUIDS,
  CERT_TABLE_LIMITS,
  parseCertTable,
  SnpFormatError,
  verifySnpReport,
} from '../../../src/verify/sev-snp/index.ts';
import { DATA, read } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-snp-bounded-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `n` entries (GUIDs made unique by their last bytes unless `sameGuid`), all pointing at one region of `region` bytes. */
function aliasedTable(n: number, region: number, sameGuid = false): Uint8Array {
  const header = 24 * (n + 1);
  const buf = new Uint8Array(header + region);
  const dv = new DataView(buf.buffer);
  const base = guidToBytes(CERT_GUIDS.vcek);
  for (let i = 0; i < n; i++) {
    const g = base.slice();
    if (!sameGuid && i > 0) g.set([i & 0xff, (i >> 8) & 0xff, 0x5a, 0xa5], 12);
    buf.set(g, i * 24);
    dv.setUint32(i * 24 + 16, header, true);
    dv.setUint32(i * 24 + 20, region, true);
  }
  return buf;
}

const code = (c: string) => (e: unknown) => e instanceof SnpFormatError && e.code === c;

describe('sev-snp: the certificate table is bounded', () => {
  it("the issue's table (1.5 MB, 20,000 entries at one 1 MB region) is rejected by size, without copying", async () => {
    const t = aliasedTable(20_000, 1024 * 1024);
    assert.ok(t.length > 1.4e6);
    assert.throws(() => parseCertTable(t), code('SNP_CERT_TABLE_SIZE'));
    const before = process.memoryUsage().arrayBuffers;
    const v = await verifySnpReport(read('genoa-v5-report.bin'), {
      auxblob: t,
      now: new Date('2026-06-01T00:00:00Z'),
    });
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.equal(v.ok, false);
    const c = v.checks.find((x) => x.id === 'snp.certs.table');
    assert.match(c?.detail ?? '', /SNP_CERT_TABLE_SIZE/);
    assert.ok(grown < 64 * 1024 * 1024, `ArrayBuffers grew by ${grown} bytes`);
  });

  it('within the size limit: too many entries, aliased entries, duplicate GUIDs, entries in the header', () => {
    assert.throws(
      () => parseCertTable(aliasedTable(CERT_TABLE_LIMITS.maxEntries + 1, 16)),
      code('SNP_CERT_TABLE_ENTRIES'),
    );
    assert.throws(() => parseCertTable(aliasedTable(8, 4096)), code('SNP_CERT_TABLE_OVERLAP'));
    assert.throws(() => parseCertTable(aliasedTable(2, 64, true)), code('SNP_CERT_TABLE_DUPLICATE'));
    const inHeader = buildCertTable([
      { guid: CERT_GUIDS.vcek, data: new Uint8Array(100) },
      { guid: CERT_GUIDS.ask, data: new Uint8Array(100) },
    ]);
    new DataView(inHeader.buffer).setUint32(16, 48, true); // vcek now starts at the terminator entry
    assert.throws(() => parseCertTable(inHeader), code('SNP_CERT_TABLE_OVERLAP'));
    const big = buildCertTable([
      { guid: CERT_GUIDS.vcek, data: new Uint8Array(CERT_TABLE_LIMITS.maxCertBytes + 1) },
    ]);
    assert.throws(() => parseCertTable(big), code('SNP_CERT_TABLE_SIZE'));
  });

  it('a good table parses into views of the input (no copies)', () => {
    const vcek = read('genoa-v5-vcek.der');
    const t = buildCertTable([
      { guid: CERT_GUIDS.vcek, data: vcek },
      { guid: CERT_GUIDS.ask, data: new Uint8Array(10) },
    ]);
    const e = parseCertTable(t);
    assert.equal(e.length, 2);
    assert.equal(e[0]!.data.buffer, t.buffer, 'entry data is a view of the table');
    assert.deepEqual(e[0]!.data, vcek);
  });

  it('the CLI (--certs): the 1.5 MB table is refused unread (exit 2), a 300 KB one is rejected by the parser (exit 1)', async () => {
    const run = async (table: Uint8Array, name: string) => {
      const p = join(tmp, name);
      writeFileSync(p, table);
      let out = '';
      const rc = await main(
        [
          '--no-nonce',
          '--snp-report',
          fileURLToPath(new URL('genoa-v5-report.bin', DATA)),
          '--certs',
          p,
          '--now',
          '2026-06-01T00:00:00Z',
        ],
        { out: (s) => (out += `${s}\n`), err: (s) => (out += `${s}\n`) },
      );
      return { rc, out };
    };
    const big = await run(aliasedTable(20_000, 1024 * 1024), 'hostile-big.bin');
    assert.equal(big.rc, 2, big.out);
    assert.match(big.out, /EVIDENCE_FILE_SIZE/);
    const mid = await run(aliasedTable(10, 300 * 1024), 'hostile-mid.bin');
    assert.equal(mid.rc, 1, mid.out);
    assert.match(mid.out, /SNP_CERT_TABLE_SIZE/);
  });
});
