/** TdxProvider against a fake configfs-tsm tree (in memory), including concurrent writers. */
import * as assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TeeError } from '../../../src/tee/index.ts';
import { probeTdx, TdxProvider, type TdxTsmFs } from '../../../src/tee/tdx/index.ts';
import { buildSimulatedTdxQuote, createTdxPki, type TdxPki } from '../../../src/tee/tdx/simulated.ts';
import { parseTdxQuote } from '../../../src/verify/tdx/index.ts';

interface Entry {
  generation: number;
  inblob?: Uint8Array;
}

/** A fake configfs-tsm: entries appear on mkdir with `provider` and `generation`; writing inblob bumps it. */
class FakeTsm implements TdxTsmFs {
  entries = new Map<string, Entry>();
  removed: string[] = [];
  ops: string[] = [];
  /** Called after outblob is read: a chance to simulate another writer. */
  afterOutblob?: (e: Entry) => void;
  outblobFor?: (inblob: Uint8Array) => Uint8Array;
  constructor(
    readonly root: string,
    readonly provider: string,
    readonly pki: TdxPki,
  ) {}
  private entry(path: string): [Entry, string] {
    const i = path.lastIndexOf('/');
    const dir = path.slice(0, i);
    const e = this.entries.get(dir);
    if (!e) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return [e, path.slice(i + 1)];
  }
  async access(p: string) {
    if (p !== this.root) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  }
  async mkdir(p: string) {
    assert.ok(p.startsWith(`${this.root}/`));
    this.ops.push('mkdir');
    this.entries.set(p, { generation: 0 });
  }
  async rmdir(p: string) {
    this.ops.push('rmdir');
    this.entries.delete(p);
    this.removed.push(p);
  }
  async writeFile(p: string, d: Uint8Array | string) {
    const [e, f] = this.entry(p);
    this.ops.push(`write ${f}`);
    if (f !== 'inblob') throw new Error(`EACCES ${f}`);
    e.inblob = typeof d === 'string' ? new Uint8Array(Buffer.from(d)) : new Uint8Array(d);
    e.generation++;
  }
  async readFile(p: string): Promise<Uint8Array> {
    const [e, f] = this.entry(p);
    this.ops.push(`read ${f}`);
    if (f === 'provider') return new Uint8Array(Buffer.from(`${this.provider}\n`));
    if (f === 'generation') return new Uint8Array(Buffer.from(`${e.generation}\n`));
    if (f === 'outblob') {
      if (!e.inblob) throw new Error('EINVAL');
      const out = this.outblobFor ? this.outblobFor(e.inblob) : buildSimulatedTdxQuote(this.pki, e.inblob);
      this.afterOutblob?.(e);
      return out;
    }
    throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
  }
}

describe('TdxProvider (configfs-tsm, tdx_guest)', () => {
  let pki: TdxPki;
  before(async () => {
    pki = await createTdxPki();
  });

  it('mkdir → provider → inblob → generation/outblob/generation → rmdir', async () => {
    const fs = new FakeTsm('/fake/tsm/report', 'tdx_guest', pki);
    const p = new TdxProvider({ root: '/fake/tsm/report', fs });
    assert.equal(p.kind, 'tdx');
    assert.equal(p.simulated, false);
    const rd = new Uint8Array(64).map((_, i) => i);
    const ev = await p.getEvidence(rd);
    assert.equal(ev.kind, 'tdx');
    assert.equal(ev.provider, 'configfs-tsm');
    assert.deepEqual(Buffer.from(parseTdxQuote(ev.report).body.reportData), Buffer.from(rd));
    assert.deepEqual(fs.ops, [
      'mkdir',
      'read provider',
      'write inblob',
      'read generation',
      'read outblob',
      'read generation',
      'rmdir',
    ]);
    assert.equal(fs.entries.size, 0);
  });

  it('retries with a fresh entry when another writer bumps the generation', async () => {
    const fs = new FakeTsm('/r', 'tdx_guest', pki);
    let bumps = 2;
    fs.afterOutblob = (e) => {
      if (bumps-- > 0) e.generation++;
    };
    const p = new TdxProvider({ root: '/r', fs, backoffMs: () => 0 });
    await p.getEvidence(new Uint8Array(64));
    assert.equal(fs.removed.length, 3);
    assert.equal(fs.entries.size, 0);
  });

  it('gives up with TEE_CONCURRENT_WRITER when the entry keeps changing', async () => {
    const fs = new FakeTsm('/r', 'tdx_guest', pki);
    fs.afterOutblob = (e) => {
      e.generation++;
    };
    const p = new TdxProvider({ root: '/r', fs, retries: 2, backoffMs: () => 0 });
    await assert.rejects(
      p.getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof TeeError && e.code === 'TEE_CONCURRENT_WRITER',
    );
    assert.equal(fs.entries.size, 0);
  });

  it('rejects a wrong provider, bad REPORT_DATA, a non-quote outblob, a missing root', async () => {
    const snp = new FakeTsm('/r', 'sev_guest', pki);
    await assert.rejects(
      new TdxProvider({ root: '/r', fs: snp }).getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof TeeError && e.code === 'TEE_WRONG_PROVIDER',
    );
    assert.equal(snp.entries.size, 0);
    const fs = new FakeTsm('/r', 'tdx_guest', pki);
    await assert.rejects(
      new TdxProvider({ root: '/r', fs }).getEvidence(new Uint8Array(32)),
      (e: unknown) => e instanceof TeeError && e.code === 'TEE_BAD_REPORT_DATA',
    );
    fs.outblobFor = () => new Uint8Array(100);
    await assert.rejects(
      new TdxProvider({ root: '/r', fs }).getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof TeeError && e.code === 'TEE_BAD_EVIDENCE',
    );
    await assert.rejects(
      new TdxProvider({ root: '/nope', fs }).getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof TeeError && e.code === 'TEE_UNAVAILABLE',
    );
  });

  it('probeTdx: true only for a tdx_guest provider; the probe entry is removed', async () => {
    const tdx = new FakeTsm('/r', 'tdx_guest', pki);
    assert.equal(await probeTdx('/r', tdx), true);
    assert.equal(tdx.entries.size, 0);
    assert.equal(await probeTdx('/r', new FakeTsm('/r', 'sev_guest', pki)), false);
    assert.equal(await probeTdx('/missing', tdx), false);
    assert.equal(await probeTdx('/definitely/not/a/configfs/root'), false);
  });
});

describe('detectTee integration (src/tee/index.ts)', () => {
  it('WASMVM_TEE_PROVIDER-style force: simulated-tdx gives the SIMULATED TDX provider; tdx without hardware fails', async () => {
    const { detectTee } = await import('../../../src/tee/index.ts');
    const p = await detectTee({ force: 'simulated-tdx', configfsRoot: '/nonexistent/tsm' });
    assert.equal(p.kind, 'tdx');
    assert.equal(p.simulated, true);
    await assert.rejects(detectTee({ force: 'tdx', configfsRoot: '/nonexistent/tsm' }), /not available/);
  });
});
