/** Node only: read a reference-value file (./policy-file.ts parses and validates it). */
import { readFileSync } from 'node:fs';
import { parseReferenceValues, type ReferenceValues, ReferenceValuesError } from './policy-file.ts';

/** Read and validate a reference-value file. */
export function loadReferenceValuesFile(path: string): ReferenceValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReferenceValuesError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ReferenceValuesError(`${path} is not JSON: ${(e as Error).message}`);
  }
  return parseReferenceValues(j);
}
