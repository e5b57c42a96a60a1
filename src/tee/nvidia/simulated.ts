/**
 * A SIMULATED NVIDIA GPU, for development and tests on machines without one: evidence in the real
 * formats (SPDM 1.1 GET_MEASUREMENTS request ‖ signed response, NVIDIA opaque data with the FWID, a
 * 5-certificate P-384 chain whose leaf carries the FWID in a TCG DICE TcbInfo extension), but rooted
 * at a locally generated "NVIDIA Device Identity CA (SIMULATED)". The verifier rejects it (the root is
 * not the pinned NVIDIA root) unless explicitly told to trust that root (`trustSimulatedRoot`).
 * Keys live in memory only.
 */
import 'reflect-metadata';
import { createHash, KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { GpuEvidence } from './types.ts';
import { NvidiaError } from './types.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
const cryptoImpl = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];
const ALG = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) b.unshift(x & 0xff);
  return [0x80 | b.length, ...b];
}
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len(body.length)]), body]));
}
const SHA384_OID = new Uint8Array([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02]);

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8]);
}
function field(type: number, value: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([u16(type), u16(value.length), value]));
}

export interface SimulatedGpuOptions {
  /** Number of GPUs (default 1). */
  count?: number;
  arch?: 'HOPPER' | 'BLACKWELL';
  driverVersion?: string;
  /** Seed of the deterministic measurement digests (default 'wasmvm-tee-sim'). */
  seed?: string;
}

interface SimDevice {
  leafKey: KeyObject;
  fwid: Uint8Array;
  chainPem: string;
}

const name = (cn: string) => `CN=${cn} (SIMULATED), O=wasmvm-tee simulated NVIDIA`;

export class SimulatedGpu {
  readonly simulated = true;
  readonly description: string;
  private devices: SimDevice[] = [];
  private rootPemText = '';
  private readonly o: Required<SimulatedGpuOptions>;

  private constructor(o: SimulatedGpuOptions) {
    this.o = {
      count: o.count ?? 1,
      arch: o.arch ?? 'HOPPER',
      driverVersion: o.driverVersion ?? '550.90.07',
      seed: o.seed ?? 'wasmvm-tee-sim',
    };
    this.description = `SIMULATED NVIDIA ${this.o.arch} x${this.o.count} (not a real GPU)`;
  }

  static async create(o: SimulatedGpuOptions = {}): Promise<SimulatedGpu> {
    const g = new SimulatedGpu(o);
    await g.init();
    return g;
  }

  /** PEM of the simulated root: pass it as `trustSimulatedRoot` to accept this evidence in tests. */
  rootPem(): string {
    return this.rootPemText;
  }

