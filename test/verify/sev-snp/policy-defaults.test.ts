/**
 * Issue 13 item 6, SEV-SNP policy defaults, each with its override: VMPL 0 required (`vmpl`), --min-tcb per
 * component, a stale CRL rejected (`allowStaleCrl`), the AMD chain's signature algorithm pinned, unknown
 * critical extensions rejected (issue 14), a simulated root trusted only by fingerprint and named when
 * accepted. Real vectors from test/data/sev-snp; simulated chains for what needs an ARK private key.
 */
import 'reflect-metadata';
import * as assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { main } from '../../../src/cli/verify.ts';
import { SimulatedSevSnpProvider } from '../../../src/tee/index.ts';
import {
  checkSnpPolicy,
  decodeTcb,
  parseReport,
  parseSnpPolicy,
  verifySnpReport,
} from '../../../src/verify/sev-snp/index.ts';
import { fileKdsCache } from '../../../src/verify/sev-snp/kds-cache.ts';
import { amdSignatureAlgorithmProblem } from '../../../src/verify/sev-snp/sigalg.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { DATA, read, readText } from './helpers.ts';

x509.cryptoProvider.set(webcrypto as never);
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-snp-defaults-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const failed = (v: Verdict) => v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
const check = (v: Verdict, id: string) => v.checks.find((c) => c.id === id);
const GCP_NOW = new Date('2026-06-01T00:00:00Z');
const d = (f: string) => fileURLToPath(new URL(f, DATA));

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(args, { out: (s) => (out += `${s}\n`), err: (s) => (out += `${s}\n`) });
  return { code, out };
}

