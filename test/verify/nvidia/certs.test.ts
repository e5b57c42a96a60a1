/**
 * The certificate helpers that replaced node:crypto's X509Certificate in the NVIDIA verifier, checked
 * against node:crypto itself (OpenSSL) on generated certificates: issuer match (names, authority key id,
 * the issuer's keyUsage), CA flag, signature (ECDSA P-384/P-256, RSA PKCS#1 v1.5 and RSA-PSS), the JWK ↔
 * certificate key comparison and the printed validity times must answer exactly as OpenSSL does.
 */
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import {
  generateKeyPairSync,
  X509Certificate as NodeCert,
  createPublicKey as nodeKey,
  webcrypto,
} from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import {
  certSignatureValid,
  checkIssued,
  extendedKeyUsage,
  isCa,
  jwkMatchesSpki,
  opensslTime,
} from '../../../src/verify/nvidia/certs.ts';
import { Certificate } from '../../../src/verify/x509.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type Keys = webcrypto.CryptoKeyPair;
const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const PSS = {
  name: 'RSA-PSS',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
  saltLength: 32,
};
const keys = async (alg: object) =>
  (await webcrypto.subtle.generateKey(alg as never, true, ['sign', 'verify'])) as Keys;
const CA_KU = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

interface Made {
  ours: Certificate;
  node: NodeCert;
}
async function make(o: {
  subject: string;
  issuer?: string;
  keys: Keys;
  signer: Keys;
  alg?: object;
  ext?: x509.Extension[];
  serial?: string;
}): Promise<Made> {
  const c = await x509.X509CertificateGenerator.create({
    serialNumber: o.serial ?? '0a',
    subject: o.subject,
    issuer: o.issuer ?? o.subject,
    notBefore: new Date('2024-03-02T04:05:06Z'),
    notAfter: new Date('2034-12-31T23:59:59Z'),
    publicKey: o.keys.publicKey,
    signingKey: o.signer.privateKey,
    signingAlgorithm: (o.alg ?? P384) as never,
    extensions: o.ext ?? [],
  });
  const der = new Uint8Array(c.rawData);
  return { ours: Certificate.parse(der), node: new NodeCert(der) };
}

/** Our answers for (c, issuer) equal OpenSSL's. */
async function sameAsOpenSsl(c: Made, issuer: Made, what: string) {
  assert.equal(checkIssued(c.ours, issuer.ours), c.node.checkIssued(issuer.node), `${what}: checkIssued`);
  assert.equal(isCa(c.ours), c.node.ca, `${what}: ca`);
  assert.equal(
    await certSignatureValid(c.ours, issuer.ours),
    c.node.verify(issuer.node.publicKey),
    `${what}: signature`,
  );
  assert.deepEqual(extendedKeyUsage(c.ours), c.node.keyUsage, `${what}: extended key usage`);
}

