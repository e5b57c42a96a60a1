/** `wasmvm-tee verify --tdx-quote` (src/cli/verify-tdx.ts) and PCS fetch through an injected fetch. */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../../src/cli/verify-tdx.ts';
import { buildSimulatedTdxQuote, createTdxPki } from '../../../src/tee/tdx/simulated.ts';
import { collateralPathLoader } from '../../../src/verify/tdx/collateral.ts';
import { fetchCollateral, loadCollateral } from '../../../src/verify/tdx/collateral-fs.ts';
import {
  type FetchFn,
  fetchPcsCollateral,
  type PcsAnswers,
  setCollateralPathLoader,
  type TdxCollateralCache,
  TdxError,
  verifyTdxQuote,
} from '../../../src/verify/tdx/index.ts';
import { DATA } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tdx-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[], fetch?: FetchFn) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (s: string) => out.push(s),
    err: (s: string) => err.push(s),
    ...(fetch ? { fetch } : {}),
  };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const C26 = join(DATA, 'collateral-2026-03');
/** An Intel PCS look-alike serving the 2026-03 bundle; records the URLs it was asked for. */
function fakePcs(log: string[]): FetchFn {
  const chain = readFileSync(join(C26, 'tcb-signing-chain.pem'), 'latin1');
  const quotePck = readFileSync(join(DATA, 'quote-v4-phala-b0c06f.collateral.json'), 'utf8');
  const pckChain = (JSON.parse(quotePck) as { pck_crl_issuer_chain: string }).pck_crl_issuer_chain;
  return async (url: string) => {
    log.push(url);
    const u = new URL(url);
    let body: Uint8Array | undefined;
    const headers: Record<string, string> = {};
    if (u.pathname === '/tdx/certification/v4/tcb') {
      body = readFileSync(join(C26, `tcb-info-${u.searchParams.get('fmspc')}.json`));
      headers['tcb-info-issuer-chain'] = encodeURIComponent(chain);
    } else if (u.pathname === '/tdx/certification/v4/qe/identity') {
      body = readFileSync(join(C26, 'td-qe-identity.json'));
      headers['sgx-enclave-identity-issuer-chain'] = encodeURIComponent(chain);
    } else if (u.pathname === '/sgx/certification/v4/pckcrl') {
      body = readFileSync(join(C26, 'pck-crl-platform.der'));
      headers['sgx-pck-crl-issuer-chain'] = encodeURIComponent(pckChain);
    } else if (u.pathname === '/sgx/certification/v4/rootcacrl') {
      body = new Uint8Array(Buffer.from(readFileSync(join(C26, 'root-ca-crl.der')).toString('hex')));
    }
    return {
      ok: body !== undefined,
      status: body ? 200 : 404,
      headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
      arrayBuffer: async () => {
        const b = body ?? new Uint8Array();
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      },
    };
  };
}