describe('sev-snp: VMPL 0 by default', () => {
  it('the real GCP VMPL 1 report is rejected by default (only snp.policy.vmpl), accepted with vmpl 1', async () => {
    const vek = readText('milan-v5-gcp-vcek.pem');
    const v = await verifySnpReport(read('milan-v5-gcp-vmpl1-report.bin'), { vek, now: GCP_NOW });
    assert.deepEqual(failed(v), ['snp.policy.vmpl']);
    assert.match(check(v, 'snp.policy.vmpl')!.detail, /VMPL 1, required 0 \(default/);
    const ok = await verifySnpReport(read('milan-v5-gcp-vmpl1-report.bin'), {
      vek,
      now: GCP_NOW,
      policy: { vmpl: 1 },
    });
    assert.equal(ok.ok, true);
    const v0 = await verifySnpReport(read('milan-v5-gcp-report.bin'), { vek, now: GCP_NOW });
    assert.equal(v0.ok, true);
    assert.equal(check(v0, 'snp.policy.vmpl')!.outcome, 'pass');
  });

  it('through the CLI: exit 1 by default, 0 with --vmpl 1', async () => {
    const args = [
      '--no-nonce',
      '--snp-report',
      d('milan-v5-gcp-vmpl1-report.bin'),
      '--vcek',
      d('milan-v5-gcp-vcek.pem'),
      '--now',
      GCP_NOW.toISOString(),
    ];
    assert.equal((await cli(args)).code, 1);
    assert.equal((await cli([...args, '--vmpl', '1'])).code, 0);
  });
});

describe('sev-snp: --min-tcb per component', () => {
  const report = read('genoa-v5-report.bin');
  const vek = read('genoa-v5-vcek.der');
  const reported = decodeTcb(parseReport(report).reportedTcb, 'Genoa');
  for (const [flag, key] of [
    ['bootloader', 'blSPL'],
    ['tee', 'teeSPL'],
    ['snp', 'snpSPL'],
    ['microcode', 'ucodeSPL'],
  ] as const) {
    it(`${flag}: the reported value passes, one more fails (library and CLI)`, async () => {
      const at = reported[key];
      const okV = await verifySnpReport(report, {
        vek,
        now: GCP_NOW,
        policy: parseSnpPolicy({ minTcb: { [key]: at } }),
      });
      assert.deepEqual(failed(okV), []);
      const bad = await verifySnpReport(report, {
        vek,
        now: GCP_NOW,
        policy: parseSnpPolicy({ minTcb: { [key]: at + 1 } }),
      });
      assert.ok(failed(bad).includes('snp.policy.min-tcb.reported'), JSON.stringify(failed(bad)));
      const args = [
        '--no-nonce',
        '--snp-report',
        d('genoa-v5-report.bin'),
        '--vcek',
        d('genoa-v5-vcek.der'),
        '--now',
        GCP_NOW.toISOString(),
      ];
      assert.equal((await cli([...args, '--min-tcb', `${flag}=${at}`])).code, 0);
      assert.equal((await cli([...args, '--min-tcb', `${flag}=${at + 1}`])).code, 1);
    });
  }
  it('fmc (Turin layout): applies to a Turin report; a non-Turin report cannot meet an fmc minimum', () => {
    const r = parseReport(report);
    const turin = decodeTcb(r.reportedTcb, 'Turin');
    const ok = checkSnpPolicy(r, { vmpl: r.vmpl, minTcb: { fmcSPL: turin.fmcSPL ?? 0 } }, 'Turin');
    assert.ok(ok.filter((c) => c.id.startsWith('snp.policy.min-tcb')).every((c) => c.outcome === 'pass'));
    const bad = checkSnpPolicy(r, { vmpl: r.vmpl, minTcb: { fmcSPL: (turin.fmcSPL ?? 0) + 1 } }, 'Turin');
    assert.ok(bad.some((c) => c.id === 'snp.policy.min-tcb.reported' && c.outcome === 'fail'));
    const genoa = checkSnpPolicy(r, { vmpl: r.vmpl, minTcb: { fmcSPL: 1 } }, 'Genoa');
    assert.ok(genoa.some((c) => c.id === 'snp.policy.min-tcb.reported' && c.outcome === 'fail'));
  });
  it('a bad component is a usage error (exit 2)', async () => {
    assert.equal(
      (await cli(['--no-nonce', '--snp-report', d('genoa-v5-report.bin'), '--min-tcb', 'firmware=3'])).code,
      2,
    );
  });
});

describe('sev-snp: the AMD chain signature algorithm is pinned', () => {
  it('every real AMD certificate (ARKs, ASKs, ASVKs, VCEKs, VLEK) is RSASSA-PSS SHA-384 salt 48', () => {
    const ders: Uint8Array[] = [
      read('genoa-v5-vcek.der'),
      read('milan-aws-vlek.der'),
      read('turin-vcek.der'),
      read('milan-v2-gosevguest-vcek.der'),
    ];
    for (const f of ['milan-vcek-ask-ark.pem', 'genoa-vlek-asvk-ark.pem', 'turin-vcek-ask-ark.pem'])
      for (const p of readText(`amd-roots/${f}`).match(
        /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
      )!)
        ders.push(new Uint8Array(new x509.X509Certificate(p).rawData));
    for (const [i, der] of ders.entries())
      assert.equal(amdSignatureAlgorithmProblem(der, `real-${i}`), undefined, `cert ${i}`);
  });
});

describe('sev-snp: simulated chains (CRL, signature algorithm, critical extensions, root pinning)', () => {
  let sim: SimulatedSevSnpProvider;
  let other: SimulatedSevSnpProvider;
  let ev: Awaited<ReturnType<SimulatedSevSnpProvider['getEvidence']>>;
  let rootPem: string;
  let askKeyDer: Uint8Array;
  const rd = new Uint8Array(64).fill(7);
  before(async () => {
    sim = new SimulatedSevSnpProvider({
      stateDir: join(tmp, 'a'),
      rsaBits: 2048,
      warn: false,
      measurement: new Uint8Array(48),
    });
    other = new SimulatedSevSnpProvider({
      stateDir: join(tmp, 'b'),
      rsaBits: 2048,
      warn: false,
      measurement: new Uint8Array(48),
    });
    ev = await sim.getEvidence(rd);
    rootPem = await sim.rootPem();
    await other.rootPem();
    askKeyDer = pemDer(readFileSync(join(sim.stateDir, 'ask.key'), 'utf8'));
  });
  const pemDer = (pem: string) =>
    new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  const base = () => ({ certs: ev.certs!, trustSimulatedRoots: [rootPem], expectedReportData: rd });

  /** The simulated VCEK, re-signed by the simulated ASK with `alg`, optionally with an extra critical extension. */
  async function resignVcek(
    alg: Record<string, unknown>,
    importAlg: Record<string, unknown> & { name: string },
    extra?: x509.Extension,
  ) {
    const vcek = new x509.X509Certificate(ev.certs!.vcek!);
    const key = await webcrypto.subtle.importKey('pkcs8', askKeyDer, importAlg, false, ['sign']);
    const c = await x509.X509CertificateGenerator.create({
      serialNumber: vcek.serialNumber,
      subject: vcek.subject,
      issuer: vcek.issuer,
      notBefore: vcek.notBefore,
      notAfter: vcek.notAfter,
      publicKey: vcek.publicKey,
      signingKey: key,
      signingAlgorithm: alg,
      extensions: [...vcek.extensions, ...(extra ? [extra] : [])],
    });
    return new Uint8Array(c.rawData);
  }

  it('the untouched simulated evidence verifies with its trusted root, which the verdict names by fingerprint', async () => {
    const v = await verifySnpReport(ev.report, base());
    assert.deepEqual(failed(v), []);
    const root = v.fields!.root as { sha256: string; subjectFull: string; trustedBy: string };
    const fp = (await import('node:crypto')).createHash('sha256').update(pemDer(rootPem)).digest('hex');
    assert.equal(root.sha256, fp);
    assert.equal(root.trustedBy, 'trust-simulated-root');
    assert.match(root.subjectFull, /SIMULATED/);
    assert.match(check(v, 'snp.simulated')!.detail, new RegExp(fp));
  });

  it('a root with the same names but another key (another simulated chain) is not trusted: pinned by fingerprint', async () => {
    const v = await verifySnpReport(ev.report, { ...base(), trustSimulatedRoots: [await other.rootPem()] });
    assert.equal(v.ok, false);
    assert.ok(failed(v).includes('snp.chain.vek'));
  });

  it('--allow-simulated names the root it accepted (verdict and CLI output)', async () => {
    const v = await verifySnpReport(ev.report, { certs: ev.certs!, allowSimulated: true });
    assert.equal(v.ok, true, JSON.stringify(failed(v)));
    assert.equal((v.fields!.root as { trustedBy: string }).trustedBy, 'allow-simulated');
    const { writeFileSync } = await import('node:fs');
    const rep = join(tmp, 'sim-report.bin');
    const vc = join(tmp, 'sim-vcek.der');
    writeFileSync(rep, ev.report);
    writeFileSync(vc, ev.certs!.vcek!);
    const { buildCertTable, CERT_GUIDS } = await import('../../../src/formats/index.ts');
    const certs = join(tmp, 'sim-certs.bin');
    writeFileSync(
      certs,
      buildCertTable([
        { guid: CERT_GUIDS.vcek, data: ev.certs!.vcek! },
        { guid: CERT_GUIDS.ask, data: ev.certs!.ask! },
        { guid: CERT_GUIDS.ark, data: ev.certs!.ark! },
      ]),
    );
    const r = await cli(['--no-nonce', '--snp-report', rep, '--certs', certs, '--allow-simulated']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /accepted root \(sev-snp\): .*SIMULATED.* sha256 [0-9a-f]{64} \(allow-simulated\)/);
    assert.match(r.out, /network \(sev-snp\): no network used/);
  });

  it('a VCEK signed with PKCS#1 v1.5 or PSS salt 32 by the trusted ASK: only snp.chain.signature-algorithm fails', async () => {
    for (const [alg, imp] of [
      [{ name: 'RSASSA-PKCS1-v1_5' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }],
      [
        { name: 'RSA-PSS', saltLength: 32 },
        { name: 'RSA-PSS', hash: 'SHA-384' },
      ],
      [
        { name: 'RSA-PSS', saltLength: 32 },
        { name: 'RSA-PSS', hash: 'SHA-256' },
      ],
    ] as const) {
      const vcek = await resignVcek(alg as never, imp as never);
      const v = await verifySnpReport(ev.report, { ...base(), vek: vcek });
      assert.deepEqual(failed(v), ['snp.chain.signature-algorithm'], JSON.stringify([alg, imp, failed(v)]));
    }
  });

  it('a VCEK with an unknown critical extension: only snp.chain.critical-extensions fails; non-critical is fine', async () => {
    const pss = { name: 'RSA-PSS', saltLength: 48 } as never;
    const imp = { name: 'RSA-PSS', hash: 'SHA-384' } as never;
    const crit = await resignVcek(
      pss,
      imp,
      new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0])),
    );
    const v = await verifySnpReport(ev.report, { ...base(), vek: crit });
    assert.deepEqual(failed(v), ['snp.chain.critical-extensions']);
    assert.match(check(v, 'snp.chain.critical-extensions')!.detail, /1\.3\.6\.1\.4\.1\.99999\.1/);
    const nonCrit = await resignVcek(
      pss,
      imp,
      new x509.Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array([5, 0])),
    );
    assert.deepEqual(failed(await verifySnpReport(ev.report, { ...base(), vek: nonCrit })), []);
  });

  it('a CRL past nextUpdate is rejected unless allowStaleCrl; a fresh one passes', async () => {
    const arkKey = await webcrypto.subtle.importKey(
      'pkcs8',
      pemDer(readFileSync(join(sim.stateDir, 'ark.key'), 'utf8')),
      { name: 'RSA-PSS', hash: 'SHA-384' },
      false,
      ['sign'],
    );
    const ark = new x509.X509Certificate(ev.certs!.ark!);
    const crl = async (thisUpdate: Date, nextUpdate: Date) =>
      new Uint8Array(
        (
          await x509.X509CrlGenerator.create({
            issuer: ark.subject,
            thisUpdate,
            nextUpdate,
            entries: [],
            signingKey: arkKey,
            signingAlgorithm: { name: 'RSA-PSS', saltLength: 48 } as never,
          })
        ).rawData,
      );
    const now = new Date();
    const stale = await crl(new Date(now.getTime() - 10 * 86400_000), new Date(now.getTime() - 86400_000));
    const v = await verifySnpReport(ev.report, { ...base(), crl: stale });
    assert.deepEqual(failed(v), ['snp.chain.crl']);
    assert.match(check(v, 'snp.chain.crl')!.detail, /stale/);
    const allowed = await verifySnpReport(ev.report, { ...base(), crl: stale, allowStaleCrl: true });
    assert.deepEqual(failed(allowed), []);
    assert.match(check(allowed, 'snp.chain.crl')!.detail, /ALLOWED/);
    const fresh = await crl(new Date(now.getTime() - 86400_000), new Date(now.getTime() + 86400_000));
    assert.deepEqual(failed(await verifySnpReport(ev.report, { ...base(), crl: fresh })), []);
  });

  it('--crl fetch without --online never touches the network (cache only) and says so', async () => {
    let fetched = 0;
    const v = await verifySnpReport(ev.report, {
      ...base(),
      crl: 'fetch',
      kds: {
        offline: true,
        cache: fileKdsCache(join(tmp, 'kds-empty')),
        fetch: async () => {
          fetched++;
          throw new Error('no network');
        },
      },
    });
    assert.equal(fetched, 0);
    assert.match(check(v, 'snp.chain.crl')!.detail, /offline/);
    assert.equal((v.fields!.network as { used: boolean }).used, false);
  });
});
