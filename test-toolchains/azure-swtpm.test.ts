/**
 * The azure-vtpm provider against a real software TPM (swtpm, Debian package `swtpm`): the test
 * provisions what Azure's paravisor provisions — an RSA-2048 restricted signing key persisted at
 * 0x81000003 and NV index 0x01400001 holding an HCL report (the recorded azure-cvm-tooling SNP report,
 * runtime claims rewritten to name this TPM's key, REPORT_DATA set to their hash; libtpms caps an NV
 * index at 2048 bytes, which that report fits) — then runs the provider end to end over swtpm's TCP
 * command channel and checks the evidence with the verifier: every vTPM link holds (AK, quote signature,
 * nonce, PCR digest); the SNP signature does not (its REPORT_DATA was rewritten), as it must not.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseHclReport, TPM_ALG, TpmReader, TpmWriter, tpmPublicToJwk } from '../src/formats/index.ts';
import { AzureVtpmProvider, TpmClient, type TpmTransport } from '../src/tee/azure/index.ts';
import { verifyAzureEvidence } from '../src/verify/index.ts';
import { rsaAkPublicArea } from '../test/formats/tpm-templates.ts';

const have = spawnSync('swtpm', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-swtpm-'));
let proc: ChildProcess | undefined;
let port = 0;

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** swtpm's TCP data channel: raw TPM command in, raw response out (size from the header). */
class TcpTransport implements TpmTransport {
  constructor(private readonly port: number) {}
  send(cmd: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 6 && buf.length >= buf.readUInt32BE(2)) {
          s.destroy();
          resolve(new Uint8Array(buf));
        }
      });
      s.on('error', reject);
      s.connect(this.port, '127.0.0.1', () => s.write(cmd));
    });
  }
}

const PW = new TpmWriter().u32(9).u32(0x40000009).u16(0).u8(0).u16(0).done();
function cmd(code: number, handles: number[], params: Uint8Array): Uint8Array {
  const body = new TpmWriter();
  for (const h of handles) body.u32(h);
  body.raw(PW).raw(params);
  const b = body.done();
  return new TpmWriter()
    .u16(0x8002)
    .u32(10 + b.length)
    .u32(code)
    .raw(b)
    .done();
}
async function call(t: TpmTransport, name: string, c: Uint8Array): Promise<TpmReader> {
  const r = new TpmReader(await t.send(c), name);
  r.u16('tag');
  r.u32('size');
  const rc = r.u32('rc');
  assert.equal(rc, 0, `${name}: rc 0x${rc.toString(16)}`);
  return r;
}

