/**
 * AMD and Intel collateral in offline bundles.
 *
 * Online path: `collateral fetch` against a loopback stub of AMD KDS and Intel PCS that replays REAL
 * vendor bytes from the test vectors (test/data/sev-snp, test/data/tdx; /work/shared/testvectors
 * README): the Milan VCEK and the KDS cert_chain body (ASK + ARK-Milan), Intel's 2026-03 TDX TCB Info,
 * TD QE identity, PCK Platform CA CRL and root CA CRL. The HTTP envelope is the stub's: the PCS issuer
 * chain headers carry the vectors' TCB signing chain and, for the PCK CRL, the Platform CA + root from
 * the quote's own certification data. No real AMD CRL is in the vectors: the stub answers 404 for it,
 * which is the "bundle missing an item" case end to end; a CRL signed by a non-AMD key is the broken
 * signature case; the CRL signature path that passes is shown with an AMD-shaped simulated chain.
 *
 * Offline path: `verify --collateral BUNDLE` with no network (a fetch that throws is never reached:
 * verify has no fetch for SNP/TDX bundles at all).
 */
import 'reflect-metadata';
import * as assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { main as collateralMain } from '../../../src/cli/collateral.ts';
import { main as verifyMain } from '../../../src/cli/verify.ts';
import { main as verifyTdxMain } from '../../../src/cli/verify-tdx.ts';
import { createAmdShapedChain } from '../../../src/tee/index.ts';
import type { CollateralBundle, CollateralItem, Verdict } from '../../../src/verify/index.ts';
import {
  checkAmdCrlSignature,
  snpCollateralFromBundle,
} from '../../../src/verify/reference/collateral-vendors.ts';
import { kdsBodyExpiry, kdsGet } from '../../../src/verify/sev-snp/kds.ts';
import { fileKdsCache, pruneKdsCache } from '../../../src/verify/sev-snp/kds-cache.ts';
import { parseTdxQuote } from '../../../src/verify/tdx/layout.ts';
import { Certificate } from '../../../src/verify/x509.ts';

const DATA = new URL('../../data/', import.meta.url);
const bytes = (f: string) => readFileSync(new URL(f, DATA));
const text = (f: string) => readFileSync(new URL(f, DATA), 'utf8');

const SNP_REPORT = 'sev-snp/milan-v2-gosevguest-report.bin';
const TDX_QUOTE = 'tdx/quote-v4-gotdxguest-spr.dat';
const SNP_AT = '2025-06-01T00:00:00Z';
const TDX_AT = '2026-03-20T00:00:00Z';

const quotePem = Buffer.from(parseTdxQuote(new Uint8Array(bytes(TDX_QUOTE))).qeCert!.inner.data).toString(
  'latin1',
);
const pemBlocks = (s: string) => s.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)!;
/** PCK Platform CA + root, as PCS sends them in SGX-PCK-CRL-Issuer-Chain. */
const PCK_CRL_CHAIN = pemBlocks(quotePem).slice(1).join('');

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      out: (s: string) => {
        out += `${s}\n`;
      },
      err: (s: string) => {
        err += `${s}\n`;
      },
    },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

async function verifyJson(args: string[]): Promise<{ code: number; v: Verdict; err: string }> {
  const c = capture();
  const code = await verifyMain([...args, '--json'], c.io);
  return { code, v: JSON.parse(c.out) as Verdict, err: c.err };
}

async function verifyTdxJson(args: string[]): Promise<{ code: number; v: Verdict }> {
  const c = capture();
  const code = await verifyTdxMain([...args, '--json'], c.io);
  return { code, v: JSON.parse(c.out) as Verdict };
}

const check = (v: Verdict, id: string) => v.checks.find((c) => c.id === id);

