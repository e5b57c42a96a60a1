/**
 * src/tee/configfs-tsm.ts against a fake configfs-tsm directory tree in a tmpdir: real files on disk,
 * with the kernel's side (entry files on mkdir, generation bumps on writes, outblob/auxblob) emulated
 * by a TsmFs over node:fs/promises.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { probeTsmProvider, readTsmReport, TeeError, type TsmFs } from '../../src/tee/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-tsm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface KernelOptions {
  provider?: string;
  /** outblob for an inblob (default: 'OUT' ‖ inblob); undefined: no outblob (reading it fails). */
  outblob?: ((inblob: Uint8Array) => Uint8Array) | undefined;
  auxblob?: Uint8Array;
  /** Another writer bumps the generation this many times, after outblob is read. */
  bumps?: number;
}

/** A fake kernel over a real directory (the root, for the reader): the TsmFs the module drives. */
function fakeKernel(_root: string, o: KernelOptions = {}): TsmFs & { ops: string[] } {
  let bumps = o.bumps ?? 0;
  const ops: string[] = [];
  const outFor = 'outblob' in o ? o.outblob : (b: Uint8Array) => Buffer.concat([Buffer.from('OUT'), b]);
  const gen = async (dir: string, d = 1) => {
    const g = Number((await fsp.readFile(join(dir, 'generation'), 'utf8')).trim());
    await fsp.writeFile(join(dir, 'generation'), `${g + d}\n`);
  };
  return {
    ops,
    access: (p) => fsp.access(p),
    async mkdir(p) {
      ops.push('mkdir');
      await fsp.mkdir(p);
      await fsp.writeFile(join(p, 'provider'), `${o.provider ?? 'sev_guest'}\n`);
      await fsp.writeFile(join(p, 'generation'), '0\n');
    },
    async rmdir(p) {
      ops.push('rmdir');
      await fsp.rm(p, { recursive: true });
    },
    async writeFile(p, d) {
      const name = basename(p);
      ops.push(`write ${name}`);
      if (name !== 'inblob' && name !== 'privlevel') throw new Error(`EACCES ${name}`);
      await fsp.writeFile(p, d);
      await gen(dirname(p));
      if (name === 'inblob') {
        if (outFor) await fsp.writeFile(join(dirname(p), 'outblob'), outFor(new Uint8Array(Buffer.from(d))));
        if (o.auxblob) await fsp.writeFile(join(dirname(p), 'auxblob'), o.auxblob);
      }
    },
    async readFile(p) {
      const name = basename(p);
      ops.push(`read ${name}`);
      const b = new Uint8Array(await fsp.readFile(p));
      if (name === 'outblob' && bumps > 0) {
        bumps--;
        await gen(dirname(p));
      }
      return b;
    },
  };
}

let n = 0;
async function freshRoot(): Promise<string> {
  const root = join(tmp, `report${n++}`);
  await fsp.mkdir(root);
  return root;
}

const rd = new Uint8Array(64).map((_, i) => i);
const isTee = (code: string) => (e: unknown) => e instanceof TeeError && e.code === code;

