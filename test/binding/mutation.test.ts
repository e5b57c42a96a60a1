/**
 * The verifier never says a wrong yes (issue 13): for each execution mode × attestation mode × simulated
 * TEE (SEV-SNP, TDX), real responses from an in-process server are verified untampered (accepted), then
 *   (a) every leaf of the response JSON — the envelope inside `attestation` included — is edited to another
 *       valid value of its type,
 *   (b) bytes of the claim, the signatures and the evidence are flipped (sampled positions),
 *   (c) evidence, claims, signatures and whole attestations are swapped between two responses,
 *   (d) outputs are dropped, added and reordered,
 *   (e) session validity is rewritten (and an expired key is used),
 * and every mutation must be rejected. Leaves nothing attests (timings) must be named in the verdict as
 * unverified instead. The counts are printed. The whole suite runs twice: cold, and with a VerifierCache
 * warmed by every untampered response first (a cached fact must never turn a mutation into a yes).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { WasmValue } from '../../src/engine/index.ts';
import { Engine } from '../../src/engine/index.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import { detectTee } from '../../src/tee/index.ts';
import {
  type Verdict,
  VerifierCache,
  type VerifyExecutionOptions,
  verifyExecution as verifyCold,
} from '../../src/verify/index.ts';
import { simulatedAttester, startTestServer, type TestServer } from '../server/helpers.ts';
import { ARGS_A, type Sample, sample } from './responses.ts';

type Json = Record<string, unknown>;

const ARGS_B: WasmValue[] = [
  { type: 'i32', value: 2 ** 31 - 1 },
  { type: 'i64', value: 9007199254740993n },
  { type: 'f32', bits: 0x80000000 }, // -0.0
  { type: 'f64', bits: 0x7ff8000000000001n }, // NaN with a payload
];

// ---------------------------------------------------------------- the response as one JSON tree

/** The response with its `attestation` string parsed (so the envelope's leaves are leaves too). */
function explode(resp: Json): Json {
  const c = structuredClone(resp);
  const res = c.result as Json;
  res.attestation = JSON.parse(res.attestation as string);
  return c;
}
function implode(tree: Json): Json {
  const c = structuredClone(tree);
  const res = c.result as Json;
  res.attestation = JSON.stringify(res.attestation);
  return c;
}

type Path = Array<string | number>;
function* leaves(o: unknown, path: Path = []): Generator<[Path, unknown]> {
  if (o !== null && typeof o === 'object') {
    for (const [k, v] of Array.isArray(o) ? o.entries() : Object.entries(o)) yield* leaves(v, [...path, k]);
  } else yield [path, o];
}
function setAt(o: Json, path: Path, v: unknown): Json {
  const c = structuredClone(o);
  let cur = c as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = v;
  return c;
}
function getAt(o: unknown, path: Path): unknown {
  let cur = o as Record<string | number, unknown>;
  for (const k of path) cur = cur?.[k] as Record<string | number, unknown>;
  return cur;
}

const ENUMS: string[][] = [
  ['WASMVM_MODE_SINGLEPASS', 'WASMVM_MODE_MULTIPASS', 'WASMVM_MODE_INTERP_UNSPECIFIED'],
  ['ATTESTATION_MODE_PER_REQUEST', 'ATTESTATION_MODE_SESSION_KEY'],
  ['VALUE_TYPE_INT32', 'VALUE_TYPE_INT64', 'VALUE_TYPE_FLOAT32', 'VALUE_TYPE_FLOAT64'],
  ['interp', 'singlepass', 'multipass'],
  ['per-request', 'session-key'],
  ['sev-snp', 'tdx'],
  ['ok', 'unreachable'],
  ['default', 'per-request'],
  ['ES256', 'ES384'],
  ['NaN', 'Infinity', '-Infinity'],
];
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Another valid value of the same type; `pos` picks the byte flipped in binary fields. */
function mutateLeaf(path: Path, v: unknown, pos: number): unknown {
  const key = String(path[path.length - 1]);
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') {
    if (key === 'bits') return v ^ 1;
    if (Number.isInteger(v)) return v === 2 ** 31 - 1 ? v - 1 : v + 1;
    return v * 2 + 1;
  }
  if (typeof v !== 'string') return 'x';
  for (const e of ENUMS) if (e.includes(v)) return e[(e.indexOf(v) + 1) % e.length];
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v))
    return new Date(Date.parse(v) + 1).toISOString();
  if (/^-?\d+$/.test(v)) {
    const b = BigInt(v);
    return (b === 2n ** 64n - 1n || b === 2n ** 63n - 1n ? b - 1n : b + 1n).toString();
  }
  if (/^(?:[0-9a-f]{2})+$/.test(v) && v.length >= 16) {
    const i = (pos * 2) % v.length;
    return v.slice(0, i) + (v[i] === '0' ? '1' : '0') + v.slice(i + 1);
  }
  if (v === '') return key === 'nonce' ? '00' : 'AA==';
  if (B64.test(v) && v.length >= 8) {
    const b = Buffer.from(v, 'base64');
    b[pos % b.length] ^= 0x01;
    return b.toString('base64');
  }
  if (/^[A-Za-z0-9_-]{20,}$/.test(v)) return (v[0] === 'A' ? 'B' : 'A') + v.slice(1); // base64url (JWK)
  return `${v}x`;
}

