/**
 * VerifierCache (src/verify/cache.ts): a warm verify gives the cold verdict, with every check satisfied
 * from the cache named; what it does not hold (time, policy, nonce, trust roots, the claim) is evaluated on
 * every call, so each of those changed gives exactly the cold verdict under the change; other bytes miss;
 * the size is bounded (least recently used dropped). The mutation suites run against a warm cache too
 * (test/binding/mutation.test.ts, test/verify/sev-snp/mutation.test.ts, test/verify/tdx/mutation.test.ts).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import { detectTee } from '../../src/tee/index.ts';
import {
  type Check,
  factKey,
  type Verdict,
  VerifierCache,
  VerifyError,
  type VerifyExecutionOptions,
  verifyExecution,
} from '../../src/verify/index.ts';
import { ARGS_A, type Sample, sample } from '../binding/responses.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../server/helpers.ts';

type Json = Record<string, unknown>;
/** One verification time for every verify (verdicts name it). */
const NOW = new Date();

/** The verdict without what the cache adds: the "(cached: …)" notes and `fields.cached`. */
function strip(v: Verdict): unknown {
  const { cached: _, ...fields } = v.fields ?? {};
  return {
    ...v,
    checks: v.checks.map((c) => ({
      ...c,
      detail: c.detail.replace(/ \(cached: .*verified earlier at [^)]*\)$/, ''),
    })),
    ...(v.fields ? { fields } : {}),
    ...(v.parts ? { parts: v.parts.map(strip) } : {}),
  };
}

const failed = (v: Verdict): string[] => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap(failed),
];

function session(s: Sample): Json {
  const att = JSON.parse((s.response.result as Json).attestation as string) as Json;
  return att.session as Json;
}

