/**
 * End to end with a SIMULATED Intel-shaped PKI (explicitly trusted): crafted TCB Info / QE identity / CRLs
 * exercise revocation and every branch of the TCB status evaluation with real signatures.
 */
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  buildCrl,
  buildSimulatedTdxQuote,
  createTdxPki,
  signCollateralJson,
  type TdxPki,
} from '../../../src/tee/tdx/simulated.ts';
import { collateralFromJson, type TcbStatus, verifyTdxQuote } from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const FMSPC = 'aabbcc000000';
const PCK_TCB = [4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
const PCESVN = 13;
const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;
const failed = (v: Verdict) =>
  v.checks.filter((c) => c.outcome === 'fail').map((c) => `${c.id}: ${c.detail}`);
const serial = (der: Uint8Array) =>
  new X509Certificate(der).serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
const comps = (a: number[]) => a.map((svn) => ({ svn }));
const z16 = (first: number[]) => [...first, ...new Array(16 - first.length).fill(0)];

interface Level {
  sgx?: number[];
  pcesvn?: number;
  tdx?: number[];
  status: TcbStatus;
  advisories?: string[];
}
interface Scenario {
  levels?: Level[];
  modules?: {
    id: string;
    levels: { isvsvn: number; status: TcbStatus; advisories?: string[] }[];
    mrsigner?: string;
  }[];
  qeLevels?: { isvsvn: number; status: TcbStatus; advisories?: string[] }[];
  qeMrsigner?: string;
  revokePck?: boolean;
  revokePckCa?: boolean;
  revokeTcbSigner?: boolean;
  crlNextUpdate?: Date;
  teeTcbSvn?: number[];
}

describe('SIMULATED PKI end to end (explicitly trusted root)', () => {
  let pki: TdxPki;
  let rootPem: string;
  before(async () => {
    pki = await createTdxPki({
      fmspc: Buffer.from(FMSPC, 'hex'),
      tcb: { components: PCK_TCB, pceSvn: PCESVN },
      notBefore: new Date('2026-01-01T00:00:00Z'),
    });
    rootPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(pki.rootDer).toString('base64')}\n-----END CERTIFICATE-----\n`;
  });

  function quote(teeTcbSvn = [6, 1, 3]) {
    return buildSimulatedTdxQuote(pki, new Uint8Array(64).fill(9), {
      version: 5,
      body: { teeTcbSvn: Uint8Array.from(z16(teeTcbSvn)) },
    });
  }

  function col(s: Scenario = {}) {
    const levels = s.levels ?? [{ status: 'UpToDate' }];
    const tcbInfo = JSON.stringify({
      id: 'TDX',
      version: 3,
      issueDate: '2026-05-20T00:00:00Z',
      nextUpdate: '2026-06-20T00:00:00Z',
      fmspc: FMSPC.toUpperCase(),
      pceId: '0000',
      tcbType: 0,
      tcbEvaluationDataNumber: 99,
      tdxModule: {
        mrsigner: '00'.repeat(48),
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
      },
      tdxModuleIdentities: (
        s.modules ?? [{ id: 'TDX_01', levels: [{ isvsvn: 6, status: 'UpToDate' as TcbStatus }] }]
      ).map((m) => ({
        id: m.id,
        mrsigner: m.mrsigner ?? '00'.repeat(48),
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: m.levels.map((l) => ({
          tcb: { isvsvn: l.isvsvn },
          tcbDate: '2026-01-01T00:00:00Z',
          tcbStatus: l.status,
          ...(l.advisories ? { advisoryIDs: l.advisories } : {}),
        })),
      })),
      tcbLevels: levels.map((l) => ({
        tcb: {
          sgxtcbcomponents: comps(l.sgx ?? PCK_TCB),
          pcesvn: l.pcesvn ?? PCESVN,
          tdxtcbcomponents: comps(z16(l.tdx ?? [0, 0, 3])),
        },
        tcbDate: '2026-01-01T00:00:00Z',
        tcbStatus: l.status,
        ...(l.advisories ? { advisoryIDs: l.advisories } : {}),
      })),
    });
    const qeIdentity = JSON.stringify({
      id: 'TD_QE',
      version: 2,
      issueDate: '2026-05-20T00:00:00Z',
      nextUpdate: '2026-06-20T00:00:00Z',
      tcbEvaluationDataNumber: 99,
      miscselect: '00000000',
      miscselectMask: 'FFFFFFFF',
      attributes: '11000000000000000000000000000000',
      attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
      mrsigner: s.qeMrsigner ?? '',
      isvprodid: 2,
      tcbLevels: (s.qeLevels ?? [{ isvsvn: 4, status: 'UpToDate' as TcbStatus }]).map((l) => ({
        tcb: { isvsvn: l.isvsvn },
        tcbDate: '2026-01-01T00:00:00Z',
        tcbStatus: l.status,
        ...(l.advisories ? { advisoryIDs: l.advisories } : {}),
      })),
    });
    const thisUpdate = new Date('2026-05-01T00:00:00Z');
    const next = s.crlNextUpdate ?? new Date('2026-07-01T00:00:00Z');
    const rootRevoked = [
      ...(s.revokePckCa ? [serial(pki.pckCaDer)] : []),
      ...(s.revokeTcbSigner ? [serial(pki.tcbSigningDer)] : []),
    ];
    return collateralFromJson(
      JSON.stringify({
        tcb_info: tcbInfo,
        tcb_info_signature: signCollateralJson(pki, tcbInfo),
        tcb_info_issuer_chain: pki.tcbSigningChainPem,
        qe_identity: qeIdentity,
        qe_identity_signature: signCollateralJson(pki, qeIdentity),
        qe_identity_issuer_chain: pki.tcbSigningChainPem,
        pck_crl: Buffer.from(
          buildCrl(
            pki.pckCaDer,
            pki.pckCaKey,
            s.revokePck ? ['01', serial(pki.pckDer)] : ['01'],
            thisUpdate,
            next,
          ),
        ).toString('hex'),
        root_ca_crl: Buffer.from(buildCrl(pki.rootDer, pki.rootKey, rootRevoked, thisUpdate, next)).toString(
          'hex',
        ),
      }),
    );
  }

  const QE_SIGNER = 'SIMULATED TD_QE signer';
  async function run(s: Scenario = {}, extra: Record<string, unknown> = {}) {
    const { createHash } = await import('node:crypto');
    const qeMrsigner = s.qeMrsigner ?? createHash('sha256').update(QE_SIGNER).digest('hex');
    return verifyTdxQuote(quote(s.teeTcbSvn), {
      now: NOW,
      collateral: col({ ...s, qeMrsigner }),
      trustSimulatedRoots: [rootPem],
      ...extra,
    });
  }

  it('verifies completely when the simulated root is explicitly trusted (loudly marked)', async () => {
    const v = await run();
    assert.equal(v.ok, true, failed(v).join('\n'));
    assert.equal(outcome(v, 'tdx.simulated'), 'pass');
    assert.match(v.checks.find((c) => c.id === 'tdx.simulated')!.detail, /NOTHING about Intel hardware/);
    assert.equal((v.fields?.tcb as { status: string }).status, 'UpToDate');
  });

  it('is rejected without trust; allowSimulated accepts any simulated root', async () => {
    const v = await verifyTdxQuote(quote(), { now: NOW, collateral: col() });
    assert.equal(v.ok, false);
    assert.equal(outcome(v, 'tdx.simulated'), 'fail');
    assert.equal(outcome(v, 'tdx.pck.chain'), 'fail');
    const a = await verifyTdxQuote(quote(), {
      now: NOW,
      allowSimulated: true,
      policy: { requireCollateral: false },
    });
    assert.equal(outcome(a, 'tdx.simulated'), 'pass');
    assert.equal(outcome(a, 'tdx.pck.chain'), 'pass');
  });

  it('revocation: PCK in the PCK CRL, PCK CA or TCB Signing cert in the root CRL, expired CRLs', async () => {
    const a = await run({ revokePck: true });
    assert.equal(outcome(a, 'tdx.crl.pck'), 'fail');
    assert.match(a.checks.find((c) => c.id === 'tdx.crl.pck')!.detail, /REVOKED/);
    assert.equal(a.ok, false);
    const b = await run({ revokePckCa: true });
    assert.equal(outcome(b, 'tdx.crl.root'), 'fail');
    assert.equal(b.ok, false);
    const c = await run({ revokeTcbSigner: true });
    assert.equal(outcome(c, 'tdx.collateral.tcb-info.chain'), 'fail');
    assert.equal(outcome(c, 'tdx.collateral.qe-identity.chain'), 'fail');
    assert.equal(c.ok, false);
    const d = await run({ crlNextUpdate: new Date('2026-05-15T00:00:00Z') });
    assert.equal(outcome(d, 'tdx.crl.pck'), 'fail');
    assert.equal(outcome(d, 'tdx.crl.root'), 'fail');
    assert.equal(d.ok, false);
  });

  const tcb = (v: Verdict) =>
    v.fields?.tcb as { status: string | null; advisoryIds: string[]; error: string | null };

  it('level selection: the first level whose SGX components, PCESVN and TDX components are all <=', async () => {
    const v = await run({
      levels: [
        { sgx: [5, ...PCK_TCB.slice(1)], status: 'UpToDate' }, // SGX component 0 too high
        { pcesvn: PCESVN + 1, status: 'UpToDate' }, // PCESVN too high
        { tdx: [0, 0, 4], status: 'UpToDate' }, // TEE_TCB_SVN[2] too high
        { tdx: [9, 9, 3], status: 'SWHardeningNeeded', advisories: ['INTEL-SA-1'] }, // bytes 0-1 skipped (module v1)
        { status: 'OutOfDate' },
      ],
    });
    assert.equal(tcb(v).status, 'SWHardeningNeeded');
    assert.deepEqual(tcb(v).advisoryIds, ['INTEL-SA-1']);
    assert.equal(v.ok, true, failed(v).join('\n'));
    const none = await run({ levels: [{ tdx: [0, 0, 4], status: 'UpToDate' }] });
    assert.equal(tcb(none).error, 'No matching TCB level found');
    assert.equal(none.ok, false);
    // TEE_TCB_SVN[1] = 0: bytes 0-1 compared too, module judged by tdxModule.
    const v0 = await run({
      teeTcbSvn: [2, 0, 3],
      levels: [
        { tdx: [3, 0, 3], status: 'UpToDate' },
        { tdx: [2, 0, 3], status: 'OutOfDate' },
      ],
    });
    assert.equal(tcb(v0).status, 'OutOfDate');
  });

  it('status convergence with the TDX module and QE, advisories are the union', async () => {
    const cases: [TcbStatus, TcbStatus, TcbStatus, string][] = [
      ['UpToDate', 'UpToDate', 'UpToDate', 'UpToDate'],
      ['SWHardeningNeeded', 'UpToDate', 'UpToDate', 'SWHardeningNeeded'],
      ['UpToDate', 'OutOfDate', 'UpToDate', 'OutOfDate'],
      ['SWHardeningNeeded', 'UpToDate', 'OutOfDate', 'OutOfDate'],
      ['ConfigurationNeeded', 'OutOfDate', 'UpToDate', 'OutOfDateConfigurationNeeded'],
      ['ConfigurationAndSWHardeningNeeded', 'UpToDate', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
      ['ConfigurationNeeded', 'UpToDate', 'UpToDate', 'ConfigurationNeeded'],
      ['UpToDate', 'UpToDate', 'Revoked', 'Revoked'],
      ['UpToDate', 'Revoked', 'UpToDate', 'Revoked'],
      ['OutOfDate', 'UpToDate', 'UpToDate', 'OutOfDate'],
      ['Revoked', 'UpToDate', 'UpToDate', 'Revoked'],
    ];
    for (const [platform, module, qe, want] of cases) {
      const v = await run({
        levels: [{ status: platform, advisories: ['INTEL-SA-P'] }],
        modules: [{ id: 'TDX_01', levels: [{ isvsvn: 6, status: module, advisories: ['INTEL-SA-M'] }] }],
        qeLevels: [{ isvsvn: 4, status: qe, advisories: ['INTEL-SA-Q'] }],
      });
      assert.equal(tcb(v).status, want, `${platform}/${module}/${qe}`);
      assert.deepEqual(tcb(v).advisoryIds, ['INTEL-SA-M', 'INTEL-SA-P', 'INTEL-SA-Q']);
      assert.equal(
        v.ok,
        want === 'UpToDate' || want === 'SWHardeningNeeded',
        `${platform}/${module}/${qe} ok`,
      );
    }
  });

  it('TDX module identity: missing id, MRSIGNERSEAM mismatch, SVN below every level', async () => {
    const a = await run({ modules: [{ id: 'TDX_03', levels: [{ isvsvn: 1, status: 'UpToDate' }] }] });
    assert.match(tcb(a).error ?? '', /TDX_01 not in TCB Info/);
    const b = await run({
      modules: [{ id: 'TDX_01', mrsigner: '11'.repeat(48), levels: [{ isvsvn: 1, status: 'UpToDate' }] }],
    });
    assert.match(tcb(b).error ?? '', /MRSIGNERSEAM/);
    const c = await run({ modules: [{ id: 'TDX_01', levels: [{ isvsvn: 7, status: 'UpToDate' }] }] });
    assert.match(tcb(c).error ?? '', /below every level/);
    for (const v of [a, b, c]) assert.equal(v.ok, false);
  });

  it('QE identity mismatch and QE ISVSVN below every level are rejected', async () => {
    const a = await run({ qeMrsigner: 'ab'.repeat(32) });
    assert.equal(outcome(a, 'tdx.qe.identity'), 'fail');
    assert.equal(a.ok, false);
    const b = await run({ qeLevels: [{ isvsvn: 5, status: 'UpToDate' }] });
    assert.match(tcb(b).error ?? '', /QE ISVSVN 4/);
    assert.equal(b.ok, false);
  });
});
