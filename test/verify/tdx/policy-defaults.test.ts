/**
 * Issue 13 item 6, TDX: TD attributes (DEBUG and profiling rejected by default, reserved bits must be zero,
 * MIGRATABLE rejected by default, SEPT_VE_DISABLE required as an option) and the MRSERVICETD / MRCONFIGID /
 * MRTD / RTMR pins, on the real vectors (test/data/tdx) and on simulated quotes signed for the purpose.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { main } from '../../../src/cli/verify-tdx.ts';
import { buildSimulatedTdxQuote, createTdxPki } from '../../../src/tee/tdx/simulated.ts';
import { parseTdxPolicy, parseTdxQuote, TdxError, verifyTdxQuote } from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { COLLATERAL_FOR, collateral, DATA, hex, quoteBytes } from './helpers.ts';

const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;
const failed = (v: Verdict) => v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);

async function real(name: string, policy: Record<string, unknown> = {}): Promise<Verdict> {
  const { collateral: cols, at } = COLLATERAL_FOR[name]!;
  return verifyTdxQuote(quoteBytes(name), {
    now: new Date(at),
    collateral: collateral(...cols),
    policy: parseTdxPolicy({
      tdx: { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'OutOfDate'], ...policy },
    }),
  });
}

describe('tdx policy defaults on the real quotes', () => {
  it('a debug TD is rejected by default and accepted with allowDebug', async () => {
    const v = await real('quote-v4-debugtd.dat');
    assert.equal(outcome(v, 'tdx.td.debug'), 'fail');
    assert.match(v.checks.find((c) => c.id === 'tdx.td.debug')!.detail, /DEBUG/);
    assert.equal(outcome(await real('quote-v4-debugtd.dat', { allowDebug: true }), 'tdx.td.debug'), 'pass');
  });

  it('reserved bits: every real quote has none set (the check passes and names the set bits)', async () => {
    for (const name of [
      'quote-v4-phala-b0c06f.dat',
      'quote-v4-gotdxguest-spr.dat',
      'quote-v5-gotdxguest.dat',
    ]) {
      const v = await real(name);
      assert.equal(outcome(v, 'tdx.td.attributes'), 'pass', name);
    }
    const v = await real('quote-v4-gotdxguest-spr.dat');
    assert.match(v.checks.find((c) => c.id === 'tdx.td.attributes')!.detail, /PKS/);
  });

  it('SEPT_VE_DISABLE: not required by default; when required, phala passes and the SPR quote (PKS only) fails', async () => {
    assert.equal(outcome(await real('quote-v4-gotdxguest-spr.dat'), 'tdx.td.sept-ve-disable'), undefined);
    const spr = await real('quote-v4-gotdxguest-spr.dat', { requireSeptVeDisable: true });
    assert.equal(outcome(spr, 'tdx.td.sept-ve-disable'), 'fail');
    assert.equal(spr.ok, false);
    const phala = await real('quote-v4-phala-b0c06f.dat', { requireSeptVeDisable: true });
    assert.equal(outcome(phala, 'tdx.td.sept-ve-disable'), 'pass');
  });

  it('MRCONFIGID and MRSERVICETD pins (TDX 1.5 quote): the right value passes, another fails', async () => {
    const name = 'quote-v5-phala-outdated.dat';
    const q = parseTdxQuote(quoteBytes(name));
    const good = await real(name, {
      mrConfigId: [hex(q.body.mrConfigId)],
      mrServiceTd: [hex(q.body.mrServiceTd!)],
    });
    assert.equal(outcome(good, 'tdx.policy.mrConfigId'), 'pass');
    assert.equal(outcome(good, 'tdx.policy.mrServiceTd'), 'pass');
    const bad = await real(name, { mrConfigId: ['ab'.repeat(48)], mrServiceTd: ['cd'.repeat(48)] });
    assert.equal(outcome(bad, 'tdx.policy.mrConfigId'), 'fail');
    assert.equal(outcome(bad, 'tdx.policy.mrServiceTd'), 'fail');
    assert.equal(bad.ok, false);
  });

  it('an MRSERVICETD pin on a TDX 1.0 quote fails (it has no MRSERVICETD)', async () => {
    const v = await real('quote-v4-phala-b0c06f.dat', { mrServiceTd: ['00'.repeat(48)] });
    assert.equal(outcome(v, 'tdx.policy.mrServiceTd'), 'fail');
    assert.match(v.checks.find((c) => c.id === 'tdx.policy.mrServiceTd')!.detail, /TDX 1\.0/);
  });

  it('MRTD and RTMR pins', async () => {
    const name = 'quote-v4-phala-b0c06f.dat';
    const q = parseTdxQuote(quoteBytes(name));
    const v = await real(name, { mrTd: [hex(q.body.mrTd)], rtmr3: ['11'.repeat(48)] });
    assert.equal(outcome(v, 'tdx.policy.mrTd'), 'pass');
    assert.equal(outcome(v, 'tdx.policy.rtmr3'), 'fail');
  });

  it('policy keys are validated (unknown key, wrong type)', () => {
    assert.throws(() => parseTdxPolicy({ tdx: { requireSeptVeDisable: 'yes' } }), TdxError);
    assert.throws(() => parseTdxPolicy({ tdx: { mrServiceTd: ['00'] } }), TdxError);
  });
});

describe('tdx TD attributes on signed simulated quotes (only the attribute check differs)', () => {
  let pki: Awaited<ReturnType<typeof createTdxPki>>;
  let root: string;
  before(async () => {
    pki = await createTdxPki();
    root = `-----BEGIN CERTIFICATE-----\n${Buffer.from(pki.rootDer).toString('base64')}\n-----END CERTIFICATE-----\n`;
  });
  const attrs = (bits: number[]) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(bits.reduce((a, i) => a | (1n << BigInt(i)), 0n));
    return new Uint8Array(b);
  };
  async function sim(bits: number[], policy: Record<string, unknown> = {}): Promise<Verdict> {
    const quote = buildSimulatedTdxQuote(pki, new Uint8Array(64), {
      version: 5,
      body: { tdAttributes: attrs(bits) },
    });
    return verifyTdxQuote(quote, { trustSimulatedRoots: [root], policy: parseTdxPolicy({ tdx: policy }) });
  }

  it('SEPT_VE_DISABLE only: verifies', async () => {
    const v = await sim([28], { requireSeptVeDisable: true });
    assert.deepEqual(failed(v), []);
  });
  it('a reserved bit (1, 7, 20, 40) is rejected, whatever the policy', async () => {
    for (const bit of [1, 7, 20, 40]) {
      const v = await sim([28, bit], { allowDebug: true, allowMigratable: true });
      assert.deepEqual(failed(v), ['tdx.td.attributes'], `bit ${bit}`);
    }
  });
  it('profiling bits count as debug; MIGRATABLE is rejected unless allowed', async () => {
    assert.deepEqual(failed(await sim([28, 5])), ['tdx.td.debug']);
    assert.deepEqual(failed(await sim([28, 5], { allowDebug: true })), []);
    assert.deepEqual(failed(await sim([28, 29])), ['tdx.td.migratable']);
    assert.deepEqual(failed(await sim([28, 29], { allowMigratable: true })), []);
  });
});

describe('tdx policy flags through the CLI', () => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    const code = await main(args, { out: (s) => out.push(s), err: (s) => out.push(s) });
    return { code, out: out.join('\n') };
  };
  const base = (name: string) => [
    '--no-nonce',
    '--tdx-quote',
    join(DATA, name),
    '--collateral',
    join(DATA, COLLATERAL_FOR[name]!.collateral[0]!),
    '--now',
    COLLATERAL_FOR[name]!.at,
  ];

  it('--require-sept-ve-disable, --mrconfigid, --mrservicetd, --allow-debug', async () => {
    const phala = 'quote-v4-phala-b0c06f.dat';
    assert.equal((await run([...base(phala), '--require-sept-ve-disable'])).code, 0);
    const spr = await run([...base('quote-v4-gotdxguest-spr.dat'), '--require-sept-ve-disable']);
    assert.equal(spr.code, 1);
    assert.match(spr.out, /tdx\.td\.sept-ve-disable/);
    assert.equal((await run([...base(phala), '--mrconfigid', '00'.repeat(48)])).code, 0);
    assert.equal((await run([...base(phala), '--mrconfigid', '01'.repeat(48)])).code, 1);
    const v5 = 'quote-v5-gotdxguest.dat';
    assert.equal((await run([...base(v5), '--mrservicetd', '00'.repeat(48)])).code, 0);
    assert.equal((await run([...base(v5), '--mrservicetd', '02'.repeat(48)])).code, 1);
    const dbg = 'quote-v4-debugtd.dat';
    const accept = ['--accept-tcb', 'UpToDate,SWHardeningNeeded,OutOfDate'];
    const d0 = await run([...base(dbg), ...accept]);
    assert.equal(d0.code, 1);
    assert.match(d0.out, /\[fail\] tdx\.td\.debug/);
    assert.equal((await run([...base(dbg), ...accept, '--allow-debug'])).code, 0);
    assert.equal((await run([...base(phala), '--mrtd', 'zz'])).code, 2);
  });
});
