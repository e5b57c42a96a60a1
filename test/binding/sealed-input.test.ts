/**
 * Sealed input (run --sealed-input, docs/sealed-execution.md §10): the key REPORT_DATA vector (also in the
 * docs, computed independently with Python's hashlib), strict parsing of key requests and sealed files,
 * and a seal/open round trip with the same HPKE info string as ExecuteSealed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  generateSealKeyPair,
  openSealedInput,
  parseSealedInputFile,
  parseSealedInputKeyRequest,
  SEALED_INPUT_KEY_REQUEST_FORMAT,
  type SealedInputKeyRequest,
  sealedInputKeyReportData,
  sealInput,
} from '../../src/binding/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Python: the §10 formula over these fields (hashlib.sha512, struct.pack('>I'/'>QQ')). */
const VECTOR =
  '52ed853b9913bbb12ddd128a9a98cf8c2019268c8a8d3b60f8f206b6ecca55aefcbe9cfe2ac838cdfa573f6728550c9d5dd71c4458b66db3505f48b77933eb6c';
const fields = {
  keyId: 'A'.repeat(22),
  suite: 'x25519-sha256-chacha20poly1305',
  publicKey: new Uint8Array(32).fill(0x33),
  notBefore: 1767225600000,
  notAfter: 1767226200000,
  moduleSha256: new Uint8Array(32).fill(0x44),
  run: '{"args":["train.wasm"]}',
  nonce: Uint8Array.from([0xaa, 0xbb]),
};

describe('sealed input', () => {
  it('key REPORT_DATA vector (docs/sealed-execution.md §10); every field is bound', () => {
    assert.equal(hex(sealedInputKeyReportData(fields)), VECTOR);
    const doc = readFileSync(new URL('../../docs/sealed-execution.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(VECTOR), 'vector not in the docs');
    for (const edit of [
      { keyId: 'B'.repeat(22) },
      { publicKey: new Uint8Array(32).fill(0x34) },
      { notAfter: fields.notAfter + 1 },
      { moduleSha256: new Uint8Array(32).fill(0x45) },
      { run: '{"args":["train.wasm","--dump"]}' },
      { nonce: new Uint8Array(0) },
    ])
      assert.notEqual(hex(sealedInputKeyReportData({ ...fields, ...edit })), VECTOR, JSON.stringify(edit));
    assert.throws(() => sealedInputKeyReportData({ ...fields, moduleSha256: new Uint8Array(31) }), {
      code: 'INVALID_ENVELOPE',
    });
  });

  it('seal / open round trip; another key id, suite or one edited byte does not open', async () => {
    const key = await generateSealKeyPair(fields.suite);
    const req: SealedInputKeyRequest = {
      format: SEALED_INPUT_KEY_REQUEST_FORMAT,
      v: 1,
      keyId: fields.keyId,
      seal: { suite: key.suite, publicKey: Buffer.from(key.publicKey).toString('base64') },
      notBefore: new Date(fields.notBefore).toISOString(),
      notAfter: new Date(fields.notAfter).toISOString(),
      moduleSha256: '44'.repeat(32),
      run: fields.run,
      nonce: 'aabb',
      evidence: { kind: 'sev-snp', simulated: true, provider: 'x', report: '' },
    };
    assert.deepEqual(parseSealedInputKeyRequest(JSON.stringify(req)), req);
    const data = new TextEncoder().encode('alice,42\n'.repeat(500));
    const file = parseSealedInputFile(JSON.stringify(await sealInput(req, data)));
    assert.deepEqual(await openSealedInput(key, fields.keyId, file), data);
    await assert.rejects(openSealedInput(key, 'B'.repeat(22), file), { code: 'SEAL_OPEN_FAILED' });
    await assert.rejects(openSealedInput(key, fields.keyId, { ...file, keyId: 'B'.repeat(22) }), {
      code: 'SEAL_OPEN_FAILED',
    });
    const ct = Buffer.from(file.ciphertext, 'base64');
    ct[7]! ^= 0x80;
    await assert.rejects(openSealedInput(key, fields.keyId, { ...file, ciphertext: ct.toString('base64') }), {
      code: 'SEAL_OPEN_FAILED',
    });
    const other = await generateSealKeyPair(fields.suite);
    await assert.rejects(openSealedInput(other, fields.keyId, file), { code: 'SEAL_OPEN_FAILED' });
  });

  it('strict parsing: unknown fields, versions, suites, key sizes and hex are refused', () => {
    const base = {
      format: SEALED_INPUT_KEY_REQUEST_FORMAT,
      v: 1,
      keyId: fields.keyId,
      seal: { suite: fields.suite, publicKey: Buffer.alloc(32, 1).toString('base64') },
      notBefore: new Date(fields.notBefore).toISOString(),
      notAfter: new Date(fields.notAfter).toISOString(),
      moduleSha256: '44'.repeat(32),
      run: fields.run,
      nonce: '',
      evidence: { kind: 'sev-snp', simulated: true, provider: 'x', report: '' },
    };
    parseSealedInputKeyRequest(base);
    for (const bad of [
      { ...base, extra: 1 },
      { ...base, v: 2 },
      { ...base, seal: { ...base.seal, suite: 'rot13' } },
      { ...base, seal: { ...base.seal, publicKey: Buffer.alloc(31, 1).toString('base64') } },
      { ...base, moduleSha256: 'AB'.repeat(32) },
      { ...base, run: 'not json' },
      { ...base, nonce: 'abc' },
      { ...base, keyId: 'short' },
    ])
      assert.throws(() => parseSealedInputKeyRequest(bad), JSON.stringify(bad).slice(0, 80));
    assert.throws(() => parseSealedInputFile({ format: 'wasmvm-tee/sealed-input', v: 1, keyId: 'k' }));
  });
});