describe('AMD and Intel collateral bundles', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-collateral-v-'));
  const bundlePath = join(tmp, 'bundle.json');
  let bundle: CollateralBundle;

  before(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      requests.push(url);
      const send = (body: Buffer | string, headers: Record<string, string> = {}) => {
        res.writeHead(200, headers);
        res.end(body);
      };
      if (/^\/kds\/vcek\/v1\/Milan\/[0-9a-f]{128}\?blSPL=\d+&teeSPL=\d+&snpSPL=\d+&ucodeSPL=\d+$/.test(url))
        return send(bytes('sev-snp/milan-v2-gosevguest-vcek.der'));
      if (url === '/kds/vcek/v1/Milan/cert_chain')
        return send(text('sev-snp/amd-roots/milan-vcek-ask-ark.pem'));
      if (url === '/pcs/tdx/certification/v4/tcb?fmspc=50806f000000')
        return send(text('tdx/collateral-2026-03/tcb-info-50806f000000.json'), {
          'TCB-Info-Issuer-Chain': encodeURIComponent(text('tdx/collateral-2026-03/tcb-signing-chain.pem')),
        });
      if (url === '/pcs/tdx/certification/v4/qe/identity')
        return send(text('tdx/collateral-2026-03/td-qe-identity.json'), {
          'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(
            text('tdx/collateral-2026-03/tcb-signing-chain.pem'),
          ),
        });
      if (url === '/pcs/sgx/certification/v4/pckcrl?ca=platform&encoding=der')
        return send(bytes('tdx/collateral-2026-03/pck-crl-platform.der'), {
          'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(PCK_CRL_CHAIN),
        });
      if (url === '/pcs/sgx/certification/v4/rootcacrl')
        return send(bytes('tdx/collateral-2026-03/root-ca-crl.der'));
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const fetchArgs = (now: string) => ['--kds', `${base}/kds`, '--pcs', `${base}/pcs`, '--now', now];

  it('fetch gathers the VCEK, cert_chain, TCB Info, QE identity and CRLs; a missing CRL is reported', async () => {
    // one bundle for both: each item is checked at its own evidence's time, so fetch them apart and join
    const c1 = capture();
    const snpOut = join(tmp, 'snp.json');
    const code1 = await collateralMain(
      [
        'fetch',
        '--for',
        new URL(SNP_REPORT, DATA).pathname,
        '--out',
        snpOut,
        '--no-cache',
        ...fetchArgs(SNP_AT),
      ],
      c1.io,
    );
    assert.equal(code1, 1, c1.err); // the AMD CRL is not served by the stub
    assert.match(
      c1.err,
      /COLLATERAL_FETCH_FAILED: GET http:\/\/127\.0\.0\.1:\d+\/kds\/vcek\/v1\/Milan\/crl: HTTP 404/,
    );
    const c2 = capture();
    const tdxOut = join(tmp, 'tdx.json');
    const code2 = await collateralMain(
      [
        'fetch',
        '--for',
        new URL(TDX_QUOTE, DATA).pathname,
        '--out',
        tdxOut,
        '--no-cache',
        ...fetchArgs(TDX_AT),
      ],
      c2.io,
    );
    assert.equal(code2, 0, c2.err);
    const a = JSON.parse(readFileSync(snpOut, 'utf8')) as CollateralBundle;
    const b = JSON.parse(readFileSync(tdxOut, 'utf8')) as CollateralBundle;
    assert.deepEqual(
      a.items.map((i) => i.kind),
      ['amd-vek', 'amd-cert-chain'],
    );
    assert.deepEqual(
      b.items.map((i) => `${i.kind}:${i.id}`),
      [
        'intel-tcb-info:50806f000000',
        'intel-qe-identity:TD_QE',
        'intel-pck-crl:platform',
        'intel-root-ca-crl:root',
      ],
    );
    // validity is read from the signed content
    const tcb = b.items[0]!;
    assert.equal(tcb.notBefore, '2026-03-16T22:21:30.000Z');
    assert.equal(tcb.notAfter, '2026-04-15T22:21:30.000Z');
    assert.equal(a.items[0]!.encoding, 'base64');
    assert.deepEqual(
      Buffer.from(a.items[0]!.body, 'base64'),
      bytes('sev-snp/milan-v2-gosevguest-vcek.der'),
      'the VCEK is carried byte for byte',
    );
    assert.ok(requests.every((u) => u.startsWith('/kds/') || u.startsWith('/pcs/')));
    bundle = { ...a, items: [...a.items, ...b.items] };
    writeFileSync(bundlePath, JSON.stringify(bundle));
  });

  it('verify --snp-report --collateral: the VCEK from the bundle; the missing CRL is "not checked" and fails', async () => {
    const n = requests.length;
    const args = [
      '--snp-report',
      new URL(SNP_REPORT, DATA).pathname,
      '--no-nonce',
      '--collateral',
      bundlePath,
    ];
    const r = await verifyJson([...args, '--at', SNP_AT]);
    assert.equal(requests.length, n, 'no network');
    assert.equal(r.code, 1);
    assert.equal(check(r.v, 'collateral.amd.vek')?.outcome, 'pass');
    assert.equal(check(r.v, 'snp.report.signature')?.outcome, 'pass');
    const crl = check(r.v, 'collateral.amd.crl')!;
    assert.equal(crl.outcome, 'skip');
    assert.match(
      crl.detail,
      /^COLLATERAL_MISSING_ITEM: not checked: the bundle has no amd-crl 'vcek\/v1\/Milan\/crl'/,
    );
    assert.deepEqual((r.v.fields?.collateral as { errorCodes: string[] }).errorCodes, [
      'COLLATERAL_MISSING_ITEM',
    ]);
    // allowed by name: the verdict passes, the check still says "not checked"
    // (this go-sev-guest test report has POLICY.DEBUG = 1)
    const ok = await verifyJson([
      ...args,
      '--at',
      SNP_AT,
      '--allow-not-checked',
      'collateral.amd.crl',
      '--allow-debug',
    ]);
    assert.equal(ok.code, 0, JSON.stringify(ok.v.checks.filter((c) => c.outcome !== 'pass')));
    assert.equal(check(ok.v, 'collateral.amd.crl')?.outcome, 'skip');
    // without the bundle the same report has no VCEK at all
    const none = await verifyJson([
      '--snp-report',
      new URL(SNP_REPORT, DATA).pathname,
      '--no-nonce',
      '--at',
      SNP_AT,
    ]);
    assert.equal(check(none.v, 'snp.vek.present')?.outcome, 'fail');
  });

  it('an item past its validity is COLLATERAL_EXPIRED (VCEK after 2029-09-24, TCB Info after its nextUpdate)', async () => {
    const r = await verifyJson([
      '--snp-report',
      new URL(SNP_REPORT, DATA).pathname,
      '--no-nonce',
      '--collateral',
      bundlePath,
      '--at',
      '2030-01-01T00:00:00Z',
      '--allow-not-checked',
      'collateral.amd.crl',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      check(r.v, 'collateral.amd.vek')!.detail,
      /^COLLATERAL_EXPIRED: amd-vek '.*' is valid 2022-09-24T.* \.\. 2029-09-24T/,
    );
    assert.equal(check(r.v, 'collateral.amd.vek')!.outcome, 'fail');
    const t = await verifyTdxJson([
      '--tdx-quote',
      new URL(TDX_QUOTE, DATA).pathname,
      '--no-nonce',
      '--collateral',
      bundlePath,
      '--at',
      '2026-05-01T00:00:00Z',
    ]);
    assert.equal(t.code, 1);
    assert.match(check(t.v, 'collateral.intel.tcb-info')!.detail, /^COLLATERAL_EXPIRED: /);
    assert.match(check(t.v, 'collateral.intel.pck-crl')!.detail, /^COLLATERAL_EXPIRED: /);
    // the root CA CRL (nextUpdate 2027-02-26) is still valid
    assert.equal(check(t.v, 'collateral.intel.root-ca-crl')!.outcome, 'pass');
  });

  it('verify --tdx-quote --collateral BUNDLE gives the same TDX checks as the directory collateral', async () => {
    const q = new URL(TDX_QUOTE, DATA).pathname;
    const fromBundle = await verifyTdxJson([
      '--tdx-quote',
      q,
      '--no-nonce',
      '--collateral',
      bundlePath,
      '--at',
      TDX_AT,
    ]);
    const fromDir = await verifyTdxJson([
      '--tdx-quote',
      q,
      '--no-nonce',
      '--collateral',
      new URL('tdx/collateral-2026-03', DATA).pathname,
      '--at',
      TDX_AT,
    ]);
    for (const id of [
      'collateral.intel.tcb-info',
      'collateral.intel.qe-identity',
      'collateral.intel.pck-crl',
      'collateral.intel.root-ca-crl',
    ])
      assert.equal(check(fromBundle.v, id)?.outcome, 'pass', id);
    const tdxChecks = (v: Verdict) =>
      v.checks.filter((c) => c.id.startsWith('tdx.')).map((c) => `${c.id}:${c.outcome}`);
    assert.deepEqual(tdxChecks(fromBundle.v), tdxChecks(fromDir.v));
    for (const id of [
      'tdx.collateral.tcb-info.signature',
      'tdx.collateral.qe-identity.signature',
      'tdx.crl.pck',
      'tdx.crl.root',
    ])
      assert.ok(tdxChecks(fromBundle.v).includes(`${id}:pass`), id);
    assert.equal(fromBundle.code, fromDir.code);
  });

  it('a bundle missing an item: COLLATERAL_MISSING_ITEM, not checked, fails by default', async () => {
    const p = join(tmp, 'no-qe.json');
    writeFileSync(
      p,
      JSON.stringify({ ...bundle, items: bundle.items.filter((i) => i.kind !== 'intel-qe-identity') }),
    );
    const t = await verifyTdxJson([
      '--tdx-quote',
      new URL(TDX_QUOTE, DATA).pathname,
      '--no-nonce',
      '--collateral',
      p,
      '--at',
      TDX_AT,
    ]);
    assert.equal(t.code, 1);
    const c = check(t.v, 'collateral.intel.qe-identity')!;
    assert.equal(c.outcome, 'skip');
    assert.match(
      c.detail,
      /^COLLATERAL_MISSING_ITEM: not checked: the bundle has no intel-qe-identity 'TD_QE'/,
    );
    assert.deepEqual((t.v.fields?.collateral as { notChecked: string[] }).notChecked, [
      'collateral.intel.qe-identity',
    ]);
  });

  it('an item with a broken signature: COLLATERAL_SIGNATURE_INVALID (TCB Info, VCEK, a foreign AMD CRL)', async () => {
    const tamper = (f: (i: CollateralItem) => CollateralItem) => {
      const p = join(tmp, `t-${Math.random().toString(16).slice(2)}.json`);
      writeFileSync(p, JSON.stringify({ ...bundle, items: bundle.items.map(f) }));
      return p;
    };
    // TCB Info: one SVN changed inside the signed JSON
    const p1 = tamper((i) =>
      i.kind === 'intel-tcb-info' ? { ...i, body: i.body.replace('"pcesvn":', '"pcesvn": ') } : i,
    );
    const t = await verifyTdxJson([
      '--tdx-quote',
      new URL(TDX_QUOTE, DATA).pathname,
      '--no-nonce',
      '--collateral',
      p1,
      '--at',
      TDX_AT,
    ]);
    assert.equal(t.code, 1);
    assert.match(
      check(t.v, 'collateral.intel.tcb-info')!.detail,
      /^COLLATERAL_SIGNATURE_INVALID: .*does not verify over the raw JSON/,
    );
    // VCEK: the last byte of its signature flipped
    const p2 = tamper((i) => {
      if (i.kind !== 'amd-vek') return i;
      const b = Buffer.from(i.body, 'base64');
      b[b.length - 1]! ^= 1;
      return { ...i, body: b.toString('base64') };
    });
    const s = await verifyJson([
      '--snp-report',
      new URL(SNP_REPORT, DATA).pathname,
      '--no-nonce',
      '--collateral',
      p2,
      '--at',
      SNP_AT,
      '--allow-not-checked',
      'collateral.amd.crl',
    ]);
    assert.equal(s.code, 1);
    assert.match(
      check(s.v, 'collateral.amd.vek')!.detail,
      /^COLLATERAL_SIGNATURE_INVALID: .*not signed by a pinned AMD ASK/,
    );
    // an AMD CRL named as ARK-Milan's but signed by another key
    const keys = (await webcrypto.subtle.generateKey(
      { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
      true,
      ['sign', 'verify'],
    )) as webcrypto.CryptoKeyPair;
    const ark = pemBlocks(text('sev-snp/amd-roots/milan-vcek-ask-ark.pem'))[1]!;
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: new x509.X509Certificate(ark).subject,
        thisUpdate: new Date('2025-01-01T00:00:00Z'),
        nextUpdate: new Date('2026-01-01T00:00:00Z'),
        entries: [],
        signingKey: keys.privateKey,
        signingAlgorithm: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as never,
      },
      webcrypto as never,
    );
    const p3 = join(tmp, 'forged-crl.json');
    writeFileSync(
      p3,
      JSON.stringify({
        ...bundle,
        items: [
          ...bundle.items,
          {
            kind: 'amd-crl',
            id: 'vcek/v1/Milan/crl',
            source: 'forged',
            fetchedAt: '2025-01-02T00:00:00.000Z',
            notBefore: '2025-01-01T00:00:00.000Z',
            notAfter: '2026-01-01T00:00:00.000Z',
            body: Buffer.from(crl.rawData).toString('base64'),
            encoding: 'base64',
          },
        ],
      }),
    );
    const f = await verifyJson([
      '--snp-report',
      new URL(SNP_REPORT, DATA).pathname,
      '--no-nonce',
      '--collateral',
      p3,
      '--at',
      SNP_AT,
    ]);
    assert.equal(f.code, 1);
    assert.match(
      check(f.v, 'collateral.amd.crl')!.detail,
      /^COLLATERAL_SIGNATURE_INVALID: amd-crl 'vcek\/v1\/Milan\/crl': not signed by the Milan ARK/,
    );
    // three failures, three distinct codes
    const codes = new Set(
      [t.v, s.v, f.v].map((v) => (v.fields?.collateral as { errorCodes: string[] }).errorCodes.join()),
    );
    assert.deepEqual([...codes], ['COLLATERAL_SIGNATURE_INVALID']);
  });

  it('an ARK-signed CRL passes the bundle check and reaches the verifier (AMD-shaped simulated chain)', async () => {
    const c = await createAmdShapedChain({ rsaBits: 2048 });
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: c.ark.subject,
        thisUpdate: new Date(Date.now() - 1000),
        nextUpdate: new Date(Date.now() + 86400_000),
        entries: [],
        signingKey: c.arkKeys.privateKey,
        signingAlgorithm: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as never,
      },
      webcrypto as never,
    );
    const item: CollateralItem = {
      kind: 'amd-crl',
      id: 'vcek/v1/Milan/crl',
      source: 'test',
      fetchedAt: new Date().toISOString(),
      notBefore: new Date(Date.now() - 1000).toISOString(),
      notAfter: new Date(Date.now() + 86400_000).toISOString(),
      body: Buffer.from(crl.rawData).toString('base64'),
      encoding: 'base64',
    };
    const arkNode = Certificate.parse(new Uint8Array(c.ark.rawData));
    await checkAmdCrlSignature(item, 'Milan', [arkNode]);
    await assert.rejects(checkAmdCrlSignature(item, 'Milan'), { code: 'COLLATERAL_SIGNATURE_INVALID' });
    // from a bundle, with the VCEK the evidence carries
    const r = await snpCollateralFromBundle(
      { format: 'wasmvm-tee/collateral-bundle/v1', createdAt: new Date().toISOString(), items: [item] },
      new Uint8Array(bytes(SNP_REPORT)),
      {
        at: new Date(),
        vek: new Uint8Array(bytes('sev-snp/milan-v2-gosevguest-vcek.der')),
        trustedArks: [arkNode],
      },
    );
    assert.equal(r.checks.find((x) => x.id === 'collateral.amd.crl')?.outcome, 'pass');
    assert.deepEqual(r.crl, new Uint8Array(crl.rawData));
    assert.equal(r.vek, undefined, 'the evidence VCEK is used; none taken from the bundle');
  });

  it("--for our JSON ('attest --json' shape): the evidence's own VCEK is used, the CRL is asked for; verify --evidence uses the bundle", async () => {
    const ev = join(tmp, 'attest.json');
    const report = bytes(SNP_REPORT);
    writeFileSync(
      ev,
      JSON.stringify({
        provider: 'sev-snp',
        reportData: report.subarray(0x50, 0x90).toString('hex'),
        evidence: {
          kind: 'sev-snp',
          simulated: false,
          provider: 'sev-snp',
          report: report.toString('base64'),
          certs: { vcek: bytes('sev-snp/milan-v2-gosevguest-vcek.der').toString('base64') },
        },
      }),
    );
    const n = requests.length;
    const c = capture();
    const code = await collateralMain(
      ['fetch', '--for', ev, '--out', join(tmp, 'from-json.json'), '--no-cache', ...fetchArgs(SNP_AT)],
      c.io,
    );
    assert.equal(code, 1, c.err);
    assert.deepEqual(requests.slice(n), ['/kds/vcek/v1/Milan/cert_chain', '/kds/vcek/v1/Milan/crl']);
    const r = await verifyJson(['--evidence', ev, '--no-nonce', '--collateral', bundlePath, '--at', SNP_AT]);
    assert.equal(r.code, 1);
    const cpu = [r.v, ...(r.v.parts ?? [])].find((p) => p.kind === 'sev-snp')!;
    assert.equal(check(cpu, 'collateral.amd.crl')?.outcome, 'skip');
    assert.equal(check(cpu, 'collateral.amd.vek'), undefined, 'the evidence carries its VCEK');
    const ok = await verifyJson([
      '--evidence',
      ev,
      '--no-nonce',
      '--collateral',
      bundlePath,
      '--at',
      SNP_AT,
      '--allow-not-checked',
      'collateral.amd.crl',
      '--allow-debug',
    ]);
    assert.equal(ok.code, 0, JSON.stringify(ok.v, null, 1).slice(0, 3000));
  });

  it('the local cache: valid items are not fetched again; prune removes expired ones', async () => {
    const cache = join(tmp, 'cache');
    const q = new URL(TDX_QUOTE, DATA).pathname;
    const run = async (now: string) => {
      const c = capture();
      const n = requests.length;
      const code = await collateralMain(
        ['fetch', '--for', q, '--out', join(tmp, 'c.json'), '--cache', cache, ...fetchArgs(now), '--json'],
        c.io,
      );
      return { code, fetched: requests.length - n, summary: JSON.parse(c.out) as { fromCache: string[] } };
    };
    const first = await run(TDX_AT);
    assert.equal(first.code, 0);
    assert.equal(first.fetched, 4);
    const second = await run('2026-03-25T00:00:00Z');
    assert.equal(second.code, 0);
    assert.equal(second.fetched, 0);
    assert.equal(second.summary.fromCache.length, 4);
    // prune at 2026-05-01: TCB Info, QE identity and PCK CRL (nextUpdate mid-April) go; the root CA CRL stays
    const kdsDir = join(tmp, 'kds-empty');
    const pcsDir = join(tmp, 'pcs');
    cpSync(new URL('tdx/collateral-2026-03', DATA), pcsDir, { recursive: true });
    const c = capture();
    assert.equal(
      await collateralMain(
        [
          'prune',
          '--cache',
          cache,
          '--kds-cache',
          kdsDir,
          '--pcs-cache',
          pcsDir,
          '--now',
          '2026-05-01T00:00:00Z',
          '--json',
        ],
        c.io,
      ),
      0,
    );
    const pr = JSON.parse(c.out) as { caches: { dir: string; removed: string[]; kept: number }[] };
    const [col, kds, pcs] = pr.caches;
    assert.equal(col!.removed.length, 3);
    assert.equal(col!.kept, 1);
    assert.ok(
      col!.removed.some((x) =>
        x.startsWith('intel-tcb-info 50806f000000 (expired 2026-04-15T22:21:30.000Z)'),
      ),
    );
    assert.deepEqual(kds, { dir: kdsDir, removed: [], kept: 0 });
    // the 'verify --tdx-quote --online' cache layout: the same rule per file
    assert.deepEqual(pcs!.removed.map((x) => x.split(' ')[1]).sort(), [
      'pck-crl-platform.der',
      'tcb-info-50806f000000.json',
      'tcb-info-90c06f000000.json',
      'td-qe-identity.json',
    ]);
    assert.equal(pcs!.kept, 1);
    assert.deepEqual(readdirSync(pcsDir).sort(), ['root-ca-crl.der', 'tcb-signing-chain.pem']);
  });

  it('the AMD KDS cache: online, an answer past its own expiry is fetched again; offline it is still used', async () => {
    const dir = join(tmp, 'kds');
    const url = `${base}/kds/vcek/v1/Milan/cert_chain`;
    const first = await kdsGet(url, { cache: fileKdsCache(dir) });
    const n = requests.length;
    // cert_chain: ARK-Milan/ASK valid until 2045; "now" inside: from the cache
    assert.deepEqual(
      await kdsGet(url, { cache: fileKdsCache(dir), clock: () => Date.parse('2030-01-01') }),
      first,
    );
    assert.equal(requests.length, n);
    // "now" after the chain's notAfter: fetched again online, the cached copy offline
    await kdsGet(url, { cache: fileKdsCache(dir), clock: () => Date.parse('2050-01-01') });
    assert.equal(requests.length, n + 1);
    await kdsGet(url, { cache: fileKdsCache(dir), offline: true, clock: () => Date.parse('2050-01-01') });
    assert.equal(requests.length, n + 1);
    const exp = kdsBodyExpiry(first)!;
    assert.equal(exp.getUTCFullYear(), 2045);
    const pr = pruneKdsCache(dir, new Date('2050-01-01'));
    assert.equal(pr.removed.length, 1);
    assert.match(pr.removed[0]!, /expired 2045-/);
  });
});
