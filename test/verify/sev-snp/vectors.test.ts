import * as assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { serializeReport } from '../../../src/formats/index.ts';
import {
  decodeSignerInfo,
  decodeTcb,
  parseAmdCert,
  parseReport,
  pinnedChains,
  tcbHex,
  verifySnpReport,
} from '../../../src/verify/sev-snp/index.ts';
import { expected, read, readText, timeFor } from './helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('sev-snp: real reports from the test vectors', () => {
  for (const e of expected.reports) {
    it(`${e.report} parses, round-trips and verifies to its pinned root`, async () => {
      const bytes = read(e.report);
      const r = parseReport(bytes);
      assert.deepEqual(serializeReport(r), bytes, 'byte-exact round trip');
      assert.equal(r.version, e.version);
      assert.equal(r.vmpl, e.vmpl);
      assert.equal(r.guestSvn, e.guestSvn);
      assert.equal(`0x${r.policy.toString(16)}`, e.policy);
      assert.equal(`0x${r.platformInfo.toString(16)}`, e.platformInfo);
      assert.equal(hex(r.reportData), e.reportData);
      assert.equal(hex(r.measurement), e.measurement);
      assert.equal(hex(r.hostData), e.hostData);
      assert.equal(hex(r.chipId), e.chipId);
      assert.equal(tcbHex(r.reportedTcb), e.reportedTcbHex);
      assert.equal(tcbHex(r.currentTcb), e.currentTcbHex);
      assert.deepEqual(decodeTcb(r.reportedTcb, e.productLine as 'Milan'), e.reportedTcb);
      assert.equal(decodeSignerInfo(r.signerInfo).signingKey, e.signingKey);
      assert.equal(
        r.version >= 3 ? hex(Uint8Array.of(r.cpuidFamId, r.cpuidModId, r.cpuidStep)) : null,
        e.cpuidFamModStep,
      );
      const vek = e.vek.endsWith('.pem') ? readText(e.vek) : read(e.vek);
      const info = parseAmdCert(vek);
      assert.deepEqual(info.tcb, e.vekTcb);
      assert.equal(info.productName, e.vekProductName);
      assert.equal(info.cspId ?? null, e.vekCspId);
      const v = await verifySnpReport(bytes, {
        vek,
        now: timeFor(e.report),
        // VMPL 0 is required by default: the VMPL 1 vectors state theirs (test/verify/sev-snp/policy-defaults.test.ts).
        policy: { vmpl: e.vmpl as number, ...(e.debugAllowed ? { allowDebug: true } : {}) },
        expectedReportData: r.reportData,
      });
      const failed = v.checks.filter((c) => c.outcome === 'fail');
      assert.deepEqual(failed, [], JSON.stringify(failed));
      assert.equal(v.ok, true);
      const f = v.fields as Record<string, unknown>;
      assert.equal(f.measurement, e.measurement);
      assert.equal((f.root as { subject: string }).subject, `ARK-${e.productLine}`);
      const ids = v.checks.filter((c) => c.outcome === 'pass').map((c) => c.id);
      for (const id of [
        'snp.report.signature',
        'snp.chain.vek',
        'snp.chain.ark',
        'snp.vek.tcb',
        'snp.chain.validity',
      ])
        assert.ok(ids.includes(id), id);
      assert.ok(ids.includes(e.signingKey === 'VLEK' ? 'snp.vlek.csp' : 'snp.vek.hwid'));
    });
  }

  it('the debug report is rejected by default, only at snp.policy.debug', async () => {
    const v = await verifySnpReport(read('milan-v2-gosevguest-report.bin'), {
      vek: read('milan-v2-gosevguest-vcek.der'),
      now: new Date('2026-01-01T00:00:00Z'),
    });
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
      ['snp.policy.debug'],
    );
  });

  it('the AWS VLEK is rejected after its expiry', async () => {
    const v = await verifySnpReport(read('milan-v3-aws-vlek-report.bin'), {
      vek: read('milan-aws-vlek.der'),
      now: new Date('2026-01-01T00:00:00Z'),
      policy: { vmpl: 1 },
    });
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
      ['snp.chain.validity'],
    );
  });

  it('a report with a VCEK of another chip fails hwID and signature', async () => {
    const v = await verifySnpReport(read('milan-v2-virtee-report.bin'), {
      vek: read('milan-v5-gcp-vcek.pem'),
      now: new Date('2026-06-01T00:00:00Z'),
    });
    const failed = v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
    assert.ok(failed.includes('snp.report.signature'));
    assert.ok(failed.includes('snp.vek.hwid'));
    assert.ok(failed.includes('snp.vek.tcb'));
  });

  it('the Turin VCEK chains to ARK-Turin (8-byte hwID, fmcSPL, no spl4)', () => {
    const t = expected.turinChainOnly;
    const der = read('turin-vcek.der');
    const info = parseAmdCert(der);
    assert.equal(info.productName, t.productName);
    assert.equal(info.structVersion, t.structVersion);
    assert.equal(info.tcb.fmcSPL, t.fmcSPL);
    assert.equal(info.tcb.ucodeSPL, t.ucodeSPL);
    assert.equal(info.spl4, undefined);
    assert.equal(hex(info.hwId!), t.hwid);
    const turin = pinnedChains().find((c) => c.product === 'Turin')!;
    const vcek = new X509Certificate(Buffer.from(der));
    assert.ok(vcek.verify(new X509Certificate(turin.ask!.raw).publicKey));
    assert.ok(
      !vcek.verify(
        new X509Certificate(pinnedChains().find((c) => c.product === 'Milan')!.ask!.raw).publicKey,
      ),
    );
  });

  it('the fake VCEKs parse (both hwID encodings) but do not chain to AMD', async () => {
    for (const f of expected.parseOnlyNotAmdSigned) {
      const info = parseAmdCert(read(f.file));
      assert.equal(
        hex(info.hwId!),
        '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f',
      );
      assert.equal(info.hwIdEncoding, f.file.includes('octet') ? 'octet-string' : 'raw');
      // pair it with a real Milan report: the chain must fail
      const v = await verifySnpReport(read('milan-v2-virtee-report.bin'), {
        vek: read(f.file),
        now: new Date('2026-06-01T00:00:00Z'),
      });
      assert.equal(v.ok, false);
      assert.ok(v.checks.some((c) => c.id === 'snp.chain.vek' && c.outcome === 'fail'));
    }
  });

  it('pinned roots match the fingerprints in expected-results.json', () => {
    const fp = (pem: string) => {
      return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
    };
    const chains = pinnedChains();
    for (const [file, list] of Object.entries(expected.amdRoots)) {
      const product = file.includes('milan') ? 'Milan' : file.includes('genoa') ? 'Genoa' : 'Turin';
      const c = chains.find((x) => x.product === product)!;
      const inter = file.includes('vlek') ? c.asvk! : c.ask!;
      assert.equal(fp(inter.toPem()), list[0]!.sha256, `${file} intermediate`);
      assert.equal(fp(c.ark.toPem()), list[1]!.sha256, `${file} ARK`);
    }
  });
});