  private async init(): Promise<void> {
    const chip = this.o.arch === 'BLACKWELL' ? 'GB100' : 'GH100';
    const keys = async () =>
      (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const notBefore = new Date(Date.now() - 3600_000);
    const notAfter = new Date('9999-12-31T23:59:59Z');
    const ca = [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ];
    const rootKeys = await keys();
    const root = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: '01',
        name: name('NVIDIA Device Identity CA'),
        notBefore,
        notAfter,
        keys: rootKeys,
        signingAlgorithm: ALG,
        extensions: ca,
      },
      cryptoImpl,
    );
    this.rootPemText = root.toString('pem');
    const issue = async (
      serial: string,
      cn: string,
      issuer: x509.X509Certificate,
      issuerKeys: CryptoKeyPair,
      k: CryptoKeyPair,
      exts: x509.Extension[],
    ) =>
      x509.X509CertificateGenerator.create(
        {
          serialNumber: serial,
          subject: name(cn),
          issuer: issuer.subject,
          notBefore,
          notAfter,
          publicKey: k.publicKey,
          signingKey: issuerKeys.privateKey,
          signingAlgorithm: ALG,
          extensions: exts,
        },
        cryptoImpl,
      );
    const idKeys = await keys();
    const identity = await issue('02', `NVIDIA ${chip} Identity`, root, rootKeys, idKeys, ca);
    const icaKeys = await keys();
    const ica = await issue('03', `NVIDIA ${chip} Provisioner ICA 1`, identity, idKeys, icaKeys, ca);
    for (let i = 0; i < this.o.count; i++) {
      const bromKeys = await keys();
      const brom = await issue(`1${i}`, `${chip} A01 GSP BROM`, ica, icaKeys, bromKeys, ca);
      const leafKeys = await keys();
      const fwid = new Uint8Array(createHash('sha384').update(`${this.o.seed}/fwid/${i}`).digest());
      const tcb = tlv(
        0x30,
        tlv(0x02, new Uint8Array([1])),
        tlv(0x30, tlv(0x30, SHA384_OID, tlv(0x04, fwid))),
      );
      const leaf = await issue(`2${i}`, `${chip} A01 GSP FMC LF`, brom, bromKeys, leafKeys, [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.Extension('2.23.133.5.4.1', false, tcb),
      ]);
      this.devices.push({
        leafKey: KeyObject.from(leafKeys.privateKey),
        fwid,
        chainPem: [leaf, brom, ica, identity, root].map((c) => c.toString('pem')).join('\n'),
      });
    }
  }

  /** Evidence for `nonce` from every simulated GPU, or from `index`. */
  async collect(nonce: Uint8Array, opts: { index?: number } = {}): Promise<GpuEvidence[]> {
    if (!(nonce instanceof Uint8Array) || nonce.length !== 32)
      throw new NvidiaError('NVIDIA_BAD_NONCE', 'GPU nonce must be 32 bytes');
    const idx = opts.index === undefined ? this.devices.map((_, i) => i) : [opts.index];
    for (const i of idx)
      if (!Number.isInteger(i) || i < 0 || i >= this.devices.length)
        throw new NvidiaError('NVIDIA_BAD_INDEX', `GPU index ${i} does not exist`);
    return idx.map((i) => {
      const d = this.devices[i]!;
      const request = new Uint8Array(
        Buffer.concat([Buffer.from([0x11, 0xe0, 0x01, 0xff]), nonce, Buffer.from([0])]),
      );
      const blocks: Uint8Array[] = [];
      for (let b = 1; b <= 64; b++) {
        const digest = createHash('sha384').update(`${this.o.seed}/measurement/${b}`).digest();
        blocks.push(
          new Uint8Array(Buffer.concat([Buffer.from([b, 1]), u16(51), Buffer.from([1]), u16(48), digest])),
        );
      }
      const record = Buffer.concat(blocks);
      const text = (s: string) => new Uint8Array(Buffer.from(`${s}\0`));
      const opaque = Buffer.concat([
        field(3, text(this.o.driverVersion)),
        field(6, new Uint8Array([0x00, 0xd9, 0x00, 0x96, 0x02, 0x00, 0x00, 0x00])),
        field(17, text('SIM0')),
        field(20, d.fwid),
      ]);
      const responderNonce = createHash('sha256').update(nonce).update(`${i}`).digest();
      const response = Buffer.concat([
        Buffer.from([
          0x11,
          0x60,
          0x00,
          0x00,
          64,
          record.length & 0xff,
          (record.length >> 8) & 0xff,
          record.length >> 16,
        ]),
        record,
        responderNonce,
        u16(opaque.length),
        opaque,
      ]);
      const signature = sign('sha384', Buffer.concat([request, response]), {
        key: d.leafKey,
        dsaEncoding: 'ieee-p1363',
      });
      return {
        arch: this.o.arch,
        certificate: Buffer.from(d.chainPem).toString('base64'),
        evidence: Buffer.concat([request, response, signature]).toString('base64'),
        nonce: Buffer.from(nonce).toString('hex'),
        index: i,
        uuid: `GPU-SIMULATED-${i}`,
        driverVersion: this.o.driverVersion,
        cc: { environment: 'sim', ccFeature: true, devToolsMode: false, multiGpuMode: 'none' },
        source: 'simulated',
      };
    });
  }
}
