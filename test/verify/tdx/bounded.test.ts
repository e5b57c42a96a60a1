/**
 * Issue 14 item 8, TDX: quotes and their embedded certification data are bounded. The hostile quotes are
 * generated here from a real one (nothing big is committed). Memory is measured loosely, no timings.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../../src/cli/verify-tdx.ts';
import { serializeTdxQuote } from '../../../src/formats/index.ts';
import {
  parseTdxQuote,
  pemToDerList,
  TDX_LIMITS,
  TdxError,
  verifyTdxQuote,
} from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { quoteBytes } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-tdx-bounded-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The real SPR quote with `extra` more copies of its PCK certificate appended to the embedded PEM chain. */
function withExtraCerts(extra: number): Uint8Array {
  const q = parseTdxQuote(quoteBytes('quote-v4-gotdxguest-spr.dat'));
  const pem = Buffer.from(q.qeCert!.inner.data).toString('latin1');
  const first = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/)![0];
  q.qeCert!.inner.data = new Uint8Array(Buffer.from(pem + first.repeat(extra), 'latin1'));
  return serializeTdxQuote(q);
}
const detail = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.detail ?? '';

describe('tdx: bounded quotes', () => {
  it("the issue's quote (~19 MB, 20,000 extra certificates) is rejected by size before any certificate is parsed", async () => {
    const big = withExtraCerts(20_000);
    assert.ok(big.length > 15e6, `${big.length}`);
    assert.throws(
      () => parseTdxQuote(big),
      (e: unknown) => e instanceof TdxError && e.code === 'TDX_QUOTE_SIZE',
    );
    const before = process.memoryUsage().arrayBuffers;
    const v = await verifyTdxQuote(big, { now: new Date('2023-07-01T00:00:00Z') });
    assert.equal(v.ok, false);
    assert.match(detail(v, 'tdx.quote.format'), /TDX_QUOTE_SIZE/);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 * 1024 * 1024, `ArrayBuffers grew by ${grown}`);
  });

  it('within the size limit, a chain of more than maxChainCerts certificates is rejected (TDX_CERT_COUNT)', async () => {
    const q = withExtraCerts(TDX_LIMITS.maxChainCerts);
    assert.ok(q.length <= TDX_LIMITS.maxQuoteBytes);
    const v = await verifyTdxQuote(q, { now: new Date('2023-07-01T00:00:00Z') });
    assert.equal(v.ok, false);
    assert.match(detail(v, 'tdx.pck.chain'), /TDX_CERT_COUNT/);
    assert.throws(
      () => pemToDerList('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'.repeat(9)),
      {
        code: 'TDX_CERT_COUNT',
      },
    );
  });

  it('the parsed certification data are views of the input (nothing copied)', () => {
    const bytes = quoteBytes('quote-v4-gotdxguest-spr.dat');
    const q = parseTdxQuote(bytes);
    assert.equal(q.qeCert!.inner.data.buffer, bytes.buffer);
    assert.equal(q.trailing.buffer, bytes.buffer);
  });

  it('the CLI rejects the oversized quote file without reading it whole (exit 1, code named)', async () => {
    const p = join(tmp, 'big-quote.dat');
    writeFileSync(p, withExtraCerts(20_000));
    const out: string[] = [];
    const rc = await main(['--no-nonce', '--tdx-quote', p, '--now', '2023-07-01T00:00:00Z'], {
      out: (s) => out.push(s),
      err: (s) => out.push(s),
    });
    assert.equal(rc, 1, out.join('\n'));
    assert.match(out.join('\n'), /TDX_QUOTE_SIZE/);
  });
});

describe('tdx: unknown critical X.509 extensions are rejected (as openssl verify does)', () => {
  it('a PCK certificate with an unknown critical extension fails tdx.pck.chain; non-critical passes', async () => {
    const { webcrypto } = await import('node:crypto');
    const x509 = await import('@peculiar/x509');
    await import('reflect-metadata');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const { buildSimulatedTdxQuote, createTdxPki, signTdxQuote } = await import(
      '../../../src/tee/tdx/simulated.ts'
    );
    const pki = await createTdxPki();
    const pem = (der: Uint8Array) =>
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    const caKey = await webcrypto.subtle.importKey(
      'pkcs8',
      pki.pckCaKey.export({ type: 'pkcs8', format: 'der' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const orig = new x509.X509Certificate(pki.pckDer);
    const quoteWith = async (critical: boolean) => {
      const pck = await x509.X509CertificateGenerator.create({
        serialNumber: orig.serialNumber,
        subject: orig.subject,
        issuer: orig.issuer,
        notBefore: orig.notBefore,
        notAfter: orig.notAfter,
        publicKey: orig.publicKey,
        signingKey: caKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [
          ...orig.extensions,
          new x509.Extension('1.3.6.1.4.1.99999.2', critical, new Uint8Array([5, 0])),
        ],
      });
      const chain = pem(new Uint8Array(pck.rawData)) + pem(pki.pckCaDer) + pem(pki.rootDer);
      return signTdxQuote(parseTdxQuote(buildSimulatedTdxQuote(pki, new Uint8Array(64))), pki, chain);
    };
    const opts = { trustSimulatedRoots: [pem(pki.rootDer)] };
    const bad = await verifyTdxQuote(await quoteWith(true), opts);
    assert.equal(bad.ok, false);
    assert.equal(bad.checks.find((c) => c.id === 'tdx.pck.chain')?.outcome, 'fail');
    assert.match(detail(bad, 'tdx.pck.chain'), /unknown critical extension\(s\) 1\.3\.6\.1\.4\.1\.99999\.2/);
    const ok = await verifyTdxQuote(await quoteWith(false), opts);
    assert.equal(ok.ok, true, JSON.stringify(ok.checks.filter((c) => c.outcome === 'fail')));
  });
});
