import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createAmdShapedChain } from '../../../src/tee/index.ts';
import {
  checkCrl,
  type FetchLike,
  type KdsCache,
  kdsVcekUrl,
  parseReport,
  parseSnpPolicy,
  verifySnpReport,
} from '../../../src/verify/sev-snp/index.ts';
import { fileKdsCache } from '../../../src/verify/sev-snp/kds-cache.ts';
import { read } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-kds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeFetch(
  routes: Record<string, Array<{ status: number; body?: Uint8Array; retryAfter?: string }>>,
) {
  const calls: string[] = [];
  const f: FetchLike = async (url) => {
    calls.push(url);
    const q = routes[url];
    const r = q?.shift() ?? { status: 404 };
    return {
      status: r.status,
      headers: { get: (n: string) => (n.toLowerCase() === 'retry-after' ? (r.retryAfter ?? null) : null) },
      arrayBuffer: async () => (r.body ?? new Uint8Array(0)).slice().buffer as ArrayBuffer,
    };
  };
  return { f, calls };
}

describe('AMD KDS', () => {
  const report = read('milan-v5-gcp-report.bin');
  const r = parseReport(report);
  const url = kdsVcekUrl('Milan', r.chipId, { blSPL: 4, teeSPL: 0, snpSPL: 27, ucodeSPL: 222 });

  it('builds the VCEK URLs (Milan/Genoa: 64-byte hwid; Turin: 8-byte hwid + fmcSPL)', () => {
    assert.equal(
      url,
      `https://kdsintf.amd.com/vcek/v1/Milan/${Buffer.from(r.chipId).toString('hex')}?blSPL=4&teeSPL=0&snpSPL=27&ucodeSPL=222`,
    );
    assert.equal(
      kdsVcekUrl('Turin', r.chipId, { fmcSPL: 1, blSPL: 2, teeSPL: 3, snpSPL: 4, ucodeSPL: 5 }),
      `https://kdsintf.amd.com/vcek/v1/Turin/${Buffer.from(r.chipId.subarray(0, 8)).toString('hex')}?fmcSPL=1&blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=5`,
    );
  });

  it('fetches the VCEK when the evidence has none, backs off on 429, caches, and works offline from the cache', async () => {
    const pem = (await import('node:fs')).readFileSync(
      new URL('../../data/sev-snp/milan-v5-gcp-vcek.pem', import.meta.url),
      'utf8',
    );
    const der = new Uint8Array(new x509.X509Certificate(pem).rawData);
    const { f, calls } = fakeFetch({
      [url]: [
        { status: 429, retryAfter: '1' },
        { status: 200, body: der },
      ],
    });
    const sleeps: number[] = [];
    const kds = {
      fetch: f,
      cache: fileKdsCache(join(dir, 'cache')),
      sleep: async (ms: number) => void sleeps.push(ms),
    };
    const v = await verifySnpReport(report, { now: new Date('2026-06-01T00:00:00Z'), kds });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
    assert.deepEqual(calls, [url, url]);
    assert.deepEqual(sleeps, [1000]);
    const off = await verifySnpReport(report, {
      now: new Date('2026-06-01T00:00:00Z'),
      kds: { offline: true, cache: fileKdsCache(join(dir, 'cache')) },
    });
    assert.equal(off.ok, true);
    const miss = await verifySnpReport(report, {
      now: new Date('2026-06-01T00:00:00Z'),
      kds: { offline: true, cache: fileKdsCache(join(dir, 'empty')) },
    });
    assert.equal(miss.ok, false);
    assert.match(miss.checks.find((c) => c.id === 'snp.vek.present')!.detail, /offline/);
  });

  it('any KdsCache works (in memory, as a browser would pass): filled online, read offline, no cache = offline miss', async () => {
    const pem = (await import('node:fs')).readFileSync(
      new URL('../../data/sev-snp/milan-v5-gcp-vcek.pem', import.meta.url),
      'utf8',
    );
    const der = new Uint8Array(new x509.X509Certificate(pem).rawData);
    const { f, calls } = fakeFetch({ [url]: [{ status: 200, body: der }] });
    const store = new Map<string, Uint8Array>();
    const cache: KdsCache = {
      get: async (u) => store.get(u),
      set: async (u, body) => void store.set(u, body),
    };
    const at = new Date('2026-06-01T00:00:00Z');
    const online = await verifySnpReport(report, { now: at, kds: { fetch: f, cache } });
    assert.equal(online.ok, true, JSON.stringify(online.checks.filter((c) => c.outcome === 'fail')));
    assert.deepEqual(calls, [url]);
    assert.deepEqual([...store.keys()], [url]);
    assert.deepEqual(store.get(url), der);
    const offline = await verifySnpReport(report, { now: at, kds: { offline: true, cache, fetch: f } });
    assert.equal(offline.ok, true);
    assert.deepEqual(calls, [url]);
    const noCache = await verifySnpReport(report, { now: at, kds: { offline: true, fetch: f } });
    assert.equal(noCache.ok, false);
    assert.match(noCache.checks.find((c) => c.id === 'snp.vek.present')!.detail, /offline/);
    assert.deepEqual(calls, [url]);
  });

  it('without a VCEK and without KDS, verification fails clearly', async () => {
    const v = await verifySnpReport(report, {});
    assert.equal(v.ok, false);
    assert.equal(v.checks.find((c) => c.id === 'snp.vek.present')!.outcome, 'fail');
  });
});

