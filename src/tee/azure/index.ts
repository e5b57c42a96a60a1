/**
 * `azure-vtpm`: evidence from an Azure confidential VM (SEV-SNP: DCasv5/ECasv5, NCCads H100 v5; TDX:
 * DCesv5/ECesv5). The guest has no /dev/sev-guest or configfs-tsm it can fill: the paravisor (HCL) made
 * the hardware report at boot, with hash(runtime claims) in REPORT_DATA, and the runtime claims carry the
 * vTPM attestation key (AK). Fresh data is bound by a TPM2_Quote of that AK with qualifyingData = the 64
 * bytes asked for. The evidence is the JSON document 'azure-vtpm/1' (src/formats/azure/evidence.ts):
 * HCL report + quote + PCR values + certificates (VCEK from the Azure host certificate endpoint for SNP;
 * the TD quote from the Azure quote endpoint for TDX). docs/azure.md.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { access } from 'node:fs/promises';
import {
  AZURE_EVIDENCE_FORMAT,
  AzureFormatError,
  HCL_NV_INDEX,
  hclClaimsBound,
  parseAzureHostCerts,
  parseHclReport,
  parseRuntimeClaims,
  serializeTpmtSignature,
  TPM_ALG,
  TPM_ECC_NIST_P256,
  type TpmHashName,
  tpmHashAlg,
  tpmPublicToJwk,
} from '../../formats/index.ts';
import { registerTeeDetector } from '../detect.ts';
import { TeeError } from '../errors.ts';
import type { CpuEvidence, TeeKind, TeeProvider } from '../types.ts';
import {
  DeviceTransport,
  isMissingHandle,
  TPM_DEVICE,
  TpmClient,
  TpmResponseError,
  type TpmTransport,
} from './tpm.ts';

export * from './tpm.ts';

/** The persistent handle of the Azure vTPM attestation key (HCLAkPub). */
export const AZURE_AK_HANDLE = 0x81000003;
/** Default PCRs quoted: the boot chain (firmware, option ROMs, boot loader, Secure Boot policy). */
export const DEFAULT_PCRS = [0, 1, 2, 3, 4, 5, 6, 7];
/** The Azure host certificate endpoint (VCEK + ASK + ARK for this chip and TCB), link-local IMDS. */
export const AZURE_HOST_CERTS_URL = 'http://169.254.169.254/metadata/THIM/amd/certification';
/** The Azure TD quote endpoint: POST { report: base64url(TDREPORT) } → { quote: base64url }. */
export const AZURE_TD_QUOTE_URL = 'http://169.254.169.254/acc/tdquote';

export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  text(): Promise<string>;
}>;

export interface AzureVtpmOptions {
  transport?: TpmTransport;
  /** PCRs to quote (default 0-7) and the bank (default sha256). */
  pcrs?: number[];
  pcrBank?: TpmHashName;
  akHandle?: number;
  nvIndex?: number;
  /** HTTP for the host endpoints (tests); default global fetch with a 5 s timeout. */
  fetch?: FetchLike;
  hostCertsUrl?: string;
  tdQuoteUrl?: string;
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function keyOf(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}

export class AzureVtpmProvider implements TeeProvider {
  readonly simulated = false;
  readonly description: string;
  private readonly tpm: TpmClient;
  private readonly pcrs: number[];
  private readonly bank: TpmHashName;
  private readonly akHandle: number;
  private readonly nvIndex: number;
  private readonly fetchFn: FetchLike;
  private certs?: Promise<string | undefined>;
  private tdQuote?: Promise<string | undefined>;