describe('VerifierCache', () => {
  const servers: TestServer[] = [];
  const cleanups: Array<() => void> = [];
  const samples: Record<string, Sample> = {};
  let otherRoot = '';
  before(async () => {
    const snp = simulatedAttester();
    const other = simulatedAttester();
    cleanups.push(snp.cleanup, other.cleanup);
    otherRoot = await other.provider.rootPem();
    const tdx = new TeeAttester(await detectTee({ force: 'simulated-tdx' }));
    const engine = new Engine({ workers: 1 });
    for (const [tee, attester] of [
      ['sev-snp', snp.attester],
      ['tdx', tdx],
    ] as const) {
      const ts = await startTestServer({ engine, attester });
      servers.push(ts);
      for (const att of ['session-key', 'per-request'] as const)
        samples[`${tee} ${att}`] = await sample(ts.server.url, 'all', ARGS_A, 'interp', att);
    }
    samples['sev-snp session-key 2'] = await sample(
      servers[0]!.server.url,
      'all',
      ARGS_A,
      'singlepass',
      'session-key',
    );
  });
  after(async () => {
    for (const s of servers) await s.close();
    for (const c of cleanups) c();
  });

  const base = (s: Sample, extra: VerifyExecutionOptions = {}): VerifyExecutionOptions => ({
    response: s.response,
    request: s.request,
    nonce: s.nonce,
    allowSimulated: true,
    now: NOW,
    ...extra,
  });

  it('a warm verify gives the cold verdict; the checks satisfied from the cache say so', async () => {
    const expectCached: Record<string, { top?: string[]; cpu: string[] }> = {
      'sev-snp session-key': { top: ['binding.session-signature'], cpu: ['snp.report.signature'] },
      'tdx session-key': {
        top: ['binding.session-signature'],
        cpu: ['tdx.quote.signature', 'tdx.qe.report-signature'],
      },
      'sev-snp per-request': { cpu: ['snp.report.signature'] },
      'tdx per-request': { cpu: ['tdx.quote.signature', 'tdx.qe.report-signature'] },
    };
    for (const [name, want] of Object.entries(expectCached)) {
      const s = samples[name]!;
      const cold = await verifyExecution(undefined, base(s));
      assert.equal(cold.ok, true, `${name}: ${failed(cold)}`);
      assert.equal(
        JSON.stringify(cold).includes('cached'),
        false,
        'a verdict without a cache says nothing of one',
      );
      const cache = new VerifierCache();
      const first = await verifyExecution(undefined, base(s, { cache }));
      assert.deepEqual(first, cold, `${name}: the first (cold-cache) verdict is the verdict without a cache`);
      const warm = await verifyExecution(undefined, base(s, { cache }));
      assert.equal(warm.ok, true, name);
      assert.deepEqual(warm.fields?.cached, want.top, name);
      assert.deepEqual(warm.parts?.[0]?.fields?.cached, want.cpu, name);
      for (const id of [...(want.top ?? []), ...want.cpu]) {
        const c: Check = [...warm.checks, ...warm.parts![0]!.checks].find((x) => x.id === id)!;
        assert.equal(c.outcome, 'pass');
        assert.match(
          c.detail,
          / \(cached: .*verified earlier at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
          `${name}: ${id}`,
        );
      }
      assert.deepEqual(strip(warm), strip(cold), `${name}: warm = cold but for the cached notes`);
      const st = cache.stats();
      assert.equal(st.hits, (want.top?.length ?? 0) + want.cpu.length, name);
    }
  });

  it('expiry, another policy, nonce or trust root: evaluated every time (= the cold verdict, rejected)', async () => {
    for (const name of ['sev-snp session-key', 'tdx session-key']) {
      const s = samples[name]!;
      const cache = new VerifierCache();
      assert.equal((await verifyExecution(undefined, base(s, { cache }))).ok, true);
      const notAfter = Date.parse(session(s).notAfter as string);
      const changes: Array<[string, VerifyExecutionOptions, string]> = [
        [
          'after the session key expired',
          { now: new Date(notAfter + 3600_000) },
          'binding.session-key-validity',
        ],
        [
          'before the session key was valid',
          { now: new Date(Date.parse(session(s).notBefore as string) - 3600_000) },
          'binding.session-key-validity',
        ],
        ['another nonce', { nonce: '00'.repeat(16), request: undefined }, 'binding.nonce'],
        [
          'another policy',
          name.startsWith('sev-snp')
            ? { policy: { snp: { measurements: ['00'.repeat(48)] } } }
            : { policy: { tdx: { mrTd: ['00'.repeat(48)] } } },
          name.startsWith('sev-snp') ? 'snp.policy.measurement' : 'tdx.',
        ],
        ['another server build pinned', { serverBuildSha256: ['11'.repeat(32)] }, 'reference.server-build'],
        ['no trusted root', { allowSimulated: false }, name.startsWith('sev-snp') ? 'snp.chain' : 'tdx.'],
        [
          'another trusted simulated root',
          { allowSimulated: false, trustSimulatedRoot: otherRoot },
          name.startsWith('sev-snp') ? 'snp.chain' : 'tdx.',
        ],
      ];
      for (const [what, change, id] of changes) {
        const o = { ...base(s), ...change };
        if (change.request === undefined && 'request' in change) delete o.request;
        const cold = await verifyExecution(undefined, o);
        const warm = await verifyExecution(undefined, { ...o, cache });
        assert.equal(warm.ok, false, `${name}, ${what}: accepted with a warm cache`);
        assert.ok(
          failed(warm).some((f) => f.startsWith(id)),
          `${name}, ${what}: failed [${failed(warm)}], expected ${id}`,
        );
        assert.deepEqual(strip(warm), strip(cold), `${name}, ${what}: warm ≠ cold`);
      }
    }
  });

  it('other bytes miss: another session, a flipped evidence byte, another claim signature', async () => {
    const cache = new VerifierCache();
    const a = samples['sev-snp session-key']!;
    const b = samples['sev-snp session-key 2']!;
    assert.equal((await verifyExecution(undefined, base(a, { cache }))).ok, true);
    // the same session (one server, one key epoch): the session keys and the evidence signature hit
    const vb = await verifyExecution(undefined, base(b, { cache }));
    assert.equal(vb.ok, true);
    assert.deepEqual(vb.fields?.cached, ['binding.session-signature']);
    // the session's evidence with a byte of its signed region flipped: the signature fact misses, rejected
    const att = JSON.parse((a.response.result as Json).attestation as string) as Json;
    const ev = (att.session as Json).evidence as Json;
    const report = Buffer.from(ev.report as string, 'base64');
    report[0x90]! ^= 1;
    ev.report = report.toString('base64');
    const misses = cache.stats().misses;
    const bad = await verifyExecution(att, { nonce: a.nonce, allowSimulated: true, now: NOW, cache });
    assert.equal(bad.ok, false);
    assert.ok(failed(bad).includes('snp.report.signature'), failed(bad).join());
    assert.equal(cache.stats().misses, misses + 1, 'the flipped report is a miss');
    // a session whose kid is edited: its key facts miss (and it fails)
    const att2 = JSON.parse((a.response.result as Json).attestation as string) as Json;
    ((att2.session as Json).jwk as Json).kid = 'x';
    const m2 = cache.stats().misses;
    const v2 = await verifyExecution(att2, { nonce: a.nonce, allowSimulated: true, now: NOW, cache });
    assert.equal(v2.ok, false);
    assert.equal(v2.fields?.cached, undefined);
    assert.ok(cache.stats().misses > m2);
  });

  it('bounded: the least recently used fact is dropped; maxEntries validated', () => {
    const cache = new VerifierCache({ maxEntries: 2 });
    const k = (i: number) => factKey('snp-report-signature', String(i));
    cache.set(k(1), true);
    cache.set(k(2), true);
    assert.ok(cache.get(k(1)), 'k1 used: now the most recent');
    cache.set(k(3), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.get(k(2)), undefined, 'k2, the least recently used, was dropped');
    assert.ok(cache.get(k(1)));
    assert.ok(cache.get(k(3)));
    assert.deepEqual(cache.stats(), { size: 2, maxEntries: 2, hits: 3, misses: 1, evictions: 1 });
    cache.clear();
    assert.equal(cache.size, 0);
    for (const bad of [0, -1, 1.5, Number.NaN])
      assert.throws(() => new VerifierCache({ maxEntries: bad }), VerifyError);
  });

  it('a warm cache stays bounded over many sessions', async () => {
    const cache = new VerifierCache({ maxEntries: 3 });
    for (const name of Object.keys(samples))
      assert.equal((await verifyExecution(undefined, base(samples[name]!, { cache }))).ok, true, name);
    assert.equal(cache.size, 3);
    assert.ok(cache.stats().evictions > 0);
  });

  it('fact keys: kind and part boundaries are part of the key', () => {
    assert.notEqual(factKey('session-keys', 'ab', 'c'), factKey('session-keys', 'a', 'bc'));
    assert.notEqual(factKey('session-keys', 'a'), factKey('snp-report-signature', 'a'));
    assert.equal(factKey('session-keys', new Uint8Array([97])), factKey('session-keys', 'a'));
  });
});