describe('NVIDIA certificate helpers answer as node:crypto (OpenSSL) does', async () => {
  const rootKeys = await keys(P384);
  const otherKeys = await keys(P384);
  const leafKeys = await keys(P384);
  const skid = await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey);
  const root = await make({
    subject: 'CN=Root, O=Test',
    keys: rootKeys,
    signer: rootKeys,
    ext: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(CA_KU, true),
      skid,
    ],
  });
  const leaf = async (ext: x509.Extension[], o: { issuer?: string; signer?: Keys; alg?: object } = {}) =>
    make({
      subject: 'CN=Leaf, O=Test',
      issuer: o.issuer ?? 'CN=Root, O=Test',
      keys: leafKeys,
      signer: o.signer ?? rootKeys,
      ext,
      ...(o.alg ? { alg: o.alg } : {}),
    });

  it('issuer match: names, authority key id (key id, serial), the issuer keyUsage', async () => {
    const akid = await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey);
    await sameAsOpenSsl(await leaf([]), root, 'no AKID');
    await sameAsOpenSsl(await leaf([akid]), root, 'AKID = SKID');
    await sameAsOpenSsl(
      await leaf([new x509.AuthorityKeyIdentifierExtension('0102030405')]),
      root,
      'AKID ≠ SKID',
    );
    await sameAsOpenSsl(await leaf([], { issuer: 'CN=Another, O=Test' }), root, 'other issuer name');
    await sameAsOpenSsl(await leaf([], { signer: otherKeys }), root, 'signed by another key');
    const kuNoSign = await make({
      subject: 'CN=Root, O=Test',
      keys: rootKeys,
      signer: rootKeys,
      ext: [
        new x509.BasicConstraintsExtension(true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    });
    await sameAsOpenSsl(await leaf([]), kuNoSign, 'issuer keyUsage without keyCertSign');
    await sameAsOpenSsl(root, root, 'self-signed root');
  });

  it('CA flag: basicConstraints, keyUsage, neither', async () => {
    for (const [what, ext] of [
      ['CA:TRUE', [new x509.BasicConstraintsExtension(true)]],
      ['CA:FALSE', [new x509.BasicConstraintsExtension(false)]],
      [
        'CA:TRUE, keyUsage digitalSignature',
        [
          new x509.BasicConstraintsExtension(true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
        ],
      ],
      [
        'CA:TRUE, keyUsage keyCertSign',
        [new x509.BasicConstraintsExtension(true), new x509.KeyUsagesExtension(CA_KU)],
      ],
      ['keyUsage keyCertSign only', [new x509.KeyUsagesExtension(CA_KU)]],
      ['no extensions', []],
      ['OCSPSigning EKU', [new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.9'])]],
    ] as const)
      await sameAsOpenSsl(await leaf([...ext]), root, what);
  });

  it('signatures: ECDSA P-384 and P-256, RSA PKCS#1 v1.5 and RSA-PSS, wrong key type', async () => {
    for (const [what, alg] of [
      ['P-256', P256],
      ['RSA PKCS#1 v1.5', RSA],
      ['RSA-PSS', PSS],
    ] as const) {
      const k = await keys(alg);
      const ca = await make({
        subject: `CN=${what} CA`,
        keys: k,
        signer: k,
        alg,
        ext: [new x509.BasicConstraintsExtension(true)],
      });
      const c = await make({ subject: 'CN=Leaf', issuer: `CN=${what} CA`, keys: leafKeys, signer: k, alg });
      await sameAsOpenSsl(c, ca, what);
      await sameAsOpenSsl(c, root, `${what} leaf, P-384 issuer`);
    }
  });

  it('a JWK matches a certificate key exactly when node:crypto says the keys are equal', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const ec2 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const all = [ec, ec2, p256, rsa, rsa2];
    for (const a of all)
      for (const b of all) {
        const jwk = a.export({ format: 'jwk' }) as Record<string, unknown>;
        const spki = new Uint8Array(b.export({ format: 'der', type: 'spki' }));
        assert.equal(jwkMatchesSpki(jwk, spki), nodeKey({ key: jwk as never, format: 'jwk' }).equals(b));
      }
    const jwk = ec.export({ format: 'jwk' }) as Record<string, unknown>;
    const spki = new Uint8Array(ec.export({ format: 'der', type: 'spki' }));
    assert.equal(jwkMatchesSpki({ ...jwk, crv: 'P-256' }, spki), false);
    assert.equal(jwkMatchesSpki({ ...jwk, x: String(jwk.x).slice(2) }, spki), false);
    assert.equal(jwkMatchesSpki(jwk, spki.subarray(1)), false);
  });

  it("validity times print as node:crypto's validFrom / validTo", async () => {
    const c = await leaf([]);
    assert.equal(opensslTime(c.ours.notBefore), c.node.validFrom);
    assert.equal(opensslTime(c.ours.notAfter), c.node.validTo);
    assert.equal(opensslTime(c.ours.notBefore), 'Mar  2 04:05:06 2024 GMT');
  });
});
