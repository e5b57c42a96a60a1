/**
 * The NRAS JWKS in an offline bundle: `collateral fetch --for nras-response.json` against a loopback
 * stub serving the JWKS NVIDIA published on 2026-06-29 (test/data/nvidia), then
 * `verify --nras-response --collateral` with no network; a missing item is "not checked", a key whose
 * x5c chain is broken is COLLATERAL_SIGNATURE_INVALID.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as collateralMain } from '../../../src/cli/collateral.ts';
import { main as nrasMain } from '../../../src/cli/verify-nras.ts';
import type { CollateralBundle, Verdict } from '../../../src/verify/index.ts';
import { NONCE_1GPU } from '../nvidia/helpers.ts';

const d = (n: string) => fileURLToPath(new URL(`../../data/nvidia/${n}`, import.meta.url));
const JWKS = readFileSync(d('nras-jwks-2026-06-29.json'), 'utf8');
const AT = '2026-06-29T02:10:00Z';

function capture() {
  const o = { out: '', err: '' };
  return {
    o,
    io: {
      out: (s: string) => {
        o.out += `${s}\n`;
      },
      err: (s: string) => {
        o.err += `${s}\n`;
      },
      fetch: (async () => {
        throw new Error('no network in verify');
      }) as typeof fetch,
    },
  };
}

describe('NRAS JWKS in collateral bundles', () => {
  let server: Server;
  let url: string;
  const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-nras-bundle-'));
  const bundle = join(tmp, 'b.json');
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JWKS);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const verify = async (b: string, extra: string[] = []) => {
    const c = capture();
    const code = await nrasMain(
      [
        '--nras-response',
        d('nras-v3-h100-1gpu.response.json'),
        '--nonce',
        NONCE_1GPU,
        '--collateral',
        b,
        '--at',
        AT,
        '--json',
        ...extra,
      ],
      c.io,
    );
    return { code, v: JSON.parse(c.o.out) as Verdict };
  };
  const check = (v: Verdict) => v.checks.find((c) => c.id === 'collateral.nvidia.nras-jwks')!;

  it('fetch --for an NRAS answer gathers the JWKS; verify uses it offline', async () => {
    const c = capture();
    const code = await collateralMain(
      [
        'fetch',
        '--for',
        d('nras-v3-h100-1gpu.response.json'),
        '--out',
        bundle,
        '--no-cache',
        '--nras-jwks-url',
        url,
        '--now',
        AT,
      ],
      { out: c.io.out, err: c.io.err },
    );
    assert.equal(code, 0, c.o.err);
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as CollateralBundle;
    assert.deepEqual(
      b.items.map((i) => `${i.kind}:${i.id}`),
      ['nvidia-nras-jwks:nras'],
    );
    assert.equal(b.items[0]!.body, JWKS, 'the JWKS is carried byte for byte');
    const r = await verify(bundle);
    assert.equal(r.code, 0, JSON.stringify(r.v.checks));
    assert.equal(check(r.v).outcome, 'pass');
  });

  it('a bundle without the JWKS: not checked, fails unless allowed; a broken x5c chain: COLLATERAL_SIGNATURE_INVALID', async () => {
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as CollateralBundle;
    const empty = join(tmp, 'empty.json');
    writeFileSync(empty, JSON.stringify({ ...b, items: [] }));
    const m = await verify(empty);
    assert.equal(m.code, 1);
    assert.equal(check(m.v).outcome, 'skip');
    assert.match(check(m.v).detail, /^COLLATERAL_MISSING_ITEM: not checked/);
    assert.equal((await verify(empty, ['--allow-not-checked', 'collateral.nvidia.nras-jwks'])).code, 0);
    // the first key's x5c: its CA certificate replaced by the leaf (not signed by it)
    const set = JSON.parse(JWKS) as { keys: { x5c: string[] }[] };
    set.keys[0]!.x5c = [set.keys[0]!.x5c[0]!, set.keys[0]!.x5c[0]!];
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...b, items: [{ ...b.items[0]!, body: JSON.stringify(set) }] }));
    const s = await verify(broken);
    assert.equal(s.code, 1);
    assert.match(
      check(s.v).detail,
      /^COLLATERAL_SIGNATURE_INVALID: nvidia-nras-jwks 'nras': key '.*': x5c\[0\] is not signed by x5c\[1\]/,
    );
  });
});