const failed = (v: Verdict): string[] => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap(failed),
];

/** Leaves nothing attests: must be accepted when edited, and named unverified in the verdict. */
const UNVERIFIED = [/^result\.timing\./, /^result\.attestation\.(?:evidence|session\.evidence)\.provider$/];

// ---------------------------------------------------------------- the suite

interface Scenario {
  name: string;
  a: Sample;
  b: Sample;
  c: Sample;
}

const tally = { tried: 0, rejected: 0, unverifiedAccepted: 0 };

/** The cache of the suite running now (undefined: the cold run). */
let activeCache: VerifierCache | undefined;
function verifyExecution(envelope: unknown, opts: VerifyExecutionOptions): Promise<Verdict> {
  return verifyCold(envelope, activeCache ? { ...opts, cache: activeCache } : opts);
}

async function verifySample(
  s: Sample,
  response: Json,
  extra: Record<string, unknown> = {},
): Promise<Verdict> {
  return verifyExecution(undefined, {
    response,
    request: s.request,
    nonce: s.nonce,
    allowSimulated: true,
    ...extra,
  });
}

async function expectRejected(
  what: string,
  s: Sample,
  response: Json,
  extra: Record<string, unknown> = {},
  bad: string[] = [],
): Promise<void> {
  tally.tried++;
  const v = await verifySample(s, response, extra);
  if (v.ok) bad.push(what);
  else tally.rejected++;
}

