/**
 * The CLI end to end with the RIM signing chains' OCSP ('nvidia.rim.chain.revocation'), on REAL RIMs
 * and the REAL Hopper CoCo evidence (test/data/nvidia/rim): `collateral fetch` against a loopback stub
 * (RIM service and OCSP responder), then `verify --rim / --gpu-evidence … --collateral` with no network,
 * and `verify --rim --ocsp --online` with a stub network. Only NVIDIA can sign a good response for the
 * real chains, so the stub's answers are signed by another key: fetch refuses them, and the offline
 * verification shows the negative paths (missing, forged); the positive path is
 * test/verify/nvidia/rim-ocsp.test.ts (a synthetic chain, through the library).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main as verifyRimMain } from '../../../src/cli/verify-rim.ts';
import { parseSpdmEvidence } from '../../../src/formats/nvidia/spdm.ts';
import { commonName, parseCertChain } from '../../../src/verify/nvidia/certs.ts';
import { certId } from '../../../src/verify/nvidia/ocsp.ts';
import { parseRim } from '../../../src/verify/nvidia/rim.ts';
import type { CollateralBundle } from '../../../src/verify/reference/collateral.ts';
import { makeItem } from '../../../src/verify/reference/collateral-fetch.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { runCli } from '../../cli/run-in-process.ts';
import { certIdOfRequest, ocspResponse, pki } from '../nvidia/ocsp-pki.ts';

const RIM_DIR = new URL('../../data/nvidia/rim/', import.meta.url);
const rimPath = (n: string) => new URL(n, RIM_DIR).pathname;
const rimText = (n: string) => readFileSync(new URL(n, RIM_DIR), 'utf8');
const VBIOS = '1010_0200_882_960074001A_PROD.swidtag';
const DRIVER = 'Driver_RIM_test_no_gpu.swidtag';
const VBIOS_ID = 'NV_GPU_VBIOS_1010_0200_882_960074001A';
const DRIVER_ID = 'NV_GPU_DRIVER_GH100_580.95.05';
const AT = new Date('2024-06-01T00:00:00Z');
const REV = 'nvidia.rim.chain.revocation';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function findChecks(v: Verdict, id: string): { outcome: string; detail: string }[] {
  return [...v.checks.filter((x) => x.id === id), ...(v.parts ?? []).flatMap((p) => findChecks(p, id))];
}

/** The OCSP targets of a real RIM's chain: [name, CertID] for the L4 signer, L3 and CA (not the root). */
function rimTargets(file: string) {
  const c = parseCertChain(
    parseRim(rimText(file))
      .certificates.map((x) => x.toString())
      .join('\n'),
  );
  return [0, 1, 2].map((i) => ({ cn: commonName(c[i]!), id: certId(c[i]!, c[i + 1]!) }));
}

function cocoEvidence() {
  let bytes = Buffer.from(rimText('hopper_coco_report1.txt').trim(), 'hex');
  bytes = bytes.subarray(0, bytes.length - 1); // the stray trailing byte (test/data/nvidia/rim/README.md)
  const spdm = parseSpdmEvidence(new Uint8Array(bytes));
  return {
    arch: 'HOPPER',
    evidence: bytes.toString('base64'),
    certificate: Buffer.from(rimText('hopper_coco_certs1.txt')).toString('base64'),
    nonce: Buffer.from(spdm.request.nonce).toString('hex'),
  };
}