before(async () => {
  if (!have) return;
  port = await freePort();
  const ctrl = await freePort();
  proc = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${dir}`,
      '--server',
      `type=tcp,port=${port}`,
      '--ctrl',
      `type=tcp,port=${ctrl}`,
      '--flags',
      'not-need-init,startup-clear',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = new Socket();
      s.on('error', () => res(false));
      s.connect(port, '127.0.0.1', () => {
        s.destroy();
        res(true);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('swtpm did not start');
});
after(() => {
  proc?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('azure-vtpm provider on swtpm', {
  skip: have ? false : 'swtpm is not installed (apt-get install swtpm)',
}, () => {
  it('provision AK + HCL NV index, then attest end to end', async () => {
    const t = new TcpTransport(port);
    // CreatePrimary (owner): RSA-2048 restricted signing key, RSASSA SHA-256 (the Azure AK template).
    const template = rsaAkPublicArea();
    const cp = await call(
      t,
      'CreatePrimary',
      cmd(
        0x131,
        [0x40000001],
        new TpmWriter().tpm2b(new TpmWriter().u16(0).u16(0).done()).tpm2b(template).u16(0).u32(0).done(),
      ),
    );
    const transient = cp.u32('objectHandle');
    await call(
      t,
      'EvictControl',
      cmd(0x120, [0x40000001, transient], new TpmWriter().u32(0x81000003).done()),
    );
    // The AK's public key, through the provider's own ReadPublic.
    const { pub } = await new TpmClient(t).readPublic(0x81000003);
    const akJwk = tpmPublicToJwk(pub);
    // The HCL report: azure-cvm-tooling's 2048-byte SNP report with claims naming this AK.
    const base = Buffer.from(
      readFileSync(new URL('../test/data/azure/azure-cvm-tooling/hcl-report-snp.bin', import.meta.url)),
    );
    const orig = JSON.parse(Buffer.from(parseHclReport(base).runtimeClaimsBytes).toString());
    const claims = Buffer.from(
      JSON.stringify({
        keys: [{ kid: 'HCLAkPub', key_ops: ['sign'], ...akJwk }],
        'vm-configuration': orig['vm-configuration'],
      }),
    );
    const head = Buffer.from(base.subarray(0, 1236));
    head.writeUInt32LE(1236 + claims.length, 8);
    head.writeUInt32LE(20 + claims.length, 1216);
    head.writeUInt32LE(claims.length, 1232);
    createHash('sha256')
      .update(claims)
      .digest()
      .copy(head, 32 + 0x50);
    const hcl = Buffer.concat([head, claims, Buffer.alloc(2048 - 1236 - claims.length)]);
    assert.equal(hcl.length, 2048);
    // NV_DefineSpace 0x01400001: AUTHREAD | AUTHWRITE | NO_DA, 2048 bytes; NV_Write in 1024-byte chunks.
    const nvPublic = new TpmWriter()
      .u32(0x01400001)
      .u16(TPM_ALG.SHA256)
      .u32(0x02040004)
      .u16(0)
      .u16(hcl.length)
      .done();
    await call(t, 'NV_DefineSpace', cmd(0x12a, [0x40000001], new TpmWriter().u16(0).tpm2b(nvPublic).done()));
    for (let off = 0; off < hcl.length; off += 1024)
      await call(
        t,
        'NV_Write',
        cmd(
          0x137,
          [0x01400001, 0x01400001],
          new TpmWriter()
            .tpm2b(hcl.subarray(off, off + 1024))
            .u16(off)
            .done(),
        ),
      );
    // The provider, end to end.
    const p = await AzureVtpmProvider.open({
      transport: t,
      fetch: async () => ({ ok: false, status: 404, text: async () => '' }),
    });
    assert.equal(p.kind, 'azure-sev-snp');
    const rd = new Uint8Array(64).map((_, i) => 255 - i);
    const ev = await p.getEvidence(rd);
    const doc = JSON.parse(new TextDecoder().decode(ev.report));
    assert.deepEqual(Object.keys(doc.quote.pcrs), ['0', '1', '2', '3', '4', '5', '6', '7']);
    const v = await verifyAzureEvidence(doc, {
      nonce: rd,
      vcek: readFileSync(new URL('../test/data/azure/azure-cvm-tooling/certs.pem', import.meta.url), 'utf8'),
    });
    const out = (id: string) => v.checks.find((c) => c.id === id)?.outcome;
    for (const id of [
      'azure.hcl.format',
      'azure.runtime-claims.binding',
      'azure.ak.key',
      'azure.quote.format',
      'azure.quote.signature',
      'azure.quote.nonce',
      'azure.quote.pcr-bank',
      'azure.quote.pcr-digest',
    ])
      assert.equal(out(id), 'pass', `${id}: ${v.checks.find((c) => c.id === id)?.detail}`);
    assert.equal(out('azure.hw-report'), 'fail');
    assert.ok(createPublicKey({ key: akJwk, format: 'jwk' }));
    // The wrong nonce fails.
    const w = await verifyAzureEvidence(doc, { nonce: new Uint8Array(64) });
    assert.equal(w.checks.find((c) => c.id === 'azure.quote.nonce')?.outcome, 'fail');
  });
});