  /** Use `AzureVtpmProvider.open()`: the kind comes from the HCL report. */
  constructor(
    readonly kind: Extract<TeeKind, 'azure-sev-snp' | 'azure-tdx'>,
    private readonly opts: AzureVtpmOptions = {},
  ) {
    this.tpm = new TpmClient(opts.transport ?? new DeviceTransport());
    this.pcrs = opts.pcrs ?? DEFAULT_PCRS;
    this.bank = opts.pcrBank ?? 'sha256';
    this.akHandle = opts.akHandle ?? AZURE_AK_HANDLE;
    this.nvIndex = opts.nvIndex ?? HCL_NV_INDEX;
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(5000) }));
    this.description = `${kind === 'azure-sev-snp' ? 'AMD SEV-SNP' : 'Intel TDX'} on Azure via the paravisor vTPM (azure-vtpm)`;
  }

  /** Read the HCL report once to learn the kind; throws TEE_AZURE_NV_MISSING when this is not an Azure CVM. */
  static async open(opts: AzureVtpmOptions = {}): Promise<AzureVtpmProvider> {
    const tpm = new TpmClient(opts.transport ?? new DeviceTransport());
    const hcl = await readHcl(tpm, opts.nvIndex ?? HCL_NV_INDEX);
    const transport = tpm.transport;
    return new AzureVtpmProvider(hcl.teeType === 'sev-snp' ? 'azure-sev-snp' : 'azure-tdx', {
      ...opts,
      transport,
    });
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    if (reportData.length !== 64)
      throw new TeeError('TEE_BAD_REPORT_DATA', `REPORT_DATA must be 64 bytes, got ${reportData.length}`);
    const hclBytes = await readHclBytes(this.tpm, this.nvIndex);
    const hcl = parseOrThrow(hclBytes);
    const kind = hcl.teeType === 'sev-snp' ? 'azure-sev-snp' : 'azure-tdx';
    if (kind !== this.kind)
      throw new TeeError(
        'TEE_AZURE_HCL',
        `the HCL report is ${kind}, the provider was opened as ${this.kind}`,
      );
    // The AK: the TPM's key must be the HCLAkPub the hardware report binds.
    const claims = parseRuntimeClaims(hcl.runtimeClaimsBytes);
    const { pub } = await this.tpm.readPublic(this.akHandle);
    let tpmKey: KeyObject;
    try {
      tpmKey = keyOf(tpmPublicToJwk(pub));
    } catch (e) {
      throw new TeeError(
        'TEE_AZURE_AK',
        `the attestation key at 0x${this.akHandle.toString(16)}: ${(e as Error).message}`,
      );
    }
    const d = tpmKey.asymmetricKeyDetails ?? {};
    const okKey =
      (pub.type === 'rsa' && (d.modulusLength === 2048 || d.modulusLength === 3072)) ||
      (pub.type === 'ecc' && pub.curveId === TPM_ECC_NIST_P256);
    if (!okKey)
      throw new TeeError(
        'TEE_AZURE_AK',
        `the attestation key is ${pub.type} ${d.modulusLength ?? ''}: only RSA-2048/3072 or ECC P-256`,
      );
    if (!claims.akPub || !keyOf(claims.akPub).equals(tpmKey))
      throw new TeeError(
        'TEE_AZURE_AK',
        `the key at 0x${this.akHandle.toString(16)} is not the HCLAkPub of the HCL report`,
      );
    // Quote, then the PCR values it covers (re-read until the digest inputs are stable is the verifier's job:
    // a PCR extended in between makes the digest check fail, never pass wrongly).
    const hashAlg = tpmHashAlg(this.bank);
    const sels = [{ hashAlg, pcrs: this.pcrs }];
    const scheme =
      pub.scheme === TPM_ALG.NULL
        ? { sigAlg: pub.type === 'rsa' ? TPM_ALG.RSASSA : TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 }
        : undefined;
    const q = await this.tpm.quote(this.akHandle, reportData, sels, scheme);
    const values = await this.tpm.pcrRead(hashAlg, this.pcrs);
    const doc: Record<string, unknown> = {
      format: AZURE_EVIDENCE_FORMAT,
      tee: kind,
      hclReport: Buffer.from(hclBytes).toString('base64'),
      quote: {
        message: Buffer.from(q.attest).toString('hex'),
        signature: Buffer.from(serializeTpmtSignature(q.signature)).toString('hex'),
        pcrBank: this.bank,
        pcrs: Object.fromEntries([...values].map(([i, v]) => [String(i), Buffer.from(v).toString('hex')])),
      },
    };
    if (kind === 'azure-sev-snp') {
      this.certs ??= this.hostCerts();
      const certs = await this.certs;
      if (certs) doc.certChain = certs;
    } else {
      this.tdQuote ??= this.fetchTdQuote(hcl.hwReport);
      const td = await this.tdQuote;
      if (td) doc.tdQuote = td;
    }
    return {
      kind,
      simulated: false,
      report: new TextEncoder().encode(JSON.stringify(doc)),
      provider: 'azure-vtpm',
    };
  }

  /** VCEK + ASK + ARK (PEM) from the host certificate endpoint; undefined when it does not answer. */
  private async hostCerts(): Promise<string | undefined> {
    try {
      const r = await this.fetchFn(this.opts.hostCertsUrl ?? AZURE_HOST_CERTS_URL, {
        headers: { Metadata: 'true' },
      });
      if (!r.ok) return undefined;
      const parsed = JSON.parse(await r.text()) as Record<string, unknown>;
      parseAzureHostCerts(parsed); // validates the shape and the PEM
      return `${String(parsed.vcekCert).trim()}\n${String(parsed.certificateChain ?? '').trim()}\n`;
    } catch {
      this.certs = undefined; // try again next time
      return undefined;
    }
  }

  private async fetchTdQuote(tdReport: Uint8Array): Promise<string | undefined> {
    try {
      const r = await this.fetchFn(this.opts.tdQuoteUrl ?? AZURE_TD_QUOTE_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ report: b64u(tdReport) }),
      });
      if (!r.ok) return undefined;
      const { quote } = JSON.parse(await r.text()) as { quote?: unknown };
      if (typeof quote !== 'string') return undefined;
      return Buffer.from(quote, 'base64url').toString('base64');
    } catch {
      this.tdQuote = undefined;
      return undefined;
    }
  }
}

