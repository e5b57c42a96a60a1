/**
 * Batched claim signing, the format (docs/binding.md, "Batched claim signing"): the vectors written in the
 * doc, RFC 9162 inclusion proofs for every index of every tree size 1..300, and every mutation of a proof
 * (fast-check) leading to no root or another root; the signed message can never be a claim's.
 */
import * as assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CLAIM_BATCH_DOMAIN,
  checkClaimBatchShape,
  claimBatchLeaf,
  claimBatchMessage,
  claimBatchNode,
  claimBatchProofToJson,
  claimBatchRoot,
  claimBatchRootFromProof,
  claimBatchTree,
  claimFromJson,
  claimSignedBytes,
  encodeClaim,
  parseEnvelope,
} from '../../src/binding/index.ts';
import { BINDING_VECTORS } from './vectors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (i: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, false);
  return b;
};
const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => claimBatchLeaf(u32(i)));
const DOC = readFileSync(new URL('../../docs/binding.md', import.meta.url), 'utf8');
const eq = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && hex(a) === hex(b);

/** The vectors of docs/binding.md ("Batched claim signing", "Vectors"). */
const THREE = {
  claims: ['minimal', 'typed-metered-session', 'legacy-trap-wasi'],
  leaves: [
    'd06dc1470935489026f9bb51a14d45297cc12e54142ec0577bc973d58bf164bb',
    '528e6ee9735141c551ed0ca518f61d3c7f3525091d0387f7fccca3a47a0bf70b',
    'ce0ebff248ed6ae53a3842c7433d47bfe2f3987810fec8109990ccfc0d86b267',
  ],
  root: 'd84449d5c1f3baabc2f8fb235800c130079f98b80b7dd7ca779068597dc9bbd9',
  message:
    '7761736d766d2d7465652f636c61696d2d62617463682f76310000000000000003d84449d5c1f3baabc2f8fb235800c130079f98b80b7dd7ca779068597dc9bbd9',
  paths: [
    [
      '528e6ee9735141c551ed0ca518f61d3c7f3525091d0387f7fccca3a47a0bf70b',
      'ce0ebff248ed6ae53a3842c7433d47bfe2f3987810fec8109990ccfc0d86b267',
    ],
    [
      'd06dc1470935489026f9bb51a14d45297cc12e54142ec0577bc973d58bf164bb',
      'ce0ebff248ed6ae53a3842c7433d47bfe2f3987810fec8109990ccfc0d86b267',
    ],
    ['8d13db30b2b314c82f74f2c8f99da86fba87394bfe12c4432df2fb72ed5d30cf'],
  ],
};
const ROOTS_1_TO_8 = [
  '8e3f54662cf7746c10ea158343d996ff7e0c12b23785fd87aa6439c80f39a46c',
  '70bd99252f0aa36869428a2fadfd6a3f81cbc7b6eada407510c5f22e3db4a9c6',
  'b71c7e89d5572e1e53cdb200622062e191429f9095f6d0bed7e73151fb342534',
  '8d5614133d528afb5922033198ee6f4e4b6723e5d4679143e0a5c2ac53f0d19c',
  'a6389b8cbfdacf0bbf6c61d417dd99763d69f3b072fda946bc294251eba9d360',
  'da13b6ad3c914db106259aff041f617696e9c17d8771debf9b8ac1c0ba5d0454',
  '41db5cd9e637f40b2cf00a04379f81e39d25b4072a8535dbc2968935287d3f09',
  '41b871c66570fbe770c6db470cd5a5f64ea7a371f2884ef021bb4a7b02d0fbca',
];
const PATH_4_OF_7 = [
  'ce712cd2ebfeac955c4c42e0af5cbebb299d58d9be17c6164fc25f671f2c578f',
  '971fe3dbe8e2c67150f1df2f3356345278b271c191dc4fdfc6de693cf2eff2a0',
  '8d5614133d528afb5922033198ee6f4e4b6723e5d4679143e0a5c2ac53f0d19c',
];

