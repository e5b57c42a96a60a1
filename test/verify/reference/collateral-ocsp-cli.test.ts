/**
 * The CLI end to end with NVIDIA OCSP in bundles, on the REAL Hopper evidence (test/data/nvidia):
 * `collateral fetch --for evidence.json` against a loopback stub (RIM service and OCSP responder), then
 * `verify --gpu-evidence … --collateral bundle.json` through the CLI's router with no network.
 * Only NVIDIA can sign a good response for the real device chain, so here the stub's answers are
 * refused on fetch (a forged signature, tryLater, HTTP 404) and the offline verification shows the
 * negative paths: a missing item and a forged item fail 'nvidia.chain.revocation' with their codes.
 * The positive path (good responses, and a revoked one bundled, reported and failing) runs through the
 * CLI with the real evidence's chain swapped for a SYNTHETIC one (test PKI): the revocation check
 * passes on it while the verdict fails on the unpinned root, as it must.
 * The last case runs the installed command (bin/wasmvm-tee.js, which loads dist/: `npm run build` first).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCertChain } from '../../../src/verify/nvidia/certs.ts';
import { certId } from '../../../src/verify/nvidia/ocsp.ts';
import type { CollateralBundle } from '../../../src/verify/reference/collateral.ts';
import { makeItem } from '../../../src/verify/reference/collateral-fetch.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { runCli } from '../../cli/run-in-process.ts';
import { hopperEvidence } from '../nvidia/helpers.ts';
import { certIdOfRequest, NOW, ocspResponse, pki } from '../nvidia/ocsp-pki.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function findCheck(v: Verdict, id: string): { outcome: string; detail: string } | undefined {
  const c = v.checks.find((x) => x.id === id);
  if (c) return c;
  for (const p of v.parts ?? []) {
    const r = findCheck(p, id);
    if (r) return r;
  }
  return undefined;
}

describe('collateral fetch / verify --gpu-evidence --collateral: NVIDIA OCSP, CLI end to end', async () => {
  const p = await pki();
  const e = hopperEvidence();
  const real = parseCertChain(Buffer.from(e.certificate, 'base64').toString('latin1'));
  // the OCSP targets of the real chain: BROM (by the Provisioner ICA), ICA (by Identity), Identity (by the CA)
  const ids = [1, 2, 3].map((i) => certId(real[i]!, real[i + 1]!));
  // a synthetic chain (test PKI) answered by the stub with good / revoked responses
  const synth = [p.leaf, p.ica, p.dev, p.root];
  const icaId = certId(p.ica, p.dev);
  const devId = certId(p.dev, p.root);
  let devStatus: 'good' | 'revoked' = 'good';
  const answers = new Map<string, () => Uint8Array>([
    [hex(icaId), () => ocspResponse(icaId, 'good', p.devKey)],
    [hex(devId), () => ocspResponse(devId, devStatus, p.rootKey)],
  ]);
  let server: Server;
  let base: string;
  const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-ocsp-cli-'));
  const ev = join(tmp, 'evidence.json');
  const bundleFile = join(tmp, 'bundle.json');
  writeFileSync(ev, JSON.stringify([e]));
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST') {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"message":"RIM_NOT_FOUND"}');
          return;
        }
        const id = hex(certIdOfRequest(new Uint8Array(Buffer.concat(chunks))));
        const synthetic = answers.get(id);
        if (synthetic) {
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(Buffer.from(synthetic()));
        } else if (id === hex(ids[0]!)) {
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(Buffer.from(ocspResponse(ids[0]!, 'good', p.otherKey))); // not NVIDIA's key
        } else if (id === hex(ids[1]!)) {
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(Buffer.from(ocspResponse(ids[1]!, 'good', p.otherKey, { respStatus: 3 }))); // tryLater
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const verify = async (bundle: string, extra: string[] = [], at = NOW, evidence = ev) => {
    const r = await runCli([
      'verify',
      '--gpu-evidence',
      evidence,
      '--nonce',
      e.nonce,
      '--collateral',
      bundle,
      '--at',
      at.toISOString(),
      '--json',
      ...extra,
    ]);
    return { code: r.code, v: JSON.parse(r.out) as Verdict };
  };

  it('fetch asks the responder for each device-chain certificate and refuses what does not verify', async () => {
    const r = await runCli([
      'collateral',
      'fetch',
      '--for',
      ev,
      '--out',
      bundleFile,
      '--no-cache',
      '--rim-service',
      `${base}/v1/rim`,
      '--ocsp-responder',
      `${base}/ocsp`,
      '--now',
      NOW.toISOString(),
      '--json',
    ]);
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out) as { items: unknown[]; failures: string[]; ocsp: unknown[] };
    assert.deepEqual(j.items, []);
    assert.deepEqual(j.ocsp, []);
    const ocspFailures = j.failures.filter((f) => /OCSP|ocsp|nvidia-ocsp/.test(f));
    assert.equal(ocspFailures.length, 3, j.failures.join('\n'));
    assert.match(
      ocspFailures[0]!,
      /^COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp '[0-9a-f]+': OCSP response not signed by the issuer/,
    );
    assert.match(
      ocspFailures[1]!,
      /^COLLATERAL_MALFORMED: OCSP response for 'NVIDIA GH100 Provisioner ICA 1'.*responseStatus 3/,
    );
    assert.match(ocspFailures[2]!, /^COLLATERAL_FETCH_FAILED: POST .* for 'NVIDIA GH100 Identity'.*HTTP 404/);
    const b = JSON.parse(readFileSync(bundleFile, 'utf8')) as CollateralBundle;
    assert.deepEqual(b.items, []);
  });

  it('verify --collateral: a missing item fails the revocation check, naming the certificates', async () => {
    const { code, v } = await verify(bundleFile, ['--allow-not-checked', 'collateral.nvidia-rim.driver']);
    assert.equal(code, 1);
    const c = findCheck(v, 'nvidia.chain.revocation')!;
    assert.equal(c.outcome, 'fail');
    assert.match(
      c.detail,
      /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle \(created .*\) at 2026-06-29T02:10:00\.000Z/,
    );
    for (const [cn, i] of [
      ['GH100 A01 GSP BROM', 0],
      ['NVIDIA GH100 Provisioner ICA 1', 1],
      ['NVIDIA GH100 Identity', 2],
    ] as const)
      assert.match(
        c.detail,
        new RegExp(
          `'${cn}' \\(serial [0-9A-F]+, issued by '[^']+'\\): COLLATERAL_MISSING_ITEM: .*\\(id ${hex(ids[i]!)}\\)`,
        ),
      );
    // the text output says the same
    const t = await runCli([
      'verify',
      '--gpu-evidence',
      ev,
      '--nonce',
      e.nonce,
      '--collateral',
      bundleFile,
      '--at',
      NOW.toISOString(),
    ]);
    assert.equal(t.code, 1);
    assert.match(t.out, /FAIL nvidia\.chain\.revocation: COLLATERAL_MISSING_ITEM: /);
  });

  it('verify --collateral: an item for the real CertID signed by another key fails with COLLATERAL_SIGNATURE_INVALID', async () => {
    const b = JSON.parse(readFileSync(bundleFile, 'utf8')) as CollateralBundle;
    const forged = [0, 1, 2].map((i) =>
      makeItem('nvidia-ocsp', hex(ids[i]!), 'forged', ocspResponse(ids[i]!, 'good', p.otherKey)),
    );
    const f = join(tmp, 'forged.json');
    writeFileSync(f, JSON.stringify({ ...b, items: forged }));
    const { code, v } = await verify(f);
    assert.equal(code, 1);
    const c = findCheck(v, 'nvidia.chain.revocation')!;
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^COLLATERAL_SIGNATURE_INVALID: /);
    assert.equal(c.detail.match(/COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp/g)?.length, 3);
    // an expired item: at a time past its nextUpdate
    const late = await verify(f, [], new Date(NOW.getTime() + 3 * 86400_000));
    assert.match(findCheck(late.v, 'nvidia.chain.revocation')!.detail, /^COLLATERAL_EXPIRED: /);
  });

  it('--allow-not-checked nvidia.chain.revocation leaves revocation not checked (a bundle without OCSP items)', async () => {
    const { v } = await verify(bundleFile, ['--allow-not-checked', 'nvidia.chain.revocation']);
    const c = findCheck(v, 'nvidia.chain.revocation')!;
    assert.equal(c.outcome, 'skip');
    assert.match(c.detail, /not checked/);
  });

  it('the installed command (bin/wasmvm-tee.js, dist/) verifies offline with the bundle the same way', () => {
    const bin = fileURLToPath(new URL('../../../bin/wasmvm-tee.js', import.meta.url));
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'verify',
        '--gpu-evidence',
        ev,
        '--nonce',
        e.nonce,
        '--collateral',
        bundleFile,
        '--at',
        NOW.toISOString(),
        '--json',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1, r.stderr);
    const c = findCheck(JSON.parse(r.stdout) as Verdict, 'nvidia.chain.revocation')!;
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
  });

  it('the positive path through the CLI: the real evidence with a SYNTHETIC device chain in its place', async () => {
    // NVIDIA cannot be impersonated, so the chain is swapped for the test PKI's: the verdict fails on
    // the chain's root and the SPDM signature, but the revocation check runs on the bundle's responses
    const sev = join(tmp, 'synthetic-evidence.json');
    const pem = synth.map((c) => c.parsed.toString('pem')).join('\n');
    writeFileSync(sev, JSON.stringify([{ ...e, certificate: Buffer.from(pem).toString('base64') }]));
    const fetchArgs = (out: string) => [
      'collateral',
      'fetch',
      '--for',
      sev,
      '--out',
      out,
      '--no-cache',
      '--rim-service',
      `${base}/v1/rim`,
      '--ocsp-responder',
      `${base}/ocsp`,
      '--now',
      NOW.toISOString(),
    ];
    const goodFile = join(tmp, 'synthetic-good.json');
    const f = await runCli(fetchArgs(goodFile));
    assert.equal(f.code, 1, f.err); // the RIMs are not on the stub
    assert.match(f.out, /fetched nvidia-ocsp [0-9a-f]+ \(valid until 2026-06-30T02:10:00\.000Z\)/);
    assert.doesNotMatch(f.err, /warning: OCSP/);
    const b = JSON.parse(readFileSync(goodFile, 'utf8')) as CollateralBundle;
    assert.deepEqual(
      b.items.map((i) => `${i.kind}:${i.id}`),
      [`nvidia-ocsp:${hex(icaId)}`, `nvidia-ocsp:${hex(devId)}`],
    );
    const g = await verify(goodFile, [], NOW, sev);
    assert.equal(g.code, 1); // not NVIDIA's chain
    const c = findCheck(g.v, 'nvidia.chain.revocation')!;
    assert.equal(c.outcome, 'pass', c.detail);
    assert.match(c.detail, /'Test ICA' \(serial 5151, issued by 'Test Device'\): good/);
    assert.equal(findCheck(g.v, 'nvidia.chain.root-pinned')!.outcome, 'fail');

    // revoked: bundled, reported on fetch (stderr and --json), and the verification fails on it
    devStatus = 'revoked';
    const revokedFile = join(tmp, 'synthetic-revoked.json');
    const r = await runCli([...fetchArgs(revokedFile), '--json']);
    const t = await runCli(fetchArgs(join(tmp, 'synthetic-revoked-text.json')));
    devStatus = 'good';
    const j = JSON.parse(r.out) as { items: unknown[]; ocsp: { status: string; certificate: string }[] };
    assert.equal(j.items.length, 2);
    assert.deepEqual(
      j.ocsp.map((o) => o.status),
      ['good', 'revoked'],
    );
    assert.match(
      t.err,
      /warning: OCSP says REVOKED for 'Test Device' \(serial 4242, issued by 'Test Root'\): revoked at 2025-01-01T00:00:00\.000Z/,
    );
    const rv = await verify(revokedFile, [], NOW, sev);
    const rc = findCheck(rv.v, 'nvidia.chain.revocation')!;
    assert.equal(rc.outcome, 'fail');
    assert.match(rc.detail, /^OCSP_REVOKED: .*'Test Device'.*: OCSP_REVOKED: revoked at 2025-01-01/);
  });
});
