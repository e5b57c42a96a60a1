/**
 * The verifier room's constants: QEMU's AMD CPU models and their CPUID signatures (what `measure snp
 * --vcpu-type` accepts) and the collateral bundle's format name. Loads nothing at run time, so `measure --help` prints them without loading the
 * verifier (docs/architecture.md: a room's `defaults.ts`).
 */

/** CPUID Fn0000_0001_EAX signature (AMD CPUID spec #25481). */
export function cpuSig(family: number, model: number, stepping: number): number {
  const famLow = family > 0xf ? 0xf : family;
  const famHigh = family > 0xf ? (family - 0xf) & 0xff : 0;
  return (
    ((famHigh << 20) |
      (((model >> 4) & 0xf) << 16) |
      (famLow << 8) |
      ((model & 0xf) << 4) |
      (stepping & 0xf)) >>>
    0
  );
}

/** QEMU's builtin AMD CPU models (family, model, stepping). */
export const VCPU_TYPES: Record<string, number> = Object.fromEntries(
  (
    [
      [['EPYC', 'EPYC-v1', 'EPYC-v2', 'EPYC-IBPB', 'EPYC-v3', 'EPYC-v4'], 23, 1, 2],
      [['EPYC-Rome', 'EPYC-Rome-v1', 'EPYC-Rome-v2', 'EPYC-Rome-v3'], 23, 49, 0],
      [['EPYC-Milan', 'EPYC-Milan-v1', 'EPYC-Milan-v2'], 25, 1, 1],
      [['EPYC-Genoa', 'EPYC-Genoa-v1'], 25, 17, 0],
      [['EPYC-Turin'], 26, 0, 0],
    ] as [string[], number, number, number][]
  ).flatMap(([names, f, m, s]) => names.map((n) => [n, cpuSig(f, m, s)])),
);

/** The `format` of a collateral bundle file (docs/reference-values.md). */
export const COLLATERAL_BUNDLE_FORMAT = 'wasmvm-tee/collateral-bundle/v1';
