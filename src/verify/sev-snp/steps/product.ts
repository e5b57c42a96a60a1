/** Step 4: the product line (Milan, Genoa, Turin): the report's CPUID and the certificate must agree ('snp.product'). */

import type { AmdCertInfo } from '../../../formats/index.ts';
import { reportProduct, type SnpProduct, type SnpReportFields } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import { fail, pass, skip } from './common.ts';

/** The product line to verify against; `product` (the guess so far) unchanged when report and certificate disagree. */
export function checkProduct(
  r: SnpReportFields,
  info: AmdCertInfo,
  product: SnpProduct | undefined,
  optsProduct: SnpProduct | undefined,
  checks: Check[],
): SnpProduct | undefined {
  const reportProd = reportProduct(r);
  if (reportProd && info.product && reportProd !== info.product) {
    checks.push(fail('snp.product', `report CPUID says ${reportProd}, certificate says ${info.productName}`));
    return product;
  }
  const p = reportProd ?? info.product ?? optsProduct;
  checks.push(
    p
      ? pass(
          'snp.product',
          `${p}${reportProd ? ' (CPUID)' : ''}${info.productName ? ` (certificate: ${info.productName})` : ''}`,
        )
      : skip('snp.product', 'unknown product line (version 2 report, no productName)'),
  );
  return p;
}
