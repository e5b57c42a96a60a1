import * as assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildCertTable, guidToBytes } from '../../../src/formats/index.ts';
import {
  ConfigfsTsmProvider,
  detectTee,
  packExtReportReq,
  packGuestRequest,
  packReportReq,
  probeConfigfsProvider,
  SimulatedSevSnpProvider,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  type TsmFs,
  unpackGuestRequest,
  unpackReportResp,
} from '../../../src/tee/index.ts';
import {
  bytesToGuid,
  CERT_GUIDS,
  certsFromTable,
  parseCertTable,
  parseReport,
} from '../../../src/verify/sev-snp/index.ts';
import { read } from '../../verify/sev-snp/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-prov-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sim = new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });

/**
 * TEST DOUBLE of the kernel's configfs-tsm on a temp directory: mkdir populates the attribute files, writing
 * inblob/privlevel bumps `generation` and regenerates outblob/auxblob (from the simulated TEE), like
 * drivers/virt/coco/tsm.c. `interfere` makes a "concurrent writer" bump generation once between reads.
 */
function fakeKernel(
  root: string,
  provider = 'sev_guest',
  interfere = 0,
): TsmFs & { entries: () => string[] } {
  mkdirSync(root, { recursive: true });
  let left = interfere;
  const gen = (d: string) => Number(readFileSync(join(d, 'generation'), 'utf8'));
  const bump = (d: string) => writeFileSync(join(d, 'generation'), `${gen(d) + 1}\n`);
  return {
    entries: () => readdirSync(root),
    async mkdir(p) {
      mkdirSync(p);
      writeFileSync(join(p, 'provider'), `${provider}\n`);
      writeFileSync(join(p, 'generation'), '0\n');
      writeFileSync(join(p, 'privlevel_floor'), '0\n');
    },
    async rmdir(p) {
      rmSync(p, { recursive: true });
    },
    async access(p) {
      if (!existsSync(p)) throw new Error(`ENOENT ${p}`);
    },
    async readFile(p) {
      if (p.endsWith('outblob') && left > 0) {
        left--;
        bump(join(p, '..'));
      }
      return new Uint8Array(readFileSync(p));
    },
    async writeFile(p, data) {
      const d = join(p, '..');
      if (p.endsWith('inblob')) {
        const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
        if (b.length > 64) throw new Error('EINVAL');
        const rd = new Uint8Array(64);
        rd.set(b);
        const ev = await sim.getEvidence(rd);
        writeFileSync(join(d, 'outblob'), ev.report);
        writeFileSync(join(d, 'auxblob'), ev.auxblob!);
      } else if (!p.endsWith('privlevel')) throw new Error(`EACCES ${p}`);
      writeFileSync(p, data);
      bump(d);
    },
  };
}

