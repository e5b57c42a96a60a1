/**
 * The SIMULATED SEV-SNP TEE: evidence in the exact AMD formats, signed by a local key chain shaped like
 * AMD's (RSA-PSS SHA-384 "ARK" → "ASK" → P-384 "VCEK"), every name marked SIMULATED. It proves nothing
 * about hardware; the verifier rejects it unless its root is explicitly trusted (docs/threat-model.md).
 *
 * State: `$WASMVM_TEE_STATE_DIR` or `~/.wasmvm-tee/simulated/` holds the keys (0600), certificates and the
 * chip id, so evidence from restarts of the same "machine" chains to the same root.
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, type KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import {
  AMD_OID,
  buildCertTable,
  CERT_GUIDS,
  emptyReport,
  encodeIa5,
  encodeInteger,
  encodeTcb,
  REPORT_SIZE,
  SIGNED_REGION_END,
  serializeReport,
  setSignatureP1363,
  type TcbParts,
} from '../formats/index.ts';
import { TeeError } from './errors.ts';
import type { CpuEvidence, TeeProvider } from './types.ts';

export const SIMULATED_MARK = 'SIMULATED';
const ORG = 'wasmvm-tee SIMULATED TEE - NOT AMD';

/** The TCB the simulated platform reports (and its VCEK carries). */
export const SIMULATED_TCB: TcbParts = { blSPL: 4, teeSPL: 0, snpSPL: 24, ucodeSPL: 219 };

export interface SimulatedOptions {
  /** State directory (default `$WASMVM_TEE_STATE_DIR` or `~/.wasmvm-tee/simulated/`). */
  stateDir?: string;
  /** Report version, 3 or 5 (default 5). */
  reportVersion?: 3 | 5;
  /** RSA modulus of the simulated ARK/ASK (default 4096 like AMD's; tests may use 2048 for speed). */
  rsaBits?: number;
  /** Override MEASUREMENT (48 bytes); default: SHA-384 of the installed src/ tree (see measureSourceTree). */
  measurement?: Uint8Array;
  /** Print the loud warning on creation (default true). */
  warn?: boolean;
}

export function defaultStateDir(): string {
  return process.env.WASMVM_TEE_STATE_DIR || join(homedir(), '.wasmvm-tee', 'simulated');
}

// ---------------------------------------------------------------- measurement of the installed code

let measurementPromise: Promise<Uint8Array> | undefined;

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(p)));
    else if (ent.isFile()) out.push(p);
  }
  return out;
}

/**
 * MEASUREMENT of the simulated guest: SHA-384 over the package's src/ files sorted by their relative path
 * (byte order of the '/'-separated UTF-8 path): for each file, path ‖ 0x00 ‖ u64be(size) ‖ contents.
 * Computed once per process.
 */
export function measureSourceTree(
  root = fileURLToPath(new URL('../', import.meta.url)),
): Promise<Uint8Array> {
  const compute = async () => {
    const files = (await listFiles(root)).map((p) => ({ p, rel: relative(root, p).split(sep).join('/') }));
    files.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
    const h = createHash('sha384');
    for (const f of files) {
      const data = await readFile(f.p);
      const len = Buffer.alloc(8);
      len.writeBigUInt64BE(BigInt(data.length));
      h.update(Buffer.from(f.rel, 'utf8'))
        .update(Buffer.from([0]))
        .update(len)
        .update(data);
    }
    return new Uint8Array(h.digest());
  };
  if (root !== fileURLToPath(new URL('../', import.meta.url))) return compute();
  measurementPromise ??= compute();
  return measurementPromise;
}

// ---------------------------------------------------------------- key chain

export interface SimulatedChain {
  arkPem: string;
  askPem: string;
  vcekPem: string;
  ark: Uint8Array;
  ask: Uint8Array;
  vcek: Uint8Array;
  /** PKCS#8 PEM of the VCEK private key (P-384). */
  vcekKeyPem: string;
  chipId: Uint8Array;
}

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
// @peculiar/x509 is typed against the DOM's Crypto; Node's webcrypto is the same API.
const cryptoImpl = webcrypto as never;
const signAsync = promisify(sign);