describe('RIM signing chain OCSP through the CLI (real RIMs)', async () => {
  const p = await pki();
  const vt = rimTargets(VBIOS);
  const dt = rimTargets(DRIVER);
  const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-rim-ocsp-cli-'));
  const empty = join(tmp, 'empty.json');
  writeFileSync(
    empty,
    JSON.stringify({ format: 'wasmvm-tee/collateral-bundle/v1', createdAt: AT.toISOString(), items: [] }),
  );
  const forgedBundle = join(tmp, 'forged.json');
  const forged = (id: Uint8Array) =>
    ocspResponse(id, 'good', p.otherKey, { thisUpdate: AT, nextUpdate: new Date(AT.getTime() + 86400_000) });
  writeFileSync(
    forgedBundle,
    JSON.stringify({
      format: 'wasmvm-tee/collateral-bundle/v1',
      createdAt: AT.toISOString(),
      items: vt.map((t) => makeItem('nvidia-ocsp', hex(t.id), 'forged', forged(t.id))),
    }),
  );
  let server: Server;
  let base: string;
  const asked: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST') {
          const id = certIdOfRequest(new Uint8Array(Buffer.concat(chunks)));
          asked.push(hex(id));
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(Buffer.from(forged(id))); // not NVIDIA's key
          return;
        }
        const id = decodeURIComponent((req.url ?? '').replace(/^\/v1\/rim\//, ''));
        const file = id === VBIOS_ID ? VBIOS : id === DRIVER_ID ? DRIVER : undefined;
        if (!file) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"message":"RIM_NOT_FOUND"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ id, rim: Buffer.from(rimText(file)).toString('base64'), rim_format: 'SWID' }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const verifyRimCli = async (extra: string[]) => {
    const r = await runCli([
      'verify',
      '--rim',
      rimPath(VBIOS),
      '--now',
      AT.toISOString(),
      '--json',
      ...extra,
    ]);
    return { ...r, v: r.code === 2 ? undefined : (JSON.parse(r.out) as Verdict) };
  };

  it('verify --rim --collateral EMPTY: fails naming each certificate of the real chain; --offline passes', async () => {
    const r = await verifyRimCli(['--collateral', empty]);
    assert.equal(r.code, 1, r.err);
    const [c] = findChecks(r.v!, REV);
    assert.equal(c!.outcome, 'fail');
    assert.match(c!.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
    for (const t of vt)
      assert.match(
        c!.detail,
        new RegExp(
          `'${t.cn}' \\(serial [0-9A-F]+, issued by '[^']+'\\): COLLATERAL_MISSING_ITEM: .*\\(id ${hex(t.id)}\\)`,
        ),
      );
    const off = await verifyRimCli(['--collateral', empty, '--offline']);
    assert.equal(off.code, 0, off.out);
    assert.equal(findChecks(off.v!, REV)[0]!.outcome, 'skip');
    // the text output says the same
    const t = await runCli([
      'verify',
      '--rim',
      rimPath(VBIOS),
      '--now',
      AT.toISOString(),
      '--collateral',
      empty,
    ]);
    assert.equal(t.code, 1);
    assert.match(t.out, /FAIL nvidia\.rim\.chain\.revocation: COLLATERAL_MISSING_ITEM: /);
  });

  it('verify --rim --collateral with responses signed by another key: COLLATERAL_SIGNATURE_INVALID', async () => {
    const r = await verifyRimCli(['--collateral', forgedBundle]);
    assert.equal(r.code, 1);
    const [c] = findChecks(r.v!, REV);
    assert.match(c!.detail, /^COLLATERAL_SIGNATURE_INVALID: /);
    assert.equal(c!.detail.match(/: COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp/g)?.length, 3);
  });

  it('usage: --ocsp needs --online; --online is not with --offline or --collateral', async () => {
    assert.equal((await verifyRimCli(['--ocsp'])).code, 2);
    assert.equal((await verifyRimCli(['--ocsp', '--online', '--offline'])).code, 2);
    assert.equal((await verifyRimCli(['--ocsp', '--online', '--collateral', empty])).code, 2);
  });

  it('verify --rim --ocsp --online: asks for each certificate, the signing leaf included', async () => {
    const urls: string[] = [];
    const ids: string[] = [];
    let out = '';
    const code = await verifyRimMain(
      ['--rim', rimPath(VBIOS), '--now', AT.toISOString(), '--ocsp', '--online', '--json'],
      {
        out: (s) => {
          out += s;
        },
        err: () => {},
        fetch: (async (url: string, init: { body: Uint8Array }) => {
          urls.push(String(url));
          const id = certIdOfRequest(new Uint8Array(init.body));
          ids.push(hex(id));
          return new Response(Buffer.from(forged(id)));
        }) as unknown as typeof fetch,
      },
    );
    assert.equal(code, 1);
    assert.deepEqual(
      ids,
      vt.map((t) => hex(t.id)),
    );
    const [c] = findChecks(JSON.parse(out) as Verdict, REV);
    assert.match(c!.detail, /^RIM_REVOCATION_FAILED: OCSP: /);
    assert.match(c!.detail, /not signed by the issuer or an authorised responder/);
  });

  it('collateral fetch asks OCSP for each RIM chain certificate once; verify --gpu-evidence --collateral checks them', async () => {
    const ev = join(tmp, 'ev.json');
    writeFileSync(ev, JSON.stringify([cocoEvidence()]));
    const bundleFile = join(tmp, 'bundle.json');
    asked.length = 0;
    const f = await runCli([
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
      AT.toISOString(),
      '--json',
    ]);
    assert.equal(f.code, 1, f.err);
    const j = JSON.parse(f.out) as { items: { kind: string; id: string }[]; failures: string[] };
    assert.deepEqual(j.items.map((i) => `${i.kind}:${i.id}`).sort(), [
      `nvidia-rim:${DRIVER_ID}`,
      `nvidia-rim:${VBIOS_ID}`,
    ]);
    // every RIM chain certificate asked once (the L3 / CA shared by both chains too), none twice
    const rimIds = [...new Set([...vt, ...dt].map((t) => hex(t.id)))];
    for (const id of rimIds) assert.equal(asked.filter((a) => a === id).length, 1, id);
    assert.equal(new Set(asked).size, asked.length);
    assert.equal(asked.length, rimIds.length + 3); // + the device chain's BROM, ICA, Identity
    // refused (another key): named with the RIM chain certificate
    for (const t of [...vt, ...dt])
      assert.ok(
        j.failures.some((x) => x.startsWith('COLLATERAL_SIGNATURE_INVALID') && x.includes(hex(t.id))),
        `${t.cn}: ${j.failures.join('\n')}`,
      );
    // offline with the bundle (both RIMs, no OCSP items): the RIM chains' revocation fails ...
    const args = [
      'verify',
      '--gpu-evidence',
      ev,
      '--no-nonce',
      '--collateral',
      bundleFile,
      '--at',
      AT.toISOString(),
      '--json',
    ];
    const v = await runCli(args);
    assert.equal(v.code, 1);
    const rev = findChecks(JSON.parse(v.out) as Verdict, REV);
    assert.equal(rev.length, 2);
    for (const c of rev) assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
    // ... and --offline leaves it not checked
    const o = await runCli([...args, '--offline']);
    for (const c of findChecks(JSON.parse(o.out) as Verdict, REV)) assert.equal(c.outcome, 'skip');
    const b = JSON.parse(readFileSync(bundleFile, 'utf8')) as CollateralBundle;
    assert.equal(b.items.filter((i) => i.kind === 'nvidia-ocsp').length, 0);
  });
});
