/**
 * Issue 13 item 6 / issue 14 item 8, NVIDIA: NRAS tokens verified against NVIDIA's pinned keys by default,
 * added keys must chain to the pinned NRAS CA; NRAS responses, GPU evidence and chains are bounded; unknown
 * critical X.509 extensions are rejected. Hostile inputs are generated here.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { verifyChainToPinnedRoot } from '../../../src/verify/nvidia/certs.ts';
import { NVIDIA_LIMITS, verifyGpuEvidence, verifyGpuEvidenceList } from '../../../src/verify/nvidia/local.ts';
import { NRAS_LIMITS, verifyNrasResponse } from '../../../src/verify/nvidia/nras.ts';
import { checkOf, dataJson, hopperEvidence, NONCE_1GPU, NRAS_CLOCK } from './helpers.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type Detached = [[string, string], Record<string, string>];
const r1 = () => dataJson<Detached>('nras-v3-h100-1gpu.response.json');
const payload = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as JWTPayload;

describe('NRAS: pinned keys by default', () => {
  it('the recorded response verifies with no JWKS given (NVIDIA pinned keys, pinned NRAS CA)', async () => {
    const v = await verifyNrasResponse(r1(), { nonce: NONCE_1GPU, now: NRAS_CLOCK });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome !== 'pass')));
    assert.match(checkOf(v, 'nvidia.nras.signing-cert').detail, /pinned/);
    assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.signing-cert').outcome, 'pass');
  });

  it('an added key (not chained to the pinned NRAS CA) cannot sign: tokens re-signed with it are rejected', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const kid = 'attacker-kid';
    const added = { keys: [{ ...(await exportJWK(publicKey)), kid }] };
    const [head, devs] = r1();
    const sign = (t: string) =>
      new SignJWT(payload(t)).setProtectedHeader({ alg: 'ES384', kid }).sign(privateKey);
    const overall = await sign(head[1]);
    const resp: Detached = [['JWT', overall], { 'GPU-0': await sign(devs['GPU-0']!) }];
    const v = await verifyNrasResponse(resp, { nonce: NONCE_1GPU, now: NRAS_CLOCK, jwks: added });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v, 'nvidia.nras.signature').outcome, 'pass');
    assert.equal(checkOf(v, 'nvidia.nras.signing-cert').outcome, 'fail');
    assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.signing-cert').outcome, 'fail');
    // An added key under a pinned kid is ignored: the pinned key wins.
    const KID = (JSON.parse(Buffer.from(head[1].split('.')[0]!, 'base64url').toString()) as { kid: string })
      .kid;
    const shadow = { keys: [{ ...(await exportJWK(publicKey)), kid: KID }] };
    const v2 = await verifyNrasResponse(r1(), { nonce: NONCE_1GPU, now: NRAS_CLOCK, jwks: shadow });
    assert.equal(v2.ok, true);
    assert.match(checkOf(v2, 'nvidia.nras.keys').detail, /1 added key\(s\) ignored/);
  });

  it(`a response with more than ${NRAS_LIMITS.maxDeviceTokens} device tokens is rejected (NVIDIA_NRAS_SIZE)`, async () => {
    const [head, devs] = r1();
    const many: Record<string, string> = {};
    for (let i = 0; i <= NRAS_LIMITS.maxDeviceTokens; i++) many[`GPU-${i}`] = devs['GPU-0']!;
    const v = await verifyNrasResponse([head, many], { nonce: NONCE_1GPU, now: NRAS_CLOCK });
    assert.equal(v.ok, false);
    assert.match(checkOf(v, 'nvidia.nras.format').detail, /NVIDIA_NRAS_SIZE/);
  });
});

describe('GPU evidence: bounded', () => {
  it('oversized evidence and certificate text are rejected before decoding', async () => {
    const e = hopperEvidence();
    const big = Buffer.alloc(NVIDIA_LIMITS.maxEvidenceBytes + 4096).toString('base64');
    const v = await verifyGpuEvidence({ ...e, evidence: big }, {});
    assert.match(checkOf(v, 'nvidia.spdm.parse').detail, /NVIDIA_EVIDENCE_SIZE/);
    const pem = Buffer.from(e.certificate, 'base64').toString('latin1');
    const first = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/)![0];
    const nine = Buffer.from(first.repeat(NVIDIA_LIMITS.maxChainCerts + 1)).toString('base64');
    const c = await verifyGpuEvidence({ ...e, certificate: nine }, {});
    assert.match(checkOf(c, 'nvidia.chain.parse').detail, /NVIDIA_CHAIN_COUNT/);
    const list = await verifyGpuEvidenceList(new Array(NVIDIA_LIMITS.maxGpus + 1).fill(e), {});
    assert.equal(list.ok, false);
    assert.match(checkOf(list, 'nvidia.gpu-count').detail, /NVIDIA_EVIDENCE_SIZE/);
  });

  it('a chain certificate with an unknown critical extension is rejected; the real chain has none', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const rootKeys = (await webcrypto.subtle.generateKey(alg, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const leafKeys = (await webcrypto.subtle.generateKey(alg, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Test Root (SIMULATED)',
      keys: rootKeys,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const leafWith = async (critical: boolean) =>
      x509.X509CertificateGenerator.create({
        serialNumber: '02',
        subject: 'CN=Test Leaf',
        issuer: root.subject,
        publicKey: leafKeys.publicKey,
        signingKey: rootKeys.privateKey,
        signingAlgorithm: alg,
        extensions: [new x509.Extension('1.3.6.1.4.1.99999.3', critical, new Uint8Array([5, 0]))],
      });
    const { Certificate } = await import('../../../src/verify/x509.ts');
    const rootN = Certificate.parse(new Uint8Array(root.rawData));
    const now = new Date();
    const bad = await verifyChainToPinnedRoot(
      [Certificate.parse(new Uint8Array((await leafWith(true)).rawData)), rootN],
      now,
      rootN,
    );
    assert.equal(bad.criticalExtensions.ok, false);
    assert.match(bad.criticalExtensions.detail, /1\.3\.6\.1\.4\.1\.99999\.3/);
    const ok = await verifyChainToPinnedRoot(
      [Certificate.parse(new Uint8Array((await leafWith(false)).rawData)), rootN],
      now,
      rootN,
    );
    assert.equal(ok.criticalExtensions.ok, true);
    const real = await verifyGpuEvidence(hopperEvidence(), { now: NRAS_CLOCK });
    assert.equal(checkOf(real, 'nvidia.chain.critical-extensions').outcome, 'pass');
    assert.match(JSON.stringify(real.fields?.root), /pinned NVIDIA Device Identity CA/);
  });
});