function name(cn: string): string {
  return `CN=${cn} (${SIMULATED_MARK}), O=${ORG}, OU=Engineering, C=US`;
}

async function exportPkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').trim()}\n-----END PRIVATE KEY-----\n`;
}

function ext(oid: string, value: Uint8Array): x509.Extension {
  return new x509.Extension(oid, false, value);
}

export interface AmdShapedChainOptions {
  rsaBits: number;
  /** Distinguished names; default: the SIMULATED names. */
  arkName?: string;
  askName?: string;
  vcekName?: string;
  chipId?: Uint8Array;
  tcb?: TcbParts;
  productName?: string;
  /** hwID extension value (default: the 64-byte chip id; Turin VCEKs carry 8 bytes). */
  hwId?: Uint8Array;
  /** Include the fmcSPL extension (Turin). */
  fmcSPL?: number;
}

export interface AmdShapedChain {
  ark: x509.X509Certificate;
  ask: x509.X509Certificate;
  vcek: x509.X509Certificate;
  arkKeys: CryptoKeyPair;
  askKeys: CryptoKeyPair;
  vcekKeys: CryptoKeyPair;
  chipId: Uint8Array;
}

/** Make a key chain shaped like AMD's (used by the simulated TEE, and by tests to forge AMD-named chains). */
export async function createAmdShapedChain(o: AmdShapedChainOptions): Promise<AmdShapedChain> {
  const rsaBits = o.rsaBits;
  const pss = {
    name: 'RSA-PSS',
    hash: 'SHA-384',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: rsaBits,
  };
  const signAlg = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as never;
  const arkKeys = (await subtle.generateKey(pss, true, ['sign', 'verify'])) as CryptoKeyPair;
  const askKeys = (await subtle.generateKey(pss, true, ['sign', 'verify'])) as CryptoKeyPair;
  const vcekKeys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const chipId = o.chipId ?? new Uint8Array(randomBytes(64));
  const now = Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const arkName = o.arkName ?? name('ARK-Milan');
  const askName = o.askName ?? name('SEV-Milan');
  const caExts = (keys: CryptoKeyPair) => [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoImpl),
  ];
  const ark = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '010000',
      name: arkName,
      notBefore,
      notAfter: new Date(now + 25 * 365 * 24 * 3600 * 1000),
      keys: arkKeys,
      signingAlgorithm: signAlg,
      extensions: await Promise.all(caExts(arkKeys)),
    },
    cryptoImpl,
  );
  const ask = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '010001',
      subject: askName,
      issuer: arkName,
      notBefore,
      notAfter: new Date(now + 25 * 365 * 24 * 3600 * 1000),
      publicKey: askKeys.publicKey,
      signingKey: arkKeys.privateKey,
      signingAlgorithm: signAlg,
      extensions: await Promise.all(caExts(askKeys)),
    },
    cryptoImpl,
  );
  const t = o.tcb ?? SIMULATED_TCB;
  const vcek = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01',
      subject: o.vcekName ?? name('SEV-VCEK'),
      issuer: askName,
      notBefore,
      notAfter: new Date(now + 7 * 365 * 24 * 3600 * 1000),
      publicKey: vcekKeys.publicKey,
      signingKey: askKeys.privateKey,
      signingAlgorithm: signAlg,
      extensions: [
        ext(AMD_OID.structVersion, encodeInteger(0)),
        ext(AMD_OID.productName, encodeIa5(o.productName ?? 'Milan-B0')),
        ext(AMD_OID.blSPL, encodeInteger(t.blSPL)),
        ext(AMD_OID.teeSPL, encodeInteger(t.teeSPL)),
        ext(AMD_OID.snpSPL, encodeInteger(t.snpSPL)),
        ext(AMD_OID.spl4, encodeInteger(0)),
        ext(AMD_OID.spl5, encodeInteger(0)),
        ext(AMD_OID.spl6, encodeInteger(0)),
        ext(AMD_OID.spl7, encodeInteger(0)),
        ext(AMD_OID.ucodeSPL, encodeInteger(t.ucodeSPL)),
        ...(o.fmcSPL !== undefined ? [ext(AMD_OID.fmcSPL, encodeInteger(o.fmcSPL))] : []),
        ext(AMD_OID.hwID, o.hwId ?? chipId),
      ],
    },
    cryptoImpl,
  );
  return { ark, ask, vcek, arkKeys, askKeys, vcekKeys, chipId };
}