describe('sev-snp: certificates that come with the evidence', () => {
  it('a certificate table with the real VCEK verifies; a junk ASK in it is ignored; a foreign ARK fails', async () => {
    const { buildCertTable, CERT_GUIDS } = await import('../../../src/formats/index.ts');
    const report = read('genoa-v5-report.bin');
    const vcek = read('genoa-v5-vcek.der');
    const now = new Date('2026-06-01T00:00:00Z');
    const genoa = pinnedChains().find((c) => c.product === 'Genoa')!;
    const milan = pinnedChains().find((c) => c.product === 'Milan')!;
    const table = (ask: Uint8Array, ark: Uint8Array) =>
      buildCertTable([
        { guid: CERT_GUIDS.vcek, data: vcek },
        { guid: CERT_GUIDS.ask, data: ask },
        { guid: CERT_GUIDS.ark, data: ark },
      ]);
    const ok = await verifySnpReport(report, {
      auxblob: table(new Uint8Array(genoa.ask!.raw), new Uint8Array(genoa.ark.raw)),
      now,
    });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks.filter((c) => c.outcome === 'fail')));
    const junkAsk = await verifySnpReport(report, {
      auxblob: table(Uint8Array.of(1, 2, 3), new Uint8Array(genoa.ark.raw)),
      now,
    });
    assert.equal(junkAsk.ok, true);
    const wrongArk = await verifySnpReport(report, {
      auxblob: table(new Uint8Array(genoa.ask!.raw), new Uint8Array(milan.ark.raw)),
      now,
    });
    assert.equal(wrongArk.ok, false);
    assert.deepEqual(
      wrongArk.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
      ['snp.chain.evidence-ark'],
    );
  });
});
