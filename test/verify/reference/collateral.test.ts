/**
 * collateral fetch (online path, against a loopback stub of NVIDIA's RIM service) and verify
 * --collateral (offline path). The stub answers in the RIM service's JSON shape ({id, rim: base64
 * of the SWID XML, ...}) with the REAL RIM file from the test vectors; no recorded HTTP exchange of the
 * service is available here, so the envelope is built by the stub, the RIM inside is NVIDIA's.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main as collateralMain } from '../../../src/cli/collateral.ts';
import { main as verifyRimMain } from '../../../src/cli/verify-rim.ts';
import { parseSpdmEvidence } from '../../../src/formats/nvidia/spdm.ts';
import { parseCollateralBundle } from '../../../src/verify/reference/collateral.ts';

const RIM_DIR = new URL('../../data/nvidia/rim/', import.meta.url);
const rimText = (n: string) => readFileSync(new URL(n, RIM_DIR), 'utf8');
const VBIOS_ID = 'NV_GPU_VBIOS_1010_0200_882_960074001A';

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

async function run(main: typeof collateralMain, args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
  });
  return { code, out, err };
}

describe('offline collateral bundles', () => {
  let server: Server;
  let base: string;
  const requested: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-collateral-'));
  before(async () => {
    server = createServer((req, res) => {
      const id = decodeURIComponent((req.url ?? '').replace(/^\/v1\/rim\//, ''));
      requested.push(id);
      if (id === VBIOS_ID) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            rim: Buffer.from(rimText('1010_0200_882_960074001A_PROD.swidtag')).toString('base64'),
            rim_format: 'SWID',
          }),
        );
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'RIM_NOT_FOUND' }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/rim`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('fetch gathers the RIMs named by the signed evidence; verify --collateral uses them offline', async () => {
    const ev = join(tmp, 'ev.json');
    writeFileSync(ev, JSON.stringify([cocoEvidence()]));
    const bundleFile = join(tmp, 'bundle.json');
    const f = await run(collateralMain, [
      'fetch',
      '--for',
      ev,
      '--out',
      bundleFile,
      '--rim-service',
      base,
      // hermetic: no OCSP responder (nothing listens on port 9); collateral-ocsp*.test.ts cover OCSP
      '--ocsp-responder',
      'http://127.0.0.1:9/',
      '--now',
      '2024-06-01T00:00:00Z',
      '--no-cache',
    ]);
    // the driver RIM for 580.95.05 is not on the stub: exit 1, the bundle holds the VBIOS RIM
    assert.equal(f.code, 1, f.out + f.err);
    assert.deepEqual(requested.sort(), ['NV_GPU_DRIVER_GH100_580.95.05', VBIOS_ID]);
    assert.match(f.err, /COLLATERAL_FETCH_FAILED: .*HTTP 404/);
    const bundle = parseCollateralBundle(JSON.parse(readFileSync(bundleFile, 'utf8')));
    assert.equal(bundle.items.length, 1);
    assert.equal(bundle.items[0]!.id, VBIOS_ID);
    assert.equal(bundle.items[0]!.notAfter, '2025-09-05T08:35:22.000Z'); // the L4 signer's notAfter

    const allow = ['--offline', '--allow-not-checked', 'nvidia.rim.driver'];
    // missing driver RIM: named, not checked, fails by default
    const v = await run(verifyRimMain, [
      '--gpu-evidence',
      ev,
      '--no-nonce',
      '--collateral',
      bundleFile,
      '--at',
      '2024-06-01T00:00:00Z',
      '--offline',
      '--json',
    ]);
    assert.equal(v.code, 1);
    const j = JSON.parse(v.out);
    assert.deepEqual(j.parts[0].fields.notChecked, ['collateral.nvidia-rim.driver']);
    assert.match(JSON.stringify(j), /COLLATERAL_MISSING_ITEM/);
    // with the missing item allowed: the VBIOS RIM from the bundle is used; index 9 still mismatches
    const v2 = await run(verifyRimMain, [
      '--gpu-evidence',
      ev,
      '--no-nonce',
      '--collateral',
      bundleFile,
      '--at',
      '2024-06-01T00:00:00Z',
      ...allow,
      '--allow-not-checked',
      'collateral.nvidia-rim.driver',
    ]);
    assert.equal(v2.code, 1);
    assert.match(v2.out, /PASS collateral\.nvidia-rim\.vbios/);
    assert.match(v2.out, /RIM_MEASUREMENT_MISMATCH: 11 of 12/);
    // at a time past the item's validity: COLLATERAL_EXPIRED
    const v3 = await run(verifyRimMain, [
      '--gpu-evidence',
      ev,
      '--no-nonce',
      '--collateral',
      bundleFile,
      '--at',
      '2026-01-01T00:00:00Z',
      ...allow,
    ]);
    assert.equal(v3.code, 1);
    assert.match(v3.out, /FAIL collateral\.nvidia-rim\.vbios: COLLATERAL_EXPIRED/);
    // a malformed bundle is an input error
    const badFile = join(tmp, 'bad.json');
    writeFileSync(badFile, JSON.stringify({ ...bundle, extra: 1 }));
    const v4 = await run(verifyRimMain, ['--gpu-evidence', ev, '--no-nonce', '--collateral', badFile]);
    assert.equal(v4.code, 2);
    assert.match(v4.err, /unknown key 'extra'/);
  });
});
