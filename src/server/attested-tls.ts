/**
 * Attested TLS, server side (docs/sealed-execution.md, "Two channels: HPKE end-to-end vs attested TLS").
 *
 * `serve --tls-attested` makes the TLS key pair here, in the server process (inside the TEE), at start:
 * ECDSA P-256 by WebCrypto, a self-signed certificate by @peculiar/x509. The private key never leaves the
 * process. The SHA-256 of the certificate's SubjectPublicKeyInfo (DER) goes into every session's
 * REPORT_DATA (session-key/v5) with origin 'tee-generated'; a client that verified the session pins the
 * TLS peer to it. With `--tls-cert/--tls-key` the operator's key is bound the same way, with origin
 * 'operator-supplied' (whoever supplied the file holds the key too).
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { TlsKeyOrigin } from '../binding/index.ts';
import { ServerConfigError } from './errors.ts';

/** A TLS key bound into the session data. */
export interface TlsKeyBinding {
  /** SHA-256 of the certificate key's DER SubjectPublicKeyInfo (32 bytes). */
  spkiSha256: Uint8Array;
  origin: TlsKeyOrigin;
}

export interface TlsCredentials extends TlsKeyBinding {
  /** Certificate (PEM) and PKCS#8 private key (PEM), as node:tls takes them. */
  cert: string;
  key: string;
}

export interface AttestedTlsOptions {
  /** DNS names for the certificate's subjectAltName (default ['localhost']); clients pin the key, not names. */
  dnsNames?: readonly string[];
  /** IP addresses for the subjectAltName (default ['127.0.0.1', '::1']). */
  ipAddresses?: readonly string[];
  /** Certificate validity, days (default 398). The key lives as long as the process. */
  validityDays?: number;
  /** Clock (tests). */
  now?: () => number;
}

const subtle = webcrypto.subtle;

/** SHA-256 of a certificate's DER SubjectPublicKeyInfo (the value a client pins; HPKP's pin-sha256). */
export function certificateSpkiSha256(cert: string | Uint8Array): Uint8Array {
  const c = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  return new Uint8Array(
    createHash('sha256')
      .update(c.publicKey.export({ format: 'der', type: 'spki' }))
      .digest(),
  );
}

/**
 * Make the TLS key pair and its self-signed certificate in this process (inside the TEE): ECDSA P-256,
 * SHA-256 signature, serverAuth, subjectAltName from the options.
 */
export async function generateAttestedTlsCredentials(opts: AttestedTlsOptions = {}): Promise<TlsCredentials> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = (opts.now ?? Date.now)();
  const days = opts.validityDays ?? 398;
  const altNames: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? ['localhost']).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? ['127.0.0.1', '::1']).map((value) => ({ type: 'ip' as const, value })),
  ];
  // A positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: 'CN=wasmvm-tee attested TLS key, O=wasmvm-tee',
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + days * 24 * 3600_000),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(altNames, false),
      ],
    },
    webcrypto as never,
  );
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  pkcs8.fill(0);
  const pem = cert.toString('pem');
  return { cert: pem, key, spkiSha256: certificateSpkiSha256(pem), origin: 'tee-generated' };
}

/**
 * The binding of an operator-supplied certificate and key (`--tls-cert/--tls-key`): the leaf certificate's
 * SPKI hash, origin 'operator-supplied'. Throws ServerConfigError when the key is not the certificate's.
 */
export function operatorTlsBinding(cert: string | Uint8Array, key: string | Uint8Array): TlsKeyBinding {
  let leaf: X509Certificate;
  try {
    // The first certificate of the chain file is the leaf the server presents.
    leaf = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (e) {
    throw new ServerConfigError('INVALID_CONFIG', `TLS certificate: ${(e as Error).message}`);
  }
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(typeof key === 'string' ? key : Buffer.from(key)));
  } catch (e) {
    throw new ServerConfigError('INVALID_CONFIG', `TLS key: ${(e as Error).message}`);
  }
  if (!matches) throw new ServerConfigError('INVALID_CONFIG', 'the TLS key is not the TLS certificate’s key');
  return { spkiSha256: certificateSpkiSha256(leaf.raw), origin: 'operator-supplied' };
}