describe('CRL', () => {
  it('an ARK-signed CRL revoking the ASK fails the chain; one not revoking it passes; a foreign CRL fails', async () => {
    const c = await createAmdShapedChain({ rsaBits: 2048 });
    const crypto = webcrypto as never;
    const mk = async (serials: string[], signer = c.arkKeys.privateKey, issuer = c.ark.subject) =>
      new Uint8Array(
        (
          await x509.X509CrlGenerator.create(
            {
              issuer,
              thisUpdate: new Date(Date.now() - 1000),
              nextUpdate: new Date(Date.now() + 86400_000),
              entries: serials.map((s) => ({ serialNumber: s, revocationDate: new Date(Date.now() - 1000) })),
              signingKey: signer,
              signingAlgorithm: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as never,
            },
            crypto,
          )
        ).rawData,
      );
    const ark = new x509.X509Certificate(c.ark.rawData);
    const ask = new x509.X509Certificate(c.ask.rawData);
    const now = new Date();
    assert.equal((await checkCrl(await mk([ask.serialNumber]), ark, ask, now)).ok, false);
    assert.equal((await checkCrl(await mk(['0badbeef']), ark, ask, now)).ok, true);
    assert.equal((await checkCrl(await mk([], c.askKeys.privateKey), ark, ask, now)).ok, false);
  });
});

describe('SNP policy', () => {
  const report = read('milan-v3-aws-vlek-report.bin');
  const vek = read('milan-aws-vlek.der');
  const now = new Date('2025-06-01T00:00:00Z');
  // The AWS report is VMPL 1: every case but the VMPL one states it (VMPL 0 is required by default).
  const run = async (p: unknown) =>
    verifySnpReport(report, { vek, now, policy: parseSnpPolicy({ vmpl: 1, ...(p as object) }) });
  const failed = (v: Awaited<ReturnType<typeof run>>) =>
    v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);

  it('passes a policy that matches the AWS report', async () => {
    const v = await run({
      measurements: [
        '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
      ],
      vmpl: 1,
      minTcb: { blSPL: 4, snpSPL: 24, ucodeSPL: 217 },
      minLaunchTcb: { ucodeSPL: 219 },
      minVersion: '1.55',
      minBuild: 29,
      requireSigningKey: 'VLEK',
      cspIds: ['CN=cc-us-east-2.amazonaws.com'],
      platformInfo: { smtEnabled: true, tsmeEnabled: true },
      hostData: '00'.repeat(32),
      reportIdMa: 'ff'.repeat(32),
    });
    assert.deepEqual(failed(v), []);
  });

  it('each violated rule fails with its own id', async () => {
    const cases: Array<[unknown, string]> = [
      [{ measurements: ['00'.repeat(48)] }, 'snp.policy.measurement'],
      [{ vmpl: 0 }, 'snp.policy.vmpl'],
      [{ minTcb: { ucodeSPL: 218 } }, 'snp.policy.min-tcb.reported'],
      [{ minLaunchTcb: { snpSPL: 25 } }, 'snp.policy.min-launch-tcb'],
      [{ minVersion: '1.56' }, 'snp.policy.min-version'],
      [{ minBuild: 30 }, 'snp.policy.min-build'],
      [{ minGuestSvn: 1 }, 'snp.policy.guest-svn'],
      [{ requireSigningKey: 'VCEK' }, 'snp.policy.signing-key'],
      [{ permitProvisionalFirmware: false }, 'snp.policy.provisional-firmware'],
      [{ platformInfo: { tsmeEnabled: false } }, 'snp.policy.platform-info.tsmeEnabled'],
      [{ allowSmt: false }, 'snp.policy.smt'],
      [{ requireSingleSocket: true }, 'snp.policy.single-socket'],
      [{ minAbiMajor: 1 }, 'snp.policy.abi'],
      [{ chipIds: ['11'.repeat(64)] }, 'snp.policy.chip-id'],
      [{ hostData: '11'.repeat(32) }, 'snp.policy.host-data'],
      [{ familyId: '11'.repeat(16) }, 'snp.policy.family-id'],
      [{ imageId: '11'.repeat(16) }, 'snp.policy.image-id'],
      [{ reportId: '11'.repeat(32) }, 'snp.policy.report-id'],
      [{ trustedIdKeyDigests: ['11'.repeat(48)] }, 'snp.policy.id-key'],
      [{ requireAuthorKey: true }, 'snp.policy.author-key'],
      [{ cspIds: ['CN=other'] }, 'snp.policy.csp-id'],
      [{ guestPolicyBits: { memAes256Xts: true } }, 'snp.policy.bits.memAes256Xts'],
    ];
    for (const [p, id] of cases) assert.deepEqual(failed(await run(p)), [id], JSON.stringify(p));
  });

  it('rejects unknown or malformed policy keys', () => {
    assert.throws(() => parseSnpPolicy({ alowDebug: true }), { code: 'INVALID_POLICY' });
    assert.throws(() => parseSnpPolicy({ measurements: ['abc'] }), { code: 'INVALID_POLICY' });
    assert.throws(() => parseSnpPolicy({ minTcb: { foo: 1 } }), { code: 'INVALID_POLICY' });
    assert.throws(() => parseSnpPolicy({ vmpl: -1 }), { code: 'INVALID_POLICY' });
  });
});
