/**
 * Azure vTPM policy (the `azure` section of a policy file, or a `--pcr-policy` file on its own):
 *
 * {
 *   "pcrBank": "sha256",                      // the bank the quote must cover (default sha256)
 *   "pcrs": { "0": ["<hex>", ...], "7": "<hex>" },  // allow-lists per PCR index; each must be in the quote
 *   "requirePcrs": [0, 1, 2, 3, 4, 5, 6, 7],  // these PCRs must be covered by the quote (default: none)
 *   "vmConfiguration": { "secure-boot": true, "tpm-enabled": true, "console-enabled": false }
 * }
 */
import { PolicyError } from '../errors.ts';

export type PcrBankName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface AzurePolicy {
  pcrBank: PcrBankName;
  /** PCR index → accepted values (lower-case hex). */
  pcrs: Map<number, string[]>;
  requirePcrs: number[];
  /** Runtime-claims `vm-configuration` entries that must have exactly these values. */
  vmConfiguration: Record<string, boolean | string | number>;
}

const KEYS = new Set(['pcrBank', 'pcrs', 'requirePcrs', 'vmConfiguration']);

function pcrIndex(k: string | number, what: string): number {
  const n = typeof k === 'number' ? k : /^\d{1,2}$/.test(k) ? Number(k) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 23)
    throw new PolicyError('INVALID_POLICY', `azure policy: ${what}: PCR index ${String(k)} is not 0..23`);
  return n;
}

const HASH_SIZES: Record<PcrBankName, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** Validate an Azure policy object (unknown keys are an error: a typo must not weaken a policy). */
export function parseAzurePolicy(input: unknown): AzurePolicy {
  const out: AzurePolicy = { pcrBank: 'sha256', pcrs: new Map(), requirePcrs: [], vmConfiguration: {} };
  if (input === undefined) return out;
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new PolicyError('INVALID_POLICY', 'azure policy: not a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.has(k)) throw new PolicyError('INVALID_POLICY', `azure policy: unknown key '${k}'`);
  if (o.pcrBank !== undefined) {
    if (typeof o.pcrBank !== 'string' || !(o.pcrBank in HASH_SIZES))
      throw new PolicyError('INVALID_POLICY', 'azure policy: pcrBank must be sha1, sha256, sha384 or sha512');
    out.pcrBank = o.pcrBank as PcrBankName;
  }
  const size = HASH_SIZES[out.pcrBank];
  if (o.pcrs !== undefined) {
    if (o.pcrs === null || typeof o.pcrs !== 'object' || Array.isArray(o.pcrs))
      throw new PolicyError(
        'INVALID_POLICY',
        'azure policy: pcrs must be an object { "<index>": hex | [hex] }',
      );
    for (const [k, v] of Object.entries(o.pcrs as Record<string, unknown>)) {
      const i = pcrIndex(k, 'pcrs');
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0) throw new PolicyError('INVALID_POLICY', `azure policy: pcrs.${k}: empty list`);
      out.pcrs.set(
        i,
        list.map((h) => {
          if (typeof h !== 'string' || !new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(h))
            throw new PolicyError(
              'INVALID_POLICY',
              `azure policy: pcrs.${k}: expected ${size} bytes of hex (${out.pcrBank})`,
            );
          return h.toLowerCase();
        }),
      );
    }
  }
  if (o.requirePcrs !== undefined) {
    if (!Array.isArray(o.requirePcrs))
      throw new PolicyError('INVALID_POLICY', 'azure policy: requirePcrs must be an array');
    out.requirePcrs = o.requirePcrs.map((x) => pcrIndex(x as number, 'requirePcrs'));
  }
  if (o.vmConfiguration !== undefined) {
    if (
      o.vmConfiguration === null ||
      typeof o.vmConfiguration !== 'object' ||
      Array.isArray(o.vmConfiguration)
    )
      throw new PolicyError('INVALID_POLICY', 'azure policy: vmConfiguration must be an object');
    for (const [k, v] of Object.entries(o.vmConfiguration as Record<string, unknown>)) {
      if (typeof v !== 'boolean' && typeof v !== 'string' && typeof v !== 'number')
        throw new PolicyError(
          'INVALID_POLICY',
          `azure policy: vmConfiguration.${k}: boolean, string or number`,
        );
      out.vmConfiguration[k] = v;
    }
  }
  return out;
}