for (const warm of [false, true])
  describe(`verifier mutation suite (library${warm ? ', warm VerifierCache' : ''})`, () => {
    const servers: TestServer[] = [];
    const scenarios: Scenario[] = [];
    const cache = warm ? new VerifierCache() : undefined;
    before(async () => {
      Object.assign(tally, { tried: 0, rejected: 0, unverifiedAccepted: 0 });
      activeCache = undefined;
      const snp = simulatedAttester();
      const tdx = new TeeAttester(await detectTee({ force: 'simulated-tdx' }));
      const engine = new Engine({ workers: 1 });
      for (const [tee, attester, cleanup] of [
        ['sev-snp', snp.attester, snp.cleanup],
        ['tdx', tdx, () => {}],
      ] as const) {
        const ts = await startTestServer({ engine, attester }, {}, cleanup);
        servers.push(ts);
        for (const att of ['per-request', 'session-key'] as const)
          for (const mode of ['interp', 'singlepass', 'multipass'] as const)
            scenarios.push({
              name: `${tee} ${att} ${mode}`,
              a: await sample(ts.server.url, 'all', ARGS_A, mode, att),
              b: await sample(ts.server.url, 'all', ARGS_B, mode, att),
              c: await sample(
                ts.server.url,
                'swap',
                [
                  { type: 'f32', bits: 0x3fc00000 },
                  { type: 'f64', bits: 0xc004000000000000n },
                ],
                mode,
                att,
              ),
            });
      }
      if (cache) {
        // Warm: every untampered response verified once with the cache, so every session's keys and
        // every evidence signature the mutations start from are cached facts.
        activeCache = cache;
        for (const sc of scenarios)
          for (const x of [sc.a, sc.b, sc.c]) assert.ok((await verifySample(x, x.response)).ok, sc.name);
      }
    });
    after(async () => {
      for (const s of servers) await s.close();
      const stats = cache?.stats();
      activeCache = undefined;
      console.log(
        `mutation suite (library${cache ? ', warm cache' : ''}): ${tally.tried} mutations tried, ${tally.rejected} rejected; ${tally.unverifiedAccepted} edits of unverified leaves (named unverified in the verdict) accepted${stats ? `; cache ${JSON.stringify(stats)}` : ''}`,
      );
    });

    if (cache)
      it('the warm cache is used: checks say "cached" (the suite below runs against it)', async () => {
        const s = scenarios.find((x) => x.name === 'sev-snp session-key interp')!;
        const v = await verifySample(s.a, s.a.response);
        assert.equal(v.ok, true);
        assert.deepEqual(v.fields?.cached, ['binding.session-signature']);
        assert.deepEqual(v.parts?.[0]?.fields?.cached, ['snp.report.signature']);
        assert.match(v.parts![0]!.checks.find((c) => c.id === 'snp.report.signature')!.detail, /\(cached: /);
        assert.ok(cache.stats().hits > 0);
      });

    it('untampered responses verify (every value type, NaN payloads, -0.0)', async () => {
      assert.equal(scenarios.length, 12);
      for (const s of scenarios)
        for (const x of [s.a, s.b, s.c]) {
          const v = await verifySample(x, x.response);
          assert.deepEqual(failed(v), [], s.name);
          const unv = v.checks.find((c) => c.id === 'response.unverified')!;
          assert.match(unv.detail, /result\.timing\.totalUs/);
        }
    });

    it('(a) every leaf edited, (b) bytes flipped: all rejected', async () => {
      const bad: string[] = [];
      for (const s of scenarios) {
        const tree = explode(s.a.response);
        let k = 0;
        for (const [path, value] of leaves(tree)) {
          const p = path.join('.');
          const unverified = UNVERIFIED.some((r) => r.test(p));
          // (a) one edit per leaf; (b) binary leaves: three more sampled byte positions
          const binary = typeof value === 'string' && value.length > 64 && B64.test(value);
          for (const pos of binary ? [0, 7 + k, value.length, 997 + 13 * k] : [k]) {
            k++;
            const m = mutateLeaf(path, value, pos);
            if (JSON.stringify(m) === JSON.stringify(value)) continue;
            const resp = implode(setAt(tree, path, m));
            if (unverified) {
              // Nothing attests it: the verdict must name it unverified (accepting or rejecting the edit
              // — e.g. when the structured copy no longer agrees — is then both honest).
              const v = await verifySample(s.a, resp);
              const named = (v.fields?.unverified as string[] | undefined) ?? [];
              const want = p.replace(/^result\.attestation\./, 'attestation.');
              assert.ok(
                named.includes(want),
                `${s.name}: ${want} is not named unverified (${named.join(', ')})`,
              );
              if (v.ok) tally.unverifiedAccepted++;
              continue;
            }
            await expectRejected(`${s.name}: ${p} = ${JSON.stringify(m).slice(0, 60)}`, s.a, resp, {}, bad);
          }
        }
      }
      assert.deepEqual(bad, [], `accepted mutations:\n${bad.join('\n')}`);
    });

    it('(b) property: any single byte flipped in the claim, signature or evidence is rejected', async () => {
      const bad: string[] = [];
      const s = scenarios.find((x) => x.name === 'sev-snp session-key singlepass')!;
      const p = scenarios.find((x) => x.name === 'tdx per-request interp')!;
      const targets: Array<[Scenario, Path]> = [
        [s, ['result', 'claim']],
        [s, ['result', 'claimSignature']],
        [s, ['result', 'attestation', 'signature']],
        [s, ['result', 'attestation', 'session', 'evidence', 'report']],
        [p, ['result', 'attestation', 'evidence', 'report']],
        [p, ['result', 'evidence', 'report']],
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.nat({ max: targets.length - 1 }),
          fc.integer({ min: 0, max: 7 }),
          async (pos, t, bit) => {
            const [sc, path] = targets[t]!;
            const tree = explode(sc.a.response);
            const b = Buffer.from(getAt(tree, path) as string, 'base64');
            b[pos % b.length] ^= 1 << bit;
            await expectRejected(
              `${sc.name}: ${path.join('.')} byte ${pos % b.length}`,
              sc.a,
              implode(setAt(tree, path, b.toString('base64'))),
              {},
              bad,
            );
          },
        ),
        { numRuns: 60 },
      );
      assert.deepEqual(bad, []);
    });

    it('(c) evidence, claims, signatures and attestations swapped between responses: all rejected', async () => {
      const bad: string[] = [];
      const parts: Path[] = [
        ['result', 'attestation'],
        ['result', 'attestation', 'evidence'],
        ['result', 'attestation', 'session'],
        ['result', 'attestation', 'signature'],
        ['result', 'attestation', 'claim'],
        ['result', 'attestation', 'reportData'],
        ['result', 'claim'],
        ['result', 'claimSignature'],
        ['result', 'evidence'],
        ['result', 'reportData'],
        ['result', 'outputValues'],
      ];
      for (const s of scenarios) {
        // the other response of the same server, and the same scenario on the other TEE
        const other = scenarios.find(
          (x) => x.name === s.name.replace(/^(sev-snp|tdx)/, (m) => (m === 'tdx' ? 'sev-snp' : 'tdx')),
        )!;
        for (const donor of [s.b, other.a]) {
          const from = explode(donor.response);
          const to = explode(s.a.response);
          for (const path of parts) {
            const v = getAt(from, path);
            if (v === undefined || JSON.stringify(v) === JSON.stringify(getAt(to, path))) continue;
            await expectRejected(
              `${s.name}: ${path.join('.')} from ${donor === s.b ? 'B' : other.name}`,
              s.a,
              implode(setAt(to, path, v)),
              {},
              bad,
            );
          }
        }
        // B's whole response presented for A's request and nonce
        await expectRejected(`${s.name}: B's response for A's request`, s.a, s.b.response, {}, bad);
      }
      assert.deepEqual(bad, [], `accepted swaps:\n${bad.join('\n')}`);
    });

    it('(d) outputs dropped, added and reordered: all rejected', async () => {
      const bad: string[] = [];
      for (const s of scenarios) {
        for (const x of [s.a, s.c]) {
          const tree = explode(x.response);
          for (const [base, key] of [
            [['result'], 'outputValues'],
            [['result', 'attestation', 'claim'], 'outputs'],
          ] as const) {
            const list = getAt(tree, [...base, key]) as unknown[];
            const variants = [list.slice(0, -1), [...list, list[0]], [...list].reverse(), []];
            for (const l of variants) {
              if (JSON.stringify(l) === JSON.stringify(list)) continue;
              await expectRejected(
                `${s.name}: ${key} ${l.length}`,
                x,
                implode(setAt(tree, [...base, key], l)),
                {},
                bad,
              );
            }
          }
        }
      }
      assert.deepEqual(bad, [], `accepted:\n${bad.join('\n')}`);
    });

    it('(e) session validity rewritten, an expired key, a claim outside the window: all rejected', async () => {
      const bad: string[] = [];
      for (const s of scenarios.filter((x) => x.name.includes('session-key'))) {
        const tree = explode(s.a.response);
        const session = getAt(tree, ['result', 'attestation', 'session']) as Json;
        const na = Date.parse(session.notAfter as string);
        const nb = Date.parse(session.notBefore as string);
        const edits: Array<[Path, unknown]> = [
          [['result', 'attestation', 'session', 'notAfter'], new Date(na + 365 * 86400_000).toISOString()],
          [['result', 'attestation', 'session', 'notBefore'], new Date(nb - 3600_000).toISOString()],
          [['result', 'attestation', 'session', 'epoch'], (session.epoch as number) + 1],
          [['result', 'attestation', 'claim', 'issuedAt'], String(na + 3600_000)],
          [['result', 'attestation', 'claim', 'issuedAt'], String(nb - 1)],
        ];
        for (const [path, v] of edits)
          await expectRejected(`${s.name}: ${path.join('.')}`, s.a, implode(setAt(tree, path, v)), {}, bad);
        // the untampered response, verified after the key expired (a leaked key's claims stop verifying)
        await expectRejected(
          `${s.name}: verified after notAfter`,
          s.a,
          s.a.response,
          { now: new Date(na + 3600_000) },
          bad,
        );
        // and with a later notAfter pasted in, at that later time
        await expectRejected(
          `${s.name}: notAfter extended, verified later`,
          s.a,
          implode(
            setAt(
              tree,
              ['result', 'attestation', 'session', 'notAfter'],
              new Date(na + 365 * 86400_000).toISOString(),
            ),
          ),
          { now: new Date(na + 3600_000) },
          bad,
        );
      }
      assert.deepEqual(bad, [], `accepted:\n${bad.join('\n')}`);
    });

    it('freshness: no nonce fails unless skipped; the skipped verdict says so', async () => {
      const s = scenarios[0]!;
      const v = await verifyExecution(undefined, { response: s.a.response, allowSimulated: true });
      assert.ok(failed(v).includes('binding.nonce'), failed(v).join());
      const skipped = await verifyExecution(undefined, {
        response: s.a.response,
        allowSimulated: true,
        freshness: 'skip',
      });
      assert.equal(skipped.ok, true, failed(skipped).join());
      assert.match(skipped.checks.find((c) => c.id === 'binding.nonce')!.detail, /freshness NOT checked/);
      // the request's nonce counts; another request's does not
      const fromReq = await verifyExecution(undefined, {
        response: s.a.response,
        request: s.a.request,
        allowSimulated: true,
      });
      assert.equal(fromReq.ok, true, failed(fromReq).join());
      const otherReq = await verifyExecution(undefined, {
        response: s.a.response,
        request: s.b.request,
        allowSimulated: true,
      });
      assert.ok(failed(otherReq).includes('binding.request'));
    });

    it('the saved request: every field it sets, mutated, fails binding.request; proto names read too', async () => {
      const s = scenarios[0]!;
      const check = (request: unknown) =>
        verifyExecution(undefined, { response: s.a.response, request, allowSimulated: true });
      assert.equal((await check(s.a.request)).ok, true);
      // proto (snake_case) field names: the same request, as the service's JSON codec also reads it
      const snake = (o: unknown): unknown =>
        Array.isArray(o)
          ? o.map(snake)
          : o && typeof o === 'object'
            ? Object.fromEntries(
                Object.entries(o).map(([k, v]) => [
                  k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
                  snake(v),
                ]),
              )
            : o;
      const v = await check(snake(s.a.request));
      assert.equal(v.ok, true, failed(v).join());
      // Not part of the claim (the service does not act on them): the request's version and timestamp.
      const unbound = /^execution\.(?:version|timestamp)/;
      const accepted: string[] = [];
      let tried = 0;
      for (const [path, leaf] of leaves(s.a.request)) {
        const name = path.join('.');
        if (unbound.test(name)) continue;
        tried++;
        const r = await check(setAt(s.a.request, path, mutateLeaf(path, leaf, tried)));
        if (!failed(r).includes('binding.request')) accepted.push(`${name}: ${JSON.stringify(leaf)}`);
      }
      assert.ok(tried >= 10, `only ${tried} request fields`);
      assert.deepEqual(accepted, [], `request mutations not caught:\n${accepted.join('\n')}`);
      // A field the request schema does not have, and a request the service would refuse, are named.
      const unknown = await check({ ...(s.a.request as object), extra: 1 });
      assert.match(unknown.checks.find((c) => c.id === 'binding.request')!.detail, /cannot read the request/);
      const ex = (s.a.request as { execution: Record<string, unknown> }).execution;
      const conflict = await check({ ...(s.a.request as object), execution: { ...ex, inputs: ['1'] } });
      assert.match(conflict.checks.find((c) => c.id === 'binding.request')!.detail, /INPUTS_CONFLICT/);
    });

    it('bad input: malformed JSON, an older claim version, missing or unknown fields are named', async () => {
      const s = scenarios[0]!;
      const tree = explode(s.a.response);
      const cases: Array<[Json | string, RegExp]> = [
        [
          implode(setAt(tree, ['result', 'attestation', 'v'], 2)),
          /attestation\.v: unsupported envelope version 2/,
        ],
        [
          implode(setAt(tree, ['result', 'attestation', 'claim', 'v'], 2)),
          /claim\.v: unsupported claim version 2/,
        ],
        [
          implode(setAt(tree, ['result', 'attestation', 'claim', 'surprise'], 1)),
          /claim\.surprise: unknown field/,
        ],
        [implode(setAt(tree, ['result', 'surprise'], 1)), /response\.result\.surprise: unknown field/],
        [
          { ...s.a.response, result: { ...(s.a.response.result as Json), attestation: '{"format":' } },
          /not JSON/,
        ],
      ];
      const noStatus = structuredClone(tree);
      delete ((noStatus.result as Json).attestation as Json & { claim: Json }).claim.status;
      cases.push([implode(noStatus), /claim\.status: missing/]);
      for (const [resp, re] of cases) {
        const v = await verifySample(s.a, resp as Json);
        assert.equal(v.ok, false);
        assert.match(v.checks.find((c) => c.id === 'binding.envelope')?.detail ?? '', re);
      }
    });
  });