async function readHclBytes(tpm: TpmClient, nvIndex: number): Promise<Uint8Array> {
  try {
    return await tpm.nvReadAll(nvIndex);
  } catch (e) {
    if (e instanceof TpmResponseError && e.command === 'NV_ReadPublic' && isMissingHandle(e.rc))
      throw new TeeError(
        'TEE_AZURE_NV_MISSING',
        `vTPM NV index 0x${nvIndex.toString(16)} (HCL report) does not exist: not an Azure confidential VM`,
      );
    throw e;
  }
}

function parseOrThrow(b: Uint8Array) {
  let hcl: ReturnType<typeof parseHclReport>;
  try {
    hcl = parseHclReport(b);
  } catch (e) {
    throw new TeeError(
      'TEE_AZURE_HCL',
      `HCL report: ${e instanceof AzureFormatError ? `${e.code}: ` : ''}${(e as Error).message}`,
    );
  }
  if (!hclClaimsBound(hcl))
    throw new TeeError(
      'TEE_AZURE_HCL',
      'HCL report: the runtime claims hash is not in the hardware report REPORT_DATA',
    );
  return hcl;
}

async function readHcl(tpm: TpmClient, nvIndex: number) {
  return parseOrThrow(await readHclBytes(tpm, nvIndex));
}

/** Is this an Azure CVM? /dev/tpmrm0 exists and holds the HCL report NV index. */
export async function probeAzure(transport?: TpmTransport): Promise<AzureVtpmProvider | undefined> {
  if (!transport) {
    try {
      await access(TPM_DEVICE);
    } catch {
      return undefined;
    }
  }
  try {
    return await AzureVtpmProvider.open(transport ? { transport } : {});
  } catch (e) {
    if (e instanceof TeeError && e.code === 'TEE_AZURE_NV_MISSING') return undefined;
    throw e;
  }
}

// detectTee(): after SEV-SNP / TDX (absent on Azure: the paravisor owns them), a vTPM holding the HCL
// report selects this provider (force with WASMVM_TEE_PROVIDER=azure-vtpm).
registerTeeDetector('azure-vtpm', async () => probeAzure());