describe('verify --tdx-quote CLI', () => {
  it('passing quote → exit 0; text lists every check', async () => {
    const r = await run([
      '--no-nonce',
      '--tdx-quote',
      join(DATA, 'quote-v4-phala-b0c06f.dat'),
      '--collateral',
      join(DATA, 'quote-v4-phala-b0c06f.collateral.json'),
      '--now',
      '2025-07-01T00:00:00Z',
    ]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /VERIFIED/);
    assert.match(r.out, /\[pass\] tdx\.tcb\.status/);
  });

  it('--json has the TD report fields, TCB status with advisories, and every check', async () => {
    const r = await run([
      '--no-nonce',
      '--tdx-quote',
      join(DATA, 'quote-v4-debugtd.dat'),
      '--collateral',
      C26,
      '--now=2026-04-01T00:00:00Z',
      '--json',
      '--allow-debug',
      '--accept-tcb',
      'UpToDate,OutOfDate',
    ]);
    assert.equal(r.code, 0, r.out + r.err);
    const j = JSON.parse(r.out) as {
      ok: boolean;
      checks: { id: string }[];
      fields: { td: Record<string, string>; tcb: { status: string; advisoryIds: string[] } };
    };
    assert.equal(j.ok, true);
    assert.equal(j.fields.td.mrTd?.length, 96);
    assert.equal(j.fields.td.tdAttributes, '0100001000000000');
    assert.equal(j.fields.tcb.status, 'OutOfDate');
    assert.equal(j.fields.tcb.advisoryIds.length, 11);
    assert.ok(j.checks.length >= 20);
  });

  it('debug TD → exit 1 by default; policy file is applied; usage errors → exit 2', async () => {
    const base = [
      '--no-nonce',
      '--tdx-quote',
      join(DATA, 'quote-v4-debugtd.dat'),
      '--collateral',
      C26,
      '--now',
      '2026-04-01T00:00:00Z',
    ];
    const r = await run(base);
    assert.equal(r.code, 1);
    assert.match(r.out, /\[fail\] tdx\.td\.debug/);
    const pol = join(tmp, 'p.json');
    writeFileSync(
      pol,
      JSON.stringify({
        tdx: { allowDebug: true, acceptedTcbStatuses: ['OutOfDate'], mrTd: ['00'.repeat(48)] },
      }),
    );
    const r2 = await run([...base, '--policy', pol]);
    assert.equal(r2.code, 1);
    assert.match(r2.out, /\[fail\] tdx\.policy\.mrTd/);
    assert.match(r2.out, /\[pass\] tdx\.td\.debug/);
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['--tdx-quote'])).code, 2);
    assert.equal((await run([...base, '--bogus'])).code, 2);
    assert.equal((await run([...base, '--now', 'yesterday'])).code, 2);
    assert.equal((await run([...base, '--report-data', 'abcd'])).code, 2);
    writeFileSync(pol, JSON.stringify({ tdx: { allowDebug: 'yes' } }));
    assert.equal((await run([...base, '--policy', pol])).code, 2);
  });

  it('never uses the network unless --online; with --online fetches from PCS, caches, then works offline from the cache', async () => {
    const cache = join(tmp, 'cache');
    const log: string[] = [];
    const args = [
      '--no-nonce',
      '--tdx-quote',
      join(DATA, 'quote-v5-gotdxguest.dat'),
      '--pcs-cache',
      cache,
      '--now',
      '2026-04-01T00:00:00Z',
    ];
    // Default: offline. Nothing cached yet: collateral missing, the verdict fails and says why; no fetch.
    const r0 = await run([...args, '--json'], fakePcs(log));
    assert.equal(r0.code, 1, r0.out + r0.err);
    assert.deepEqual(log, []);
    const v0 = JSON.parse(r0.out);
    assert.equal(v0.fields.network.used, false);
    const col = v0.checks.find((c: { id: string }) => c.id === 'tdx.collateral');
    assert.equal(col.outcome, 'fail');
    assert.match(col.detail, /--online/);
    // --online: fetched from PCS, the verdict says the network was used.
    const r = await run([...args, '--online', '--json'], fakePcs(log));
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(JSON.parse(r.out).fields.network.used, true);
    assert.deepEqual(log, [
      'https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=90c06f000000',
      'https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity',
      'https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
      'https://api.trustedservices.intel.com/sgx/certification/v4/rootcacrl',
    ]);
    assert.ok(readdirSync(cache).includes('tcb-info-90c06f000000.json'));
    // Fresh cache: no second fetch even --online.
    const r2 = await run([...args, '--online'], fakePcs(log));
    assert.equal(r2.code, 0);
    assert.equal(log.length, 4);
    assert.match(r2.out, /no network used/);
    // Offline (default, or --offline) with the cache.
    for (const extra of [[], ['--offline']]) {
      const r3 = await run([...args, ...extra], async () => {
        throw new Error('network used in offline mode');
      });
      assert.equal(r3.code, 0, r3.out + r3.err);
      assert.match(r3.out, /no network used \(offline\)/);
    }
    // Offline without a cache: rejected (collateral missing).
    const r4 = await run([
      '--no-nonce',
      '--tdx-quote',
      join(DATA, 'quote-v5-gotdxguest.dat'),
      '--pcs-cache',
      join(tmp, 'none'),
      '--offline',
    ]);
    assert.equal(r4.code, 1);
    assert.match(r4.err, /offline: no cached collateral/);
    assert.equal((await run([...args, '--online', '--offline'])).code, 2);
  });

  it('fetchCollateral: HTTP errors and a missing issuer-chain header are TDX_COLLATERAL_FETCH', async () => {
    const notFound: FetchFn = async () => ({
      ok: false,
      status: 404,
      headers: { get: () => null },
      arrayBuffer: async () => new ArrayBuffer(0),
    });
    await assert.rejects(
      fetchCollateral({ fmspc: '90c06f000000', ca: 'platform', fetch: notFound }),
      (e: unknown) =>
        e instanceof TdxError && e.code === 'TDX_COLLATERAL_FETCH' && /HTTP 404/.test(e.message),
    );
    const noHeader: FetchFn = async () => ({
      ok: true,
      status: 200,
      headers: { get: () => null },
      arrayBuffer: async () => new ArrayBuffer(0),
    });
    await assert.rejects(
      fetchCollateral({ fmspc: '90c06f000000', ca: 'platform', fetch: noHeader }),
      (e: unknown) => e instanceof TdxError && /TCB-Info-Issuer-Chain/.test(e.message),
    );
    await assert.rejects(fetchCollateral({ fmspc: 'zz', ca: 'platform' }), /bad FMSPC/);
  });

  it('fetchPcsCollateral: any TdxCollateralCache (in memory): filled online, read offline; no cache offline fails', async () => {
    const col = loadCollateral(join(DATA, 'collateral-2026-03'));
    const store: PcsAnswers[] = [];
    const cache: TdxCollateralCache = {
      where: 'memory',
      load: async () => (store.length > 0 ? col : undefined),
      store: async (a) => void store.push(a),
    };
    const fmspc = Object.keys(col.tcbInfos)[0]!;
    const pem = (der: Uint8Array) =>
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    const chain = encodeURIComponent(col.tcbInfoIssuerChain!.map(pem).join(''));
    const tcbBody = `{"tcbInfo":${col.tcbInfos[fmspc]!.raw},"signature":"${col.tcbInfos[fmspc]!.signatureHex}"}`;
    const qeBody = `{"enclaveIdentity":${col.qeIdentity!.raw},"signature":"${col.qeIdentity!.signatureHex}"}`;
    const urls: string[] = [];
    const f: FetchFn = async (u) => {
      urls.push(u);
      const body = u.includes('/tcb?')
        ? Buffer.from(tcbBody)
        : u.includes('/qe/identity')
          ? Buffer.from(qeBody)
          : u.includes('pckcrl')
            ? Buffer.from(col.pckCrls[0]!)
            : Buffer.from(col.rootCaCrl!);
      return {
        ok: true,
        status: 200,
        headers: { get: (h: string) => (/issuer-chain/i.test(h) ? chain : null) },
        arrayBuffer: async () =>
          body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer,
      };
    };
    const got = await fetchPcsCollateral({
      fmspc,
      ca: 'platform',
      fetch: f,
      cache,
      baseUrl: 'https://pcs.test',
    });
    assert.equal(urls.length, 4);
    assert.equal(store.length, 1);
    assert.equal(store[0]!.fmspc, fmspc);
    assert.equal(store[0]!.tcbInfoText, tcbBody);
    assert.deepEqual(store[0]!.rootCaCrl, col.rootCaCrl);
    assert.equal(got.tcbInfos[fmspc]!.raw, col.tcbInfos[fmspc]!.raw);
    assert.equal(await fetchPcsCollateral({ fmspc, ca: 'platform', fetch: f, cache, offline: true }), col);
    assert.equal(urls.length, 4);
    await assert.rejects(
      fetchPcsCollateral({ fmspc, ca: 'platform', fetch: f, offline: true }),
      (e: unknown) => e instanceof TdxError && /no cache directory/.test(e.message),
    );
  });

  it('a collateral path needs a loader: the Node file loader by default, `loadCollateral` wins, none → tdx.error', async () => {
    const q = new Uint8Array(readFileSync(join(DATA, 'quote-v4-phala-b0c06f.dat')));
    const now = new Date('2025-03-01T00:00:00Z');
    const path = join(DATA, 'quote-v4-phala-b0c06f.collateral.json');
    const loaded: string[] = [];
    const own = await verifyTdxQuote(q, {
      now,
      collateral: path,
      loadCollateral: (p) => {
        loaded.push(p);
        return loadCollateral(p);
      },
    });
    assert.deepEqual(loaded, [path]);
    const byDefault = await verifyTdxQuote(q, { now, collateral: path }); // collateral-fs.ts is loaded here
    assert.deepEqual(
      byDefault.checks.map((c) => [c.id, c.outcome]),
      own.checks.map((c) => [c.id, c.outcome]),
    );
    assert.ok(!byDefault.checks.some((c) => c.id === 'tdx.error'));
    const previous = collateralPathLoader();
    setCollateralPathLoader(undefined); // as in a browser
    try {
      const none = await verifyTdxQuote(q, { now, collateral: path });
      assert.equal(none.ok, false);
      assert.match(none.checks.find((c) => c.id === 'tdx.error')!.detail, /TDX_COLLATERAL: .*no file loader/);
    } finally {
      setCollateralPathLoader(previous);
    }
  });

  it('SIMULATED quotes: rejected by default, accepted with --trust-simulated-root (marked)', async () => {
    const pki = await createTdxPki();
    const qf = join(tmp, 'sim.dat');
    const rootf = join(tmp, 'sim-root.der');
    const pol = join(tmp, 'nocol.json');
    writeFileSync(qf, buildSimulatedTdxQuote(pki, new Uint8Array(64)));
    writeFileSync(rootf, pki.rootDer);
    writeFileSync(pol, JSON.stringify({ tdx: { requireCollateral: false } }));
    const base = [
      '--no-nonce',
      '--tdx-quote',
      qf,
      '--policy',
      pol,
      '--offline',
      '--pcs-cache',
      join(tmp, 'none'),
    ];
    const r = await run(base);
    assert.equal(r.code, 1);
    assert.match(r.out, /\[fail\] tdx\.simulated/);
    const r2 = await run([...base, '--trust-simulated-root', rootf]);
    assert.equal(r2.code, 0, r2.out + r2.err);
    assert.match(r2.out, /\[pass\] tdx\.simulated: SIMULATED evidence accepted/);
    const r3 = await run([...base, '--allow-simulated', '--json']);
    assert.equal(r3.code, 0);
    assert.equal((JSON.parse(r3.out) as { fields: { simulated: boolean } }).fields.simulated, true);
  });
});
