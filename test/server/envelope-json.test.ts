/**
 * The service serializes session-key envelopes with the session part cached per key epoch
 * (envelopeJson): the string must be exactly JSON.stringify(envelope), for both modes, with and
 * without GPU evidence, on first use and from the cache, and after a key rotation.
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { type ClaimDraft, parseEnvelope } from '../../src/binding/index.ts';
import { envelopeJson } from '../../src/server/service.ts';
import { simulatedAttester } from './helpers.ts';

function claim(i: number): ClaimDraft {
  return {
    bytecodeSha256: 'ab'.repeat(32),
    fn: 'add',
    inputs: { legacy: ['20', String(i)] },
    mode: 'interp',
    meter: false,
    attestationRequested: 'default',
    gpuRequested: false,
    executedMode: 'interp',
    requestId: `req-${i}`,
    status: 'ok',
    outputs: [{ type: 'i32', value: 20 + i }],
    costTableVersion: 'test',
  };
}

describe('envelopeJson', () => {
  const sim = simulatedAttester();
  after(() => sim.cleanup());

  for (const mode of ['session-key', 'per-request'] as const) {
    it(`${mode}: byte-identical to JSON.stringify, cached or not, with or without gpu`, async () => {
      for (let i = 0; i < 3; i++) {
        const { envelope: env } = await sim.attester.attestExecution(claim(i), mode, {
          includeGpuEvidence: false,
        });
        const expected = JSON.stringify(env);
        assert.equal(envelopeJson(env), expected);
        assert.equal(envelopeJson(env), expected); // second call: from the cache
        assert.deepEqual(parseEnvelope(envelopeJson(env)), JSON.parse(expected));
        env.gpu = [{ arch: 'HOPPER', evidence: 'x"\\\u2028' }];
        assert.equal(envelopeJson(env), JSON.stringify(env));
      }
    });
  }

  it('a different session object (rotation, GetAttestation nonce) is serialized afresh', async () => {
    const { envelope: env } = await sim.attester.attestExecution(claim(7), 'session-key', {
      includeGpuEvidence: false,
    });
    assert.ok(env.session);
    envelopeJson(env);
    const rotated = { ...env, session: { ...env.session, epoch: env.session.epoch + 1, nonce: '00ff' } };
    assert.equal(envelopeJson(rotated), JSON.stringify(rotated));
    assert.match(envelopeJson(rotated), /"epoch":\d+,"notBefore"/);
  });
});
