/**
 * One X.509 certificate type for every chain the verifier checks (AMD, Intel, NVIDIA, Azure), in Node and
 * in browsers: parsed by @peculiar/x509, signatures checked by WebCrypto through it, digests from
 * util/digest. It replaces node:crypto's X509Certificate (which browsers do not have) with the members the
 * verifiers use. Unknown critical extensions are not judged here: chain code asks formats' `extensionsOf`.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { digestHex } from '../util/digest.ts';
import { VerifyError } from './errors.ts';

export class Certificate {
  /** The DER bytes. */
  readonly raw: Uint8Array;
  /** Distinguished names as text (RFC 4514 order as in the certificate, e.g. "C=US, O=AMD, CN=ARK-Milan"). */
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Serial number, uppercase hex of the DER integer's bytes (as node:crypto's X509Certificate shows it). */
  readonly serialNumber: string;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** The parsed certificate, for extension and algorithm details. */
  readonly parsed: x509.X509Certificate;
  #fp?: string;

  private constructor(parsed: x509.X509Certificate) {
    this.parsed = parsed;
    this.raw = new Uint8Array(parsed.rawData);
    this.subject = parsed.subject;
    this.issuer = parsed.issuer;
    this.notBefore = parsed.notBefore;
    this.notAfter = parsed.notAfter;
    this.serialNumber = parsed.serialNumber.toUpperCase();
    this.spki = new Uint8Array(parsed.publicKey.rawData);
  }

  /**
   * Parse DER bytes or PEM text. Throws VerifyError('VERIFY_BAD_INPUT') naming `what` when it is not a
   * certificate; vendor verifiers catch it and turn it into their own failed check.
   */
  static parse(input: Uint8Array | string, what = 'certificate'): Certificate {
    try {
      return new Certificate(
        new x509.X509Certificate(typeof input === 'string' ? input : (input as Uint8Array<ArrayBuffer>)),
      );
    } catch (e) {
      throw new VerifyError(
        'VERIFY_BAD_INPUT',
        `${what}: not an X.509 certificate (${(e as Error).message})`,
      );
    }
  }

  /** Lowercase hex SHA-256 of the DER bytes (cached). */
  get fingerprint256(): string {
    this.#fp ??= digestHex('sha256', this.raw);
    return this.#fp;
  }

  /** notBefore ≤ at ≤ notAfter. */
  validAt(at: Date): boolean {
    return this.notBefore.getTime() <= at.getTime() && at.getTime() <= this.notAfter.getTime();
  }

  /** The issuer's name equals `issuer`'s subject name, compared as DER (not as text). */
  namedBy(issuer: Certificate): boolean {
    const a = new Uint8Array(this.parsed.issuerName.toArrayBuffer());
    const b = new Uint8Array(issuer.parsed.subjectName.toArrayBuffer());
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }

  /** Whether `issuer`'s public key verifies this certificate's signature (signature only; false on any error). */
  async signedBy(issuer: Certificate): Promise<boolean> {
    try {
      return await this.parsed.verify({ publicKey: issuer.parsed.publicKey, signatureOnly: true });
    } catch {
      return false;
    }
  }

  /** PEM text. */
  toPem(): string {
    return this.parsed.toString('pem');
  }
}