describe('claim batch: vectors (docs/binding.md)', () => {
  it('three-claims: leaves, root, signed bytes and every path', () => {
    const enc = THREE.claims.map((n) =>
      encodeClaim(claimFromJson(BINDING_VECTORS.find((v) => v.name === n)!.claim)),
    );
    const leaves = enc.map(claimBatchLeaf);
    assert.deepEqual(leaves.map(hex), THREE.leaves);
    const { root, paths } = claimBatchTree(leaves);
    assert.equal(hex(root), THREE.root);
    assert.equal(hex(claimBatchRoot(leaves)), THREE.root);
    assert.equal(hex(claimBatchMessage(3, root)), THREE.message);
    assert.deepEqual(
      paths.map((p) => p.map(hex)),
      THREE.paths,
    );
    for (let i = 0; i < 3; i++) {
      const s = claimSignedBytes(enc[i]!, { index: i, size: 3, path: THREE.paths[i]! });
      assert.equal(hex(s!.bytes), THREE.message);
    }
  });

  it('tree shapes: roots for 1..8 leaves, the path of leaf 4 of 7', () => {
    for (let n = 1; n <= 8; n++)
      assert.equal(hex(claimBatchRoot(leavesOf(n))), ROOTS_1_TO_8[n - 1], `n=${n}`);
    assert.deepEqual(claimBatchTree(leavesOf(7)).paths[4]!.map(hex), PATH_4_OF_7);
    // the leaf of one: SHA-256(0x00 ‖ domain ‖ data); an odd node is carried up, not duplicated
    const l = leavesOf(3);
    assert.equal(hex(claimBatchRoot(l)), hex(claimBatchNode(claimBatchNode(l[0]!, l[1]!), l[2]!)));
    assert.notEqual(hex(claimBatchRoot(l)), hex(claimBatchRoot([...l, l[2]!])));
  });

  it('every vector is written in docs/binding.md', () => {
    for (const h of [
      ...THREE.leaves,
      THREE.root,
      THREE.message,
      ...THREE.paths.flat(),
      ...ROOTS_1_TO_8,
      ...PATH_4_OF_7,
    ])
      assert.ok(DOC.includes(h), `${h} not in docs/binding.md`);
    assert.ok(DOC.includes(`"${CLAIM_BATCH_DOMAIN}"`));
  });
});