describe('configfs-tsm provider (against a fake kernel tree)', () => {
  it('produces the report for our REPORT_DATA, with the certificate table, and removes its entry', async () => {
    const root = join(dir, 'tsm1');
    const fs = fakeKernel(root);
    const p = new ConfigfsTsmProvider({ root, fs, privlevel: 0 });
    const rd = new Uint8Array(64).map((_, i) => i);
    const ev = await p.getEvidence(rd);
    assert.deepEqual(parseReport(ev.report).reportData, rd);
    assert.ok(ev.certs?.vcek && ev.certs.ask && ev.certs.ark);
    assert.equal(ev.provider, 'configfs-tsm');
    assert.deepEqual(fs.entries(), []);
  });

  it('retries when another writer changes the generation', async () => {
    const root = join(dir, 'tsm2');
    const fs = fakeKernel(root, 'sev_guest', 2);
    const ev = await new ConfigfsTsmProvider({ root, fs }).getEvidence(new Uint8Array(64).fill(1));
    assert.equal(ev.report.length, 1184);
    assert.deepEqual(fs.entries(), []);
    const fs2 = fakeKernel(join(dir, 'tsm3'), 'sev_guest', 100);
    await assert.rejects(
      new ConfigfsTsmProvider({ root: join(dir, 'tsm3'), fs: fs2, retries: 2 }).getEvidence(
        new Uint8Array(64),
      ),
      {
        code: 'TEE_CONCURRENT_WRITER',
      },
    );
    assert.deepEqual(fs2.entries(), []);
  });

  it('rejects another provider (tdx_guest) and still removes the entry', async () => {
    const root = join(dir, 'tsm4');
    const fs = fakeKernel(root, 'tdx_guest');
    assert.equal(await probeConfigfsProvider(root, fs), 'tdx_guest');
    await assert.rejects(new ConfigfsTsmProvider({ root, fs }).getEvidence(new Uint8Array(64)), {
      code: 'TEE_WRONG_PROVIDER',
    });
    assert.deepEqual(fs.entries(), []);
  });

  it('detectTee falls back to the simulated TEE here (no configfs-tsm, no /dev/sev-guest)', async () => {
    const p = await detectTee({
      configfsRoot: join(dir, 'none'),
      sevGuestDevice: join(dir, 'no-dev'),
      stateDir: join(dir, 'sim'),
    });
    assert.equal(p.simulated, true);
    await assert.rejects(
      detectTee({
        configfsRoot: join(dir, 'none'),
        sevGuestDevice: join(dir, 'no-dev'),
        allowSimulated: false,
      }),
    );
  });
});

describe('/dev/sev-guest struct packing', () => {
  it('ioctl numbers match linux/sev-guest.h', () => {
    assert.equal(SNP_GET_REPORT, 0xc0205300);
    assert.equal(SNP_GET_EXT_REPORT, 0xc0205302);
  });
  it('packs snp_report_req, snp_ext_report_req and snp_guest_request_ioctl', () => {
    const rd = new Uint8Array(64).fill(0xab);
    const req = packReportReq(rd, 2);
    assert.equal(Buffer.from(req).toString('hex'), `${'ab'.repeat(64)}02000000${'00'.repeat(28)}`);
    const ext = packExtReportReq(rd, 0, 0x1122334455667788n, 0x4000);
    assert.equal(ext.length, 112);
    assert.equal(Buffer.from(ext.subarray(96)).toString('hex'), '887766554433221100400000' + '00000000');
    const io = packGuestRequest(0x7f0000001000n, 0x7f0000002000n);
    assert.equal(
      Buffer.from(io).toString('hex'),
      `01${'00'.repeat(7)}00100000007f000000200000007f0000${'00'.repeat(8)}`,
    );
    const back = Uint8Array.from(io);
    back.set([0x06, 0, 0, 0, 0x02, 0, 0, 0], 24); // fw_error 6, vmm_error 2 (busy)
    assert.deepEqual(
      { fw: unpackGuestRequest(back).fwError, vmm: unpackGuestRequest(back).vmmError },
      { fw: 6, vmm: 2 },
    );
  });
  it('unpacks MSG_REPORT_RSP (status, size, report)', () => {
    const report = read('genoa-v5-report.bin');
    const resp = new Uint8Array(4000);
    const dv = new DataView(resp.buffer);
    dv.setUint32(4, 1184, true);
    resp.set(report, 32);
    assert.deepEqual(unpackReportResp(resp), report);
    dv.setUint32(0, 0x16, true);
    assert.throws(() => unpackReportResp(resp), { code: 'TEE_FIRMWARE_ERROR' });
  });
});

