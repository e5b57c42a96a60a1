/**
 * The Python reference in docs/binding.md (written from the document alone) reproduces the claim v3
 * vectors byte for byte: the input side, the output side, REPORT_DATA and gpuBindingData of each, and the
 * session-key REPORT_DATA v4 vector; the batched claim signing Python reproduces the batch vectors. Needs
 * python3 (Debian: python3).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BINDING_VECTORS, SESSION_VECTOR } from '../test/binding/vectors.ts';

const python = process.env.WASMVM_PYTHON ?? '/usr/bin/python3';
const available =
  spawnSync(python, ['-c', 'import hashlib, struct, json'], { encoding: 'utf8' }).status === 0;

describe('binding: the Python reference of docs/binding.md', {
  skip: !available && !process.env.CI ? `${python} not found` : false,
}, () => {
  it('reproduces every claim vector and the session-key vector', () => {
    const doc = readFileSync(new URL('../docs/binding.md', import.meta.url), 'utf8');
    const code = /### Python reference[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(code, 'no Python reference in docs/binding.md');
    const dir = mkdtempSync(join(tmpdir(), 'wasmvm-binding-py-'));
    try {
      writeFileSync(join(dir, 'ref.py'), code);
      writeFileSync(join(dir, 'vectors.json'), JSON.stringify(BINDING_VECTORS));
      const r = spawnSync(python, [join(dir, 'ref.py'), join(dir, 'vectors.json')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      for (const v of BINDING_VECTORS)
        assert.match(r.stdout, new RegExp(`^${v.name} True True True True$`, 'm'));
      const d = SESSION_VECTOR.data;
      const s = spawnSync(
        python,
        [
          '-c',
          `import hashlib,struct;print(hashlib.sha512(b"wasmvm-tee/session-key/v4"+struct.pack(">I",4)+bytes.fromhex("${d.spki}")+struct.pack(">I",3)+bytes.fromhex("${d.claimSpki}")+struct.pack(">QQQ",${d.epoch},${d.notBefore},${d.notAfter})+struct.pack(">I",2)+b"${d.kid}"+struct.pack(">I",2)+bytes.fromhex("${SESSION_VECTOR.nonce}")+struct.pack(">I",${d.sealSuite.length})+b"${d.sealSuite}"+struct.pack(">I",32)+bytes.fromhex("${d.sealPublicKey}")).hexdigest())`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(s.stdout.trim(), SESSION_VECTOR.reportData, s.stderr);
      // v5: the same fields, then the attested TLS key (origin, SPKI hash)
      const t = spawnSync(
        python,
        [
          '-c',
          `import hashlib,struct;print(hashlib.sha512(b"wasmvm-tee/session-key/v5"+struct.pack(">I",4)+bytes.fromhex("${d.spki}")+struct.pack(">I",3)+bytes.fromhex("${d.claimSpki}")+struct.pack(">QQQ",${d.epoch},${d.notBefore},${d.notAfter})+struct.pack(">I",2)+b"${d.kid}"+struct.pack(">I",2)+bytes.fromhex("${SESSION_VECTOR.nonce}")+struct.pack(">I",${d.sealSuite.length})+b"${d.sealSuite}"+struct.pack(">I",32)+bytes.fromhex("${d.sealPublicKey}")+struct.pack(">I",13)+b"tee-generated"+struct.pack(">I",32)+bytes.fromhex("${SESSION_VECTOR.tlsSpkiSha256}")).hexdigest())`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(t.stdout.trim(), SESSION_VECTOR.reportDataTlsTee, t.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the batched claim signing Python reproduces the batch vectors (roots, a path, three-claims)', () => {
    const doc = readFileSync(new URL('../docs/binding.md', import.meta.url), 'utf8');
    const section = /## Batched claim signing[\s\S]*?\n## Test vectors/.exec(doc)?.[0] ?? '';
    const code = /```python\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, 'no Python in the batched claim signing section');
    const sides = ['minimal', 'typed-metered-session', 'legacy-trap-wasi'].map((n) => {
      const v = BINDING_VECTORS.find((x) => x.name === n)!;
      return `(bytes.fromhex("${v.inputSide}"), bytes.fromhex("${v.outputSide}"))`;
    });
    const extra = [
      'ls7 = [leaf(struct.pack(">I", i)) for i in range(7)]',
      'print(" ".join(x.hex() for x in path(4, ls7)))',
      `ls = [leaf(enc(*s)) for s in [${sides.join(', ')}]]`,
      'print(mth(ls).hex(), message(3, mth(ls)).hex())',
      'print(all(root_from(ls[m], m, 3, path(m, ls)) == mth(ls) for m in range(3)), root_from(ls[0], 0, 3, path(1, ls)) == mth(ls))',
    ].join('\n');
    const r = spawnSync(python, ['-c', `${code}\n${extra}\n`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const roots = JSON.parse(lines[0]!.replaceAll("'", '"')) as string[];
    for (const [i, h] of roots.entries()) assert.ok(doc.includes(`${i + 1}. \`${h}\``), `root of ${i + 1}`);
    assert.ok(doc.includes(`[${lines[1]!.split(' ').join(', ')}]`), 'path of leaf 4 of 7');
    const [root, message] = lines[2]!.split(' ');
    assert.ok(doc.includes(`- root: \`${root}\``) && doc.includes(`- signed bytes: \`${message}\``));
    assert.equal(lines[3], 'True False');
  });
});