describe('claim batch: inclusion proofs', () => {
  it('every index of every tree size 1..300 proves inclusion (and the tree equals MTH)', () => {
    let proofs = 0;
    for (let n = 1; n <= 300; n++) {
      const leaves = leavesOf(n);
      const { root, paths } = claimBatchTree(leaves);
      assert.equal(hex(root), hex(claimBatchRoot(leaves)), `n=${n}`);
      for (let i = 0; i < n; i++) {
        assert.ok(eq(claimBatchRootFromProof(leaves[i]!, i, n, paths[i]!), root), `n=${n} i=${i}`);
        proofs++;
      }
    }
    assert.equal(proofs, (300 * 301) / 2);
  });

  it('every mutation of a proof leads to no root or another root (fast-check)', () => {
    const cases = fc.record({ n: fc.integer({ min: 1, max: 300 }), i: fc.nat(), seed: fc.nat() });
    fc.assert(
      fc.property(cases, fc.integer({ min: 0, max: 9 }), ({ n, i: i0, seed }, kind) => {
        const i = i0 % n;
        const leaves = leavesOf(n);
        const { root, paths } = claimBatchTree(leaves);
        const path = paths[i]!;
        const leaf = leaves[i]!;
        // What the key signed: size ‖ root. (A proof can lead to the same root under another size — leaf 0
        // of 3 and of 4 with the same path — which is why the size is signed.)
        const signed = claimBatchMessage(n, root);
        const ok = (l: Uint8Array, idx: number, size: number, p: Uint8Array[]) => {
          const r = claimBatchRootFromProof(l, idx, size, p);
          return r !== undefined && eq(claimBatchMessage(size, r), signed);
        };
        assert.ok(ok(leaf, i, n, path));
        const flip = (b: Uint8Array, pos: number) => {
          const c = new Uint8Array(b);
          c[pos % c.length]! ^= 1 << (seed % 8);
          return c;
        };
        switch (kind) {
          case 0: // a byte of a path element
            if (path.length === 0) return;
            {
              const k = seed % path.length;
              assert.ok(
                !ok(
                  leaf,
                  i,
                  n,
                  path.map((p, j) => (j === k ? flip(p, seed >> 3) : p)),
                ),
              );
            }
            return;
          case 1: // the leaf (a byte of the claim changes its leaf)
            assert.ok(!ok(flip(leaf, seed), i, n, path));
            return;
          case 2: // another index
            for (let j = 0; j < Math.min(n, 64); j++) if (j !== i) assert.ok(!ok(leaf, j, n, path));
            assert.ok(!ok(leaf, n, n, path));
            assert.ok(!ok(leaf, -1, n, path));
            return;
          case 3: // another size
            for (let m = Math.max(1, n - 40); m <= n + 40; m++)
              if (m !== n) assert.ok(!ok(leaf, i, m, path), `size ${m}`);
            return;
          case 4: // a path element dropped
            if (path.length === 0) return;
            assert.ok(
              !ok(
                leaf,
                i,
                n,
                path.filter((_, j) => j !== seed % path.length),
              ),
            );
            return;
          case 5: // a path element added (anywhere)
            {
              const at = seed % (path.length + 1);
              assert.ok(!ok(leaf, i, n, [...path.slice(0, at), leaf, ...path.slice(at)]));
              assert.ok(!ok(leaf, i, n, [...path, root]));
            }
            return;
          case 6: // two path elements swapped
            if (path.length < 2) return;
            {
              const a = seed % path.length;
              const b = (a + 1) % path.length;
              const p = [...path];
              [p[a], p[b]] = [p[b]!, p[a]!];
              if (hex(p[a]!) !== hex(p[b]!)) assert.ok(!ok(leaf, i, n, p));
            }
            return;
          case 7: // the proof of another leaf of the same batch
            if (n === 1) return;
            {
              const j = (i + 1 + (seed % (n - 1))) % n;
              assert.ok(!ok(leaf, i, n, paths[j]!));
              assert.ok(!ok(leaf, j, n, paths[j]!));
              assert.ok(!ok(leaf, j, n, path));
            }
            return;
          case 8: // the leaf presented as an interior node, or the node as a leaf (second preimage)
            if (path.length === 0) return;
            assert.ok(!ok(path[0]!, i ^ 1, n, path.slice(1)));
            return;
          default: // the root itself as a leaf of a tree of one
            if (n === 1) return;
            assert.ok(!eq(claimBatchRootFromProof(root, 0, 1, []), claimBatchLeaf(u32(0))) || n === 1);
        }
      }),
      { numRuns: 400, seed: 20_03 },
    );
  });

  it('the batch message is never a claim encoding, and signatures do not cross over', () => {
    const claim = claimFromJson(BINDING_VECTORS[0]!.claim);
    const enc = encodeClaim(claim);
    const msg = claimBatchMessage(1, claimBatchLeaf(enc));
    // byte 4 of encodeClaim is the input side's first field id 0x01; of the batch message 'v' (0x76)
    assert.equal(enc[4], 0x01);
    assert.equal(msg[4], 0x76);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p1363 = { dsaEncoding: 'ieee-p1363' } as const;
    const claimSig = sign('sha256', enc, { key: privateKey, ...p1363 });
    const batch = claimBatchProofToJson(0, 1, []);
    const asBatch = claimSignedBytes(enc, batch)!;
    // a single-claim signature presented as a batch (of one): not over the batch message
    assert.equal(verify('sha256', asBatch.bytes, { key: publicKey, ...p1363 }, claimSig), false);
    // a batch signature presented as a single claim: not over encodeClaim
    const batchSig = sign('sha256', asBatch.bytes, { key: privateKey, ...p1363 });
    assert.equal(
      verify('sha256', claimSignedBytes(enc, undefined)!.bytes, { key: publicKey, ...p1363 }, batchSig),
      false,
    );
    assert.equal(verify('sha256', asBatch.bytes, { key: publicKey, ...p1363 }, batchSig), true);
  });

  it('envelope.batch is shape-checked strictly (session-key only)', () => {
    const ok = { index: 0, size: 2, path: ['00'.repeat(32)] };
    assert.deepEqual(checkClaimBatchShape(ok), ok);
    for (const [bad, field] of [
      [{ ...ok, extra: 1 }, 'attestation.batch.extra'],
      [{ ...ok, size: 0 }, 'attestation.batch.size'],
      [{ ...ok, size: 1.5 }, 'attestation.batch.size'],
      [{ ...ok, index: -1 }, 'attestation.batch.index'],
      [{ ...ok, index: '0' }, 'attestation.batch.index'],
      [{ ...ok, path: ['AA'.repeat(32)] }, 'attestation.batch.path[0]'],
      [{ ...ok, path: 'x' }, 'attestation.batch.path'],
      [[], 'attestation.batch'],
    ] as const)
      assert.throws(
        () => checkClaimBatchShape(bad),
        (e: Error & { field?: string }) => e.field === field,
        JSON.stringify(bad),
      );
    const perRequest = {
      format: 'wasmvm-tee/attestation',
      v: 3,
      mode: 'per-request',
      claim: BINDING_VECTORS[0]!.claim,
      reportData: BINDING_VECTORS[0]!.reportData,
      evidence: { kind: 'sev-snp', simulated: true, provider: 'x', report: '' },
      batch: ok,
    };
    assert.throws(() => parseEnvelope(perRequest), /attestation\.batch: not allowed in per-request mode/);
  });
});
