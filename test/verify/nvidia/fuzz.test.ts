import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DerError, readTree } from '../../../src/formats/der.ts';
import { parseSpdmEvidence, SpdmError } from '../../../src/formats/nvidia/spdm.ts';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';
import { verifyNrasResponse } from '../../../src/verify/nvidia/nras.ts';
import { dataJson, hopperEvidence, jwks, NONCE_1GPU, NRAS_CLOCK } from './helpers.ts';

const NOW = new Date('2026-06-29T02:10:00Z');

describe('robustness (property tests)', () => {
  it('SPDM parser: random bytes and random truncations only ever throw SpdmError', () => {
    const raw = new Uint8Array(Buffer.from(hopperEvidence().evidence, 'base64'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          parseSpdmEvidence(b);
        } catch (e) {
          return e instanceof SpdmError;
        }
        return true;
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: raw.length - 1 }), (n) => {
        assert.throws(() => parseSpdmEvidence(raw.subarray(0, n)), SpdmError);
        return true;
      }),
      { numRuns: 100 },
    );
  });

  it('DER reader: random bytes only ever throw DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          readTree(b);
        } catch (e) {
          return e instanceof DerError;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('local verifier never throws and never accepts random evidence bytes', async () => {
    const e = hopperEvidence();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (b) => {
        const v = await verifyGpuEvidence(
          { ...e, evidence: Buffer.from(b).toString('base64') },
          { nonce: e.nonce, now: NOW },
        );
        return v.ok === false;
      }),
      { numRuns: 50 },
    );
  });

  it('NRAS verifier: any single changed character in a token is rejected', async () => {
    const resp = dataJson<[[string, string], Record<string, string>]>('nras-v3-h100-1gpu.response.json');
    const set = jwks();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 63 }),
        async (overall, pos, shift) => {
          const tok = overall ? resp[0][1] : resp[1]['GPU-0']!;
          const i = pos % tok.length;
          if (tok[i] === '.') return true;
          const c = alphabet[(alphabet.indexOf(tok[i]!) + shift) % 64]!;
          const bad = tok.slice(0, i) + c + tok.slice(i + 1);
          // the last base64url char of a 96-byte signature carries no bits beyond the length: skip it
          if (i === tok.length - 1) return true;
          const r: [[string, string], Record<string, string>] = overall
            ? [['JWT', bad], resp[1]]
            : [resp[0], { 'GPU-0': bad }];
          const v = await verifyNrasResponse(r, { nonce: NONCE_1GPU, jwks: set, now: NRAS_CLOCK });
          return v.ok === false;
        },
      ),
      { numRuns: 60 },
    );
  });
});