describe('certificate table (auxblob)', () => {
  it('GUIDs use the mixed-endian layout and round-trip', () => {
    assert.equal(
      Buffer.from(guidToBytes(CERT_GUIDS.vcek)).toString('hex'),
      '8d75da6364e66445adc5f4b93be8accd',
    );
    for (const g of Object.values(CERT_GUIDS)) assert.equal(bytesToGuid(guidToBytes(g)), g);
  });
  it('builds and parses a table with VLEK, ASK, ARK and an unknown entry', () => {
    const vlek = read('milan-aws-vlek.der');
    const t = buildCertTable([
      { guid: CERT_GUIDS.vlek, data: vlek },
      { guid: CERT_GUIDS.ask, data: Uint8Array.of(1, 2) },
      { guid: '00000000-0000-0000-0000-000000000001', data: Uint8Array.of(9) },
      { guid: CERT_GUIDS.ark, data: Uint8Array.of(3) },
    ]);
    const e = parseCertTable(t);
    assert.equal(e.length, 4);
    assert.equal(e[2]!.role, undefined);
    const c = certsFromTable(e);
    assert.deepEqual(c.vlek, vlek);
    assert.deepEqual(c.ark, Uint8Array.of(3));
    // truncated or out-of-range tables are errors
    assert.throws(() => parseCertTable(t.subarray(0, 30)), { code: 'SNP_CERT_TABLE' });
    const bad = Uint8Array.from(t);
    new DataView(bad.buffer).setUint32(20, 1 << 20, true);
    assert.throws(() => parseCertTable(bad), { code: 'SNP_CERT_TABLE' });
  });
});

describe('simulated provider', () => {
  it('version 3 and 5 reports round-trip and verify against the simulated root only', async () => {
    const { verifySnpReport } = await import('../../../src/verify/sev-snp/index.ts');
    const { serializeReport } = await import('../../../src/formats/index.ts');
    const root = await sim.rootPem();
    for (const reportVersion of [3, 5] as const) {
      const p = new SimulatedSevSnpProvider({
        stateDir: join(dir, 'sim'),
        rsaBits: 2048,
        warn: false,
        reportVersion,
      });
      const ev = await p.getEvidence(new Uint8Array(64).fill(reportVersion));
      const r = parseReport(ev.report);
      assert.equal(r.version, reportVersion);
      assert.deepEqual(serializeReport(r), ev.report);
      assert.equal(r.measurement.length, 48);
      assert.ok(r.measurement.some((b) => b !== 0));
      const v = await verifySnpReport(ev.report, { certs: ev.certs!, trustSimulatedRoots: [root] });
      assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
      assert.equal(v.fields?.simulated, true);
      assert.equal((await verifySnpReport(ev.report, { certs: ev.certs! })).ok, false);
    }
  });

  it('keeps its chain across instances (same root, same chip id) and keys are 0600', async () => {
    const { statSync } = await import('node:fs');
    const a = await new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), warn: false }).getChain();
    const b = await sim.getChain();
    assert.equal(a.arkPem, b.arkPem);
    assert.deepEqual(a.chipId, b.chipId);
    for (const f of ['ark.key', 'ask.key', 'vcek.key'])
      assert.equal(statSync(join(dir, 'sim', f)).mode & 0o777, 0o600);
  });

  it('rejects REPORT_DATA that is not 64 bytes', async () => {
    await assert.rejects(sim.getEvidence(new Uint8Array(32)));
  });
});

describe('/dev/sev-guest through koffi (no SEV-SNP here)', () => {
  it('runs the FFI path: a missing device and a non-SNP device give clear errors', async (t) => {
    try {
      await import('koffi');
    } catch {
      t.skip('koffi (optional dependency) not installed');
      return;
    }
    const { SevGuestIoctlProvider } = await import('../../../src/tee/index.ts');
    await assert.rejects(
      new SevGuestIoctlProvider({ device: join(dir, 'no-such-device') }).getEvidence(new Uint8Array(64)),
      {
        code: 'TEE_UNAVAILABLE',
      },
    );
    // /dev/null accepts open() but not the SNP ioctl: ENOTTY (25), reported with fw/vmm errors.
    await assert.rejects(
      new SevGuestIoctlProvider({ device: '/dev/null', retries: 0 }).getEvidence(new Uint8Array(64)),
      {
        code: 'TEE_IOCTL_FAILED',
        message: /errno 25/,
      },
    );
  });
});