async function generateChain(dir: string, rsaBits: number): Promise<void> {
  const { ark, ask, vcek, arkKeys, askKeys, vcekKeys, chipId } = await createAmdShapedChain({ rsaBits });
  await writeFile(join(dir, 'ark.pem'), ark.toString('pem'));
  await writeFile(join(dir, 'ask.pem'), ask.toString('pem'));
  await writeFile(join(dir, 'vcek.pem'), vcek.toString('pem'));
  for (const [f, k] of [
    ['ark.key', arkKeys.privateKey],
    ['ask.key', askKeys.privateKey],
    ['vcek.key', vcekKeys.privateKey],
  ] as const) {
    await writeFile(join(dir, f), await exportPkcs8Pem(k), { mode: 0o600 });
  }
  await writeFile(join(dir, 'chip-id.hex'), `${Buffer.from(chipId).toString('hex')}\n`);
  await writeFile(
    join(dir, 'README'),
    'SIMULATED SEV-SNP key chain of wasmvm-tee. NOT AMD. Evidence signed by these keys proves nothing about hardware.\n',
  );
}

function pemToDer(pem: string): Uint8Array {
  const b = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b, 'base64'));
}

/** Load the chain from `stateDir`, creating it (atomically: temp dir + rename) on first use. */
export async function loadOrCreateChain(
  stateDir = defaultStateDir(),
  rsaBits = 4096,
): Promise<SimulatedChain> {
  if (!existsSync(join(stateDir, 'vcek.key'))) {
    const parent = join(stateDir, '..');
    await mkdir(parent, { recursive: true, mode: 0o700 });
    const tmp = await mkdtemp(join(parent, '.simulated-tmp-'));
    try {
      await generateChain(tmp, rsaBits);
      await chmod(tmp, 0o700);
      try {
        await rename(tmp, stateDir);
      } catch (e) {
        // Another process won the race (or an empty dir is there): use theirs if complete, else fill the empty dir.
        if (!existsSync(join(stateDir, 'vcek.key'))) {
          const entries = existsSync(stateDir) ? await readdir(stateDir) : [];
          if (entries.length !== 0) throw e;
          await rm(stateDir, { recursive: true, force: true });
          await rename(tmp, stateDir);
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const read = (f: string) => readFile(join(stateDir, f), 'utf8');
  const keyStat = await stat(join(stateDir, 'vcek.key'));
  if ((keyStat.mode & 0o077) !== 0) await chmod(join(stateDir, 'vcek.key'), 0o600);
  const [arkPem, askPem, vcekPem, vcekKeyPem, chipHex] = await Promise.all([
    read('ark.pem'),
    read('ask.pem'),
    read('vcek.pem'),
    read('vcek.key'),
    read('chip-id.hex'),
  ]);
  return {
    arkPem,
    askPem,
    vcekPem,
    ark: pemToDer(arkPem),
    ask: pemToDer(askPem),
    vcek: pemToDer(vcekPem),
    vcekKeyPem,
    chipId: new Uint8Array(Buffer.from(chipHex.trim(), 'hex')),
  };
}

// ---------------------------------------------------------------- provider

let warned = false;

export class SimulatedSevSnpProvider implements TeeProvider {
  readonly kind = 'sev-snp' as const;
  readonly simulated = true;
  readonly description = 'SIMULATED AMD SEV-SNP (local key chain, NOT hardware: evidence proves nothing)';
  readonly stateDir: string;
  private readonly opts: SimulatedOptions;
  private chain?: Promise<SimulatedChain>;
  /** Per-instance REPORT_ID (like a real guest's, stable for the life of the "VM"). */
  private readonly reportId = new Uint8Array(randomBytes(32));

  constructor(opts: SimulatedOptions = {}) {
    this.opts = opts;
    this.stateDir = opts.stateDir ?? defaultStateDir();
    // MEASUREMENT is the code as installed at startup: start hashing now.
    if (!opts.measurement) measureSourceTree().catch(() => undefined);
    if (opts.warn !== false && !warned) {
      warned = true;
      process.stderr.write(
        '\n*** WARNING: wasmvm-tee is using the SIMULATED SEV-SNP TEE. Its evidence is signed by a local key\n' +
          `*** chain (${this.stateDir}), NOT by AMD. Verifiers reject it unless told to trust that root.\n\n`,
      );
    }
  }

  private vcekKey?: KeyObject;

  /** The key chain (created on first use). */
  getChain(): Promise<SimulatedChain> {
    this.chain ??= loadOrCreateChain(this.stateDir, this.opts.rsaBits ?? 4096);
    return this.chain;
  }

  /** The simulated ARK certificate, PEM: what `--trust-simulated-root` takes. */
  async rootPem(): Promise<string> {
    return (await this.getChain()).arkPem;
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
      throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be exactly 64 bytes');
    const chain = await this.getChain();
    const measurement = this.opts.measurement ?? (await measureSourceTree());
    if (measurement.length !== 48) throw new TeeError('TEE_INVALID_ARGUMENT', 'MEASUREMENT must be 48 bytes');
    const version = this.opts.reportVersion ?? 5;
    const r = emptyReport(version);
    const tcb = encodeTcb(SIMULATED_TCB, 'Milan');
    r.guestSvn = 0;
    r.policy = 0x30000n; // SMT allowed, reserved bit 17; debug, migration agent off; ABI 0.0
    r.vmpl = 0;
    r.signatureAlgo = 1; // ECDSA P-384 with SHA-384
    r.currentTcb = tcb;
    r.reportedTcb = tcb;
    r.committedTcb = tcb;
    r.launchTcb = tcb;
    r.platformInfo = 0x25n; // SMT enabled, ECC enabled, alias check complete
    r.signerInfo = 0; // VCEK, chip key not masked, no author key
    r.reportData = Uint8Array.from(reportData);
    r.measurement = Uint8Array.from(measurement);
    r.reportId = this.reportId;
    r.reportIdMa = new Uint8Array(32).fill(0xff);
    r.cpuidFamId = 0x19;
    r.cpuidModId = 0x01;
    r.cpuidStep = 0x01;
    r.chipId = chain.chipId;
    r.currentMajor = r.committedMajor = 1;
    r.currentMinor = r.committedMinor = 55;
    r.currentBuild = r.committedBuild = 29;
    const unsigned = serializeReport(r);
    // Parsed once per provider; signed on the thread pool (callback form), like real firmware off-CPU.
    this.vcekKey ??= createPrivateKey(chain.vcekKeyPem);
    const sig = await signAsync('sha384', unsigned.subarray(0, SIGNED_REGION_END), {
      key: this.vcekKey,
      dsaEncoding: 'ieee-p1363',
    });
    setSignatureP1363(r, new Uint8Array(sig));
    const report = serializeReport(r);
    if (report.length !== REPORT_SIZE) throw new TeeError('TEE_INTERNAL', 'internal: report size');
    const certs = { vcek: chain.vcek, ask: chain.ask, ark: chain.ark };
    return {
      kind: 'sev-snp',
      simulated: true,
      report,
      certs,
      auxblob: buildCertTable([
        { guid: CERT_GUIDS.vcek, data: chain.vcek },
        { guid: CERT_GUIDS.ask, data: chain.ask },
        { guid: CERT_GUIDS.ark, data: chain.ark },
      ]),
      provider: 'simulated',
    };
  }
}
