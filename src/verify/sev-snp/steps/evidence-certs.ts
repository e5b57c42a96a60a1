/**
 * Step 2: the certificates that came with the evidence (`vek`, `certs`, the GHCB certificate table), bounded
 * in size ('snp.certs.table'); given certificates win over the table's.
 */

import { CERT_TABLE_LIMITS, certsFromTable, parseCertTable } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import { fail, type SnpCerts, type VerifySnpOptions } from './common.ts';

/** The evidence certificates, or undefined after an oversized-certificate failure (verification stops). */
export function collectEvidenceCerts(opts: VerifySnpOptions, checks: Check[]): SnpCerts | undefined {
  const oversized = [['vek', opts.vek], ...Object.entries(opts.certs ?? {})].filter(
    ([, c]) => c !== undefined && (c as Uint8Array | string).length > CERT_TABLE_LIMITS.maxCertBytes * 2,
  );
  if (oversized.length > 0) {
    checks.push(
      fail(
        'snp.certs.table',
        `SNP_CERT_TABLE_SIZE: certificate(s) ${oversized.map(([k]) => k).join(', ')} over ${CERT_TABLE_LIMITS.maxCertBytes} bytes`,
      ),
    );
    return undefined;
  }
  let evCerts: SnpCerts = { ...(opts.certs ?? {}) };
  if (opts.auxblob) {
    try {
      evCerts = { ...certsFromTable(parseCertTable(opts.auxblob)), ...evCerts };
    } catch (e) {
      const code = (e as { code?: string }).code;
      checks.push(
        fail('snp.certs.table', `bad certificate table: ${code ? `${code}: ` : ''}${(e as Error).message}`),
      );
    }
  }
  return evCerts;
}
