/**
 * Evidence providers: the contract between src/tee and its users (server, host, CLI).
 */

// The evidence descriptors are src/binding's vocabulary (one definition for providers and verifier).
import type { CpuEvidence, TeeKind } from '../binding/index.ts';

export type { CpuEvidence, TeeKind };

export interface TeeProvider {
  readonly kind: TeeKind;
  readonly simulated: boolean;
  /** Human description for logs and GetServerInfo, e.g. 'AMD SEV-SNP via configfs-tsm'. */
  readonly description: string;
  /** Produce fresh evidence whose REPORT_DATA is exactly `reportData` (64 bytes). */
  getEvidence(reportData: Uint8Array): Promise<CpuEvidence>;
}
