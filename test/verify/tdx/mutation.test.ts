/**
 * Mutation tests: a changed byte anywhere in what is signed or chained must turn a passing verdict into a
 * rejection. Baselines: quote-v4-phala-b0c06f (v4, its collateral JSON, 2025-07-01) and quote-v5-gotdxguest
 * (v5 / TDX 1.5, collateral-2026-03 directory, 2026-04-01) both verify completely.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { serializeTdxQuote } from '../../../src/formats/index.ts';
import { VerifierCache } from '../../../src/verify/cache.ts';
import {
  collateralFromJson,
  parseTdxQuote,
  type TdxCollateral,
  verifyTdxQuote,
} from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { collateral, DATA, quoteBytes } from './helpers.ts';

const V4 = {
  quote: quoteBytes('quote-v4-phala-b0c06f.dat'),
  now: new Date('2025-07-01T00:00:00Z'),
  colText: readFileSync(join(DATA, 'quote-v4-phala-b0c06f.collateral.json'), 'utf8'),
};
const V4_COL = collateralFromJson(V4.colText);
const V5 = {
  quote: quoteBytes('quote-v5-gotdxguest.dat'),
  now: new Date('2026-04-01T00:00:00Z'),
  col: collateral('collateral-2026-03'),
};

const failed = (v: Verdict) =>
  v.checks
    .filter((c) => c.outcome === 'fail')
    .map((c) => c.id)
    .join(',');

/** Warmed in 'baselines verify' with every unmutated quote (with and without collateral). */
const WARM = new VerifierCache();

/** `col` undefined: signature/chain checks only (policy requireCollateral=false), to keep the loops fast. */
async function rejected(
  quote: Uint8Array,
  col: TdxCollateral | undefined,
  now: Date,
  what: string,
  expectIds?: string[],
) {
  // Cold, and — for the quote-level loops, where the cached facts (quote and QE report signatures) are —
  // with a cache that holds every fact of the unmutated quotes: a cached signature must never turn a
  // mutation into a yes.
  for (const cache of col ? [undefined] : [undefined, WARM]) {
    const v = await verifyTdxQuote(quote, {
      ...(col ? { now, collateral: col } : { now, policy: { requireCollateral: false } }),
      ...(cache ? { cache } : {}),
    });
    assert.equal(v.ok, false, `${what}: still verified${cache ? ' (warm cache)' : ''}`);
    if (expectIds) {
      const f = failed(v);
      assert.ok(
        expectIds.some((id) => f.split(',').includes(id)),
        `${what}: failed [${f}], expected one of ${expectIds}`,
      );
    }
  }
}

