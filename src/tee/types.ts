/**
 * Evidence providers: the contract between src/tee and its users (server, host, CLI).
 */

/** What kind of hardware evidence. Simulated evidence has the same formats, marked `simulated`. */
export type TeeKind = 'sev-snp' | 'tdx';

/** CPU (confidential VM) evidence as produced by a provider. */
export interface CpuEvidence {
  kind: TeeKind;
  /** True for the local simulated TEE: its key chain is not AMD's/Intel's. */
  simulated: boolean;
  /** The raw report: SEV-SNP ATTESTATION_REPORT (1184 bytes) or a TDX quote. */
  report: Uint8Array;
  /**
   * Certificates that came with the evidence (SEV-SNP extended report auxblob: VCEK/VLEK, ASK/ASVK,
   * ARK; TDX: inside the quote). DER. Roots here are never trusted, only matched to pinned ones.
   */
  certs?: {
    vcek?: Uint8Array;
    vlek?: Uint8Array;
    ask?: Uint8Array;
    ark?: Uint8Array;
  };
  /** Raw auxblob (GHCB extended-report certificate table) when the provider returned one. */
  auxblob?: Uint8Array;
  /** Which provider produced it: 'configfs-tsm', 'sev-guest-ioctl', 'simulated'. */
  provider: string;
}

export interface TeeProvider {
  readonly kind: TeeKind;
  readonly simulated: boolean;
  /** Human description for logs and GetServerInfo, e.g. 'AMD SEV-SNP via configfs-tsm'. */
  readonly description: string;
  /** Produce fresh evidence whose REPORT_DATA is exactly `reportData` (64 bytes). */
  getEvidence(reportData: Uint8Array): Promise<CpuEvidence>;
}