describe('configfs-tsm (fake tree in a tmpdir)', () => {
  it('one report: privlevel, inblob, generation, outblob, auxblob, generation; the entry is removed', async () => {
    const root = await freshRoot();
    const fs = fakeKernel(root, { auxblob: Uint8Array.of(1, 2, 3) });
    const r = await readTsmReport(rd, { root, fs, provider: 'sev_guest', privlevel: 0, auxblob: true });
    assert.deepEqual(Buffer.from(r.outblob), Buffer.concat([Buffer.from('OUT'), rd]));
    assert.deepEqual(r.auxblob, Uint8Array.of(1, 2, 3));
    assert.deepEqual(fs.ops, [
      'mkdir',
      'read provider',
      'write privlevel',
      'write inblob',
      'read generation',
      'read outblob',
      'read auxblob',
      'read generation',
      'rmdir',
    ]);
    assert.deepEqual(readdirSync(root), []);
  });

  it('without privlevel and auxblob (the TDX shape): one write, generation 1, no auxblob', async () => {
    const root = await freshRoot();
    const fs = fakeKernel(root, { provider: 'tdx_guest', auxblob: Uint8Array.of(9) });
    const r = await readTsmReport(rd, { root, fs, provider: 'tdx_guest', entryPrefix: 'x-tdx' });
    assert.equal(r.auxblob, undefined);
    assert.ok(!fs.ops.includes('read auxblob'));
    assert.deepEqual(readdirSync(root), []);
  });

  it('an empty or missing auxblob gives no auxblob', async () => {
    const root = await freshRoot();
    const r = await readTsmReport(rd, { root, fs: fakeKernel(root), provider: 'sev_guest', auxblob: true });
    assert.equal(r.auxblob, undefined);
    const r2 = await readTsmReport(rd, {
      root,
      fs: fakeKernel(root, { auxblob: new Uint8Array(0) }),
      provider: 'sev_guest',
      auxblob: true,
    });
    assert.equal(r2.auxblob, undefined);
  });

  it('retries with a fresh entry when another writer bumps the generation, then gives up', async () => {
    const root = await freshRoot();
    const fs = fakeKernel(root, { bumps: 2 });
    await readTsmReport(rd, { root, fs, provider: 'sev_guest', backoffMs: () => 0 });
    assert.equal(fs.ops.filter((o) => o === 'mkdir').length, 3);
    assert.equal(fs.ops.filter((o) => o === 'rmdir').length, 3);
    await assert.rejects(
      readTsmReport(rd, {
        root,
        fs: fakeKernel(root, { bumps: 100 }),
        provider: 'sev_guest',
        retries: 2,
        backoffMs: () => 0,
      }),
      (e: unknown) =>
        isTee('TEE_CONCURRENT_WRITER')(e) &&
        /after 3 attempts \(generation 1 → 2, expected 1\)/.test(String((e as Error).message)),
    );
    assert.deepEqual(readdirSync(root), []);
  });

  it('check: a reason retries, a throw aborts (and the entry is still removed)', async () => {
    const root = await freshRoot();
    let calls = 0;
    const r = await readTsmReport(rd, {
      root,
      fs: fakeKernel(root),
      provider: 'sev_guest',
      backoffMs: () => 0,
      check: () => (calls++ < 1 ? 'not yet' : undefined),
    });
    assert.equal(calls, 2);
    assert.ok(r.outblob.length > 0);
    await assert.rejects(
      readTsmReport(rd, {
        root,
        fs: fakeKernel(root),
        provider: 'sev_guest',
        check: () => {
          throw new TeeError('TEE_BAD_EVIDENCE', 'no');
        },
      }),
      isTee('TEE_BAD_EVIDENCE'),
    );
    assert.deepEqual(readdirSync(root), []);
  });

  it('errors: bad REPORT_DATA, missing root, wrong provider, unreadable outblob', async () => {
    const root = await freshRoot();
    await assert.rejects(
      readTsmReport(new Uint8Array(32), { root, fs: fakeKernel(root), provider: 'sev_guest' }),
      isTee('TEE_BAD_REPORT_DATA'),
    );
    const gone = join(tmp, 'no-such-root');
    await assert.rejects(
      readTsmReport(rd, { root: gone, fs: fakeKernel(gone), provider: 'sev_guest' }),
      isTee('TEE_UNAVAILABLE'),
    );
    await assert.rejects(
      readTsmReport(rd, { root, fs: fakeKernel(root, { provider: 'tdx_guest' }), provider: 'sev_guest' }),
      (e: unknown) =>
        isTee('TEE_WRONG_PROVIDER')(e) && /'tdx_guest', expected 'sev_guest'/.test((e as Error).message),
    );
    await assert.rejects(
      readTsmReport(rd, {
        root,
        fs: fakeKernel(root, { outblob: undefined }),
        provider: 'sev_guest',
        outblobHint: 'is the QGS reachable?',
      }),
      (e: unknown) =>
        isTee('TEE_FIRMWARE_ERROR')(e) &&
        /^reading outblob failed \(is the QGS reachable\?\)/.test((e as Error).message),
    );
    assert.deepEqual(readdirSync(root), []);
  });

  it('probeTsmProvider: the provider of a fresh entry, undefined without the tree; the probe entry is removed', async () => {
    const root = await freshRoot();
    assert.equal(await probeTsmProvider(root, fakeKernel(root, { provider: 'tdx_guest' })), 'tdx_guest');
    assert.deepEqual(readdirSync(root), []);
    assert.equal(await probeTsmProvider(join(tmp, 'absent'), fakeKernel(join(tmp, 'absent'))), undefined);
  });
});