describe('TDX mutations are rejected', () => {
  it('baselines verify', async () => {
    const a = await verifyTdxQuote(V4.quote, { now: V4.now, collateral: V4_COL });
    assert.equal(a.ok, true, failed(a));
    const b = await verifyTdxQuote(V5.quote, { now: V5.now, collateral: V5.col });
    assert.equal(b.ok, true, failed(b));
    for (const [q, now, collateral] of [
      [V4.quote, V4.now, V4_COL],
      [V5.quote, V5.now, V5.col],
    ] as const)
      assert.equal((await verifyTdxQuote(q, { now, collateral, cache: WARM })).ok, true);
    // The quote-level loops below run without collateral: the baselines pass that way too.
    for (const [q, now] of [
      [V4.quote, V4.now],
      [V5.quote, V5.now],
    ] as const) {
      const c = await verifyTdxQuote(q, { now, policy: { requireCollateral: false } });
      assert.equal(c.ok, true, failed(c));
      for (let i = 0; i < 2; i++) {
        const w = await verifyTdxQuote(q, { now, policy: { requireCollateral: false }, cache: WARM });
        assert.equal(w.ok, true, failed(w));
        if (i === 1) assert.deepEqual(w.fields?.cached, ['tdx.quote.signature', 'tdx.qe.report-signature']);
      }
    }
  });

  for (const [label, base, now] of [
    ['v4', V4.quote, V4.now],
    ['v5', V5.quote, V5.now],
  ] as const) {
    const col: TdxCollateral | undefined = undefined;
    it(`${label}: every byte of the signed header+TD report (two different flips per byte)`, async () => {
      const signedLen = parseTdxQuote(base).signedRegion.length;
      let n = 0;
      for (let i = 0; i < signedLen; i++) {
        for (const x of [0x01, 0x80]) {
          const b = new Uint8Array(base);
          b[i]! ^= x;
          await rejected(b, col, now, `${label} signed byte ${i} ^${x}`, [
            'tdx.quote.signature',
            'tdx.quote.format',
          ]);
          n++;
        }
      }
      assert.equal(n, signedLen * 2);
    });

    it(`${label}: every byte of the QE report, QE report signature, attestation key and quote signature`, async () => {
      const q = parseTdxQuote(base);
      const sigStart = q.signedRegion.length + 4;
      // signature (64) | attestation key (64) | cert type (2) | size (4) | QE report (384) | QE sig (64) | auth size (2) | auth data
      const ranges: [string, number, number, string[]][] = [
        ['quote signature', sigStart, 64, ['tdx.quote.signature']],
        ['attestation key', sigStart + 64, 64, ['tdx.quote.signature', 'tdx.qe.report-data']],
        ['QE report', sigStart + 134, 384, ['tdx.qe.report-signature']],
        ['QE report signature', sigStart + 518, 64, ['tdx.qe.report-signature']],
        ['QE auth data', sigStart + 584, q.qeCert!.qeAuthData.length, ['tdx.qe.report-data']],
      ];
      for (const [what, off, len, ids] of ranges) {
        for (let i = off; i < off + len; i++) {
          const b = new Uint8Array(base);
          b[i]! ^= 0x01;
          await rejected(b, col, now, `${label} ${what} byte ${i - off}`, [...ids, 'tdx.quote.format']);
        }
      }
    });

    it(`${label}: PCK certificate chain (every 3rd base64 character, each certificate)`, async () => {
      const q = parseTdxQuote(base);
      const pem = Buffer.from(q.qeCert!.inner.data).toString('latin1');
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      let inBody = false;
      let n = 0;
      const lines = pem.split('\n');
      let offset = 0;
      const positions: number[] = [];
      for (const line of lines) {
        if (line.startsWith('-----BEGIN')) inBody = true;
        else if (line.startsWith('-----END')) inBody = false;
        else if (inBody)
          for (let j = 0; j < line.length; j++) if (line[j] !== '=') positions.push(offset + j);
        offset += line.length + 1;
      }
      for (let k = 0; k < positions.length; k += 3) {
        const p = positions[k]!;
        const v = alphabet.indexOf(pem[p]!);
        const mutated = pem.slice(0, p) + alphabet[v ^ 0x20] + pem.slice(p + 1);
        const qq = parseTdxQuote(base);
        qq.qeCert!.inner.data = new Uint8Array(Buffer.from(mutated, 'latin1'));
        await rejected(serializeTdxQuote(qq), col, now, `${label} PEM char ${p}`, [
          'tdx.pck.chain',
          'tdx.qe.report-signature',
          'tdx.pck.extensions',
          'tdx.pck.issuer',
          'tdx.crl.pck',
          'tdx.crl.root',
        ]);
        n++;
      }
      assert.ok(n > 800, `${n} chain mutations`);
    });
  }

  it('raw tcbInfo JSON: every character changed → rejected (signature over the exact bytes)', async () => {
    const doc = JSON.parse(V4.colText) as Record<string, string>;
    const raw = doc.tcb_info!;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      const r = /[0-9]/.test(c)
        ? String((Number(c) + 1) % 10)
        : /[a-zA-Z]/.test(c)
          ? c === 'A'
            ? 'B'
            : c === 'a'
              ? 'b'
              : c === 'Z'
                ? 'Y'
                : c === 'z'
                  ? 'y'
                  : String.fromCharCode(c.charCodeAt(0) ^ 1)
          : c === ' '
            ? '_'
            : ' ';
      const text = JSON.stringify({ ...doc, tcb_info: raw.slice(0, i) + r + raw.slice(i + 1) });
      let col: TdxCollateral;
      try {
        col = collateralFromJson(text);
      } catch {
        continue; // no longer JSON: rejected at load
      }
      await rejected(V4.quote, col, V4.now, `tcbInfo char ${i}`, [
        'tdx.collateral.tcb-info.signature',
        'tdx.collateral.tcb-info',
      ]);
    }
  });

  it('raw enclaveIdentity JSON (directory bundle) and both collateral signatures', async () => {
    const doc = JSON.parse(V4.colText) as Record<string, string>;
    const raw = doc.qe_identity!;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      const r = /[0-9]/.test(c)
        ? String((Number(c) + 1) % 10)
        : c === 'A'
          ? 'B'
          : c === 'a'
            ? 'b'
            : /[a-zA-Z]/.test(c)
              ? 'A'
              : c === ' '
                ? '_'
                : ' ';
      const text = JSON.stringify({ ...doc, qe_identity: raw.slice(0, i) + r + raw.slice(i + 1) });
      let col: TdxCollateral;
      try {
        col = collateralFromJson(text);
      } catch {
        continue;
      }
      await rejected(V4.quote, col, V4.now, `qeIdentity char ${i}`, ['tdx.collateral.qe-identity.signature']);
    }
    for (const key of ['tcb_info_signature', 'qe_identity_signature']) {
      const sig = doc[key]!;
      for (let i = 0; i < sig.length; i++) {
        const r = sig[i] === '0' ? '1' : '0';
        const col = collateralFromJson(
          JSON.stringify({ ...doc, [key]: sig.slice(0, i) + r + sig.slice(i + 1) }),
        );
        await rejected(V4.quote, col, V4.now, `${key} char ${i}`, [
          key === 'tcb_info_signature'
            ? 'tdx.collateral.tcb-info.signature'
            : 'tdx.collateral.qe-identity.signature',
        ]);
      }
    }
  });

  it('CRLs: every byte of the root CA CRL, every 5th byte of the PCK CRL', async () => {
    const root = V5.col.rootCaCrl!;
    for (let i = 0; i < root.length; i++) {
      const b = new Uint8Array(root);
      b[i]! ^= 0x01;
      await rejected(V5.quote, { ...V5.col, rootCaCrl: b }, V5.now, `root CRL byte ${i}`, ['tdx.crl.root']);
    }
    const pck = V5.col.pckCrls[0]!;
    for (let i = 0; i < pck.length; i += 5) {
      const b = new Uint8Array(pck);
      b[i]! ^= 0x01;
      await rejected(V5.quote, { ...V5.col, pckCrls: [b] }, V5.now, `PCK CRL byte ${i}`, ['tdx.crl.pck']);
    }
  });

  it('TCB Signing issuer chain: every 4th byte of the signing certificate', async () => {
    const chain = V5.col.tcbInfoIssuerChain!;
    const leaf = chain[0]!;
    for (let i = 0; i < leaf.length; i += 4) {
      const b = new Uint8Array(leaf);
      b[i]! ^= 0x01;
      const col = {
        ...V5.col,
        tcbInfoIssuerChain: [b, ...chain.slice(1)],
        qeIdentityIssuerChain: [b, ...chain.slice(1)],
      };
      await rejected(V5.quote, col, V5.now, `TCB signing cert byte ${i}`, [
        'tdx.collateral.tcb-info.chain',
        'tdx.collateral.tcb-info.signature',
      ]);
    }
  });
});
