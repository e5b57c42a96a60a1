import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as verifyMain } from '../../../src/cli/verify.ts';
import {
  parseReferenceValues,
  REFERENCE_VALUES_FORMAT,
  REFERENCE_VALUES_KEYS,
  toVerifierPolicy,
  unenforcedPins,
} from '../../../src/verify/reference/policy-file.ts';

const SNP = (f: string) => fileURLToPath(new URL(`../../data/sev-snp/${f}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-refvals-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await verifyMain(args, {
    out: (s) => {
      out += `${s}
`;
    },
    err: (s) => {
      err += `${s}
`;
    },
  });
  return { code, out, err };
}

const FULL = {
  $schema: './reference-values.schema.json',
  format: REFERENCE_VALUES_FORMAT,
  description: 'example',
  allowSimulated: false,
  allowNotChecked: ['nvidia.rim.chain.revocation'],
  serverBuildSha256: ['ab'.repeat(32)],
  snp: { measurements: ['cd'.repeat(48)], minTcb: { blSPL: 3, teeSPL: 0, snpSPL: 8, ucodeSPL: 115 } },
  tdx: { mrTd: ['ef'.repeat(48)], acceptedTcbStatuses: ['UpToDate'] },
  nvidia: {
    rimVersions: ['96.00.74.00.1A', '550.90.07'],
    referenceValues: { measurements: { '2': 'b558fdac'.padEnd(96, '0') }, allowUnlistedIndices: true },
  },
  azure: { hashAlg: 'sha256', pcrs: { '0': ['00'.repeat(32)], '7': ['11'.repeat(32)] } },
};

describe('reference-value policy files', () => {
  it('a full file loads and maps onto the per-vendor options', () => {
    const rv = parseReferenceValues(FULL);
    const p = toVerifierPolicy(rv);
    assert.deepEqual(p.snp?.measurements, ['cd'.repeat(48)]);
    assert.equal(p.snp?.minTcb?.snpSPL, 8);
    assert.deepEqual(p.tdx?.mrTd, ['ef'.repeat(48)]);
    assert.deepEqual(p.nvidia?.rimVersions, ['96.00.74.00.1A', '550.90.07']);
    assert.equal(p.gpuReferenceValues?.allowUnlistedIndices, true);
    assert.deepEqual(rv.azure?.pcrs['7'], ['11'.repeat(32)]);
    assert.deepEqual(
      unenforcedPins(rv).map((x) => x.id),
      ['reference.azure-pcrs'],
    );
  });

  it('unknown keys and bad values are errors at every level', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...FULL, extra: 1 }, /unknown key 'extra'/],
      [{ ...FULL, format: 'v0' }, /format/],
      [{ ...FULL, snp: { measurement: [] } }, /^snp:/],
      [{ ...FULL, snp: { measurements: ['cd'] } }, /^snp:/],
      [{ ...FULL, tdx: { mrtd: [] } }, /^tdx:/],
      [{ ...FULL, nvidia: { rimVersion: ['x'] } }, /unknown key 'rimVersion'/],
      [{ ...FULL, nvidia: { referenceValues: { measurement: {} } } }, /unknown key 'measurement'/],
      [{ ...FULL, azure: { hashAlg: 'sha256', pcrs: { '24': ['00'.repeat(32)] } } }, /PCR index/],
      [{ ...FULL, azure: { hashAlg: 'sha256', pcrs: { '0': ['00'.repeat(48)] } } }, /64 hex/],
      [{ ...FULL, allowSimulated: 'yes' }, /allowSimulated/],
      [{ ...FULL, serverBuildSha256: [] }, /serverBuildSha256/],
      [[], /expected an object/],
    ];
    for (const [input, re] of cases)
      assert.throws(
        () => parseReferenceValues(input),
        (e: Error & { code?: string }) => e.code === 'REFERENCE_VALUES_INVALID' && re.test(e.message),
        String(re),
      );
  });

  it('the JSON schema names exactly the keys the loader accepts', () => {
    const schema = JSON.parse(
      readFileSync(new URL('../../../docs/reference-values.schema.json', import.meta.url), 'utf8'),
    );
    assert.deepEqual(Object.keys(schema.properties).sort(), [...REFERENCE_VALUES_KEYS.top].sort());
    assert.deepEqual(
      Object.keys(schema.properties.nvidia.properties).sort(),
      [...REFERENCE_VALUES_KEYS.nvidia].sort(),
    );
    assert.deepEqual(
      Object.keys(schema.properties.nvidia.properties.referenceValues.properties).sort(),
      [...REFERENCE_VALUES_KEYS.gpuReferenceValues].sort(),
    );
    assert.deepEqual(
      Object.keys(schema.properties.azure.properties).sort(),
      [...REFERENCE_VALUES_KEYS.azure].sort(),
    );
    assert.equal(schema.properties.format.const, REFERENCE_VALUES_FORMAT);
  });

  it('verify --policy takes the measurement pin from a reference-value file', async () => {
    const report = readFileSync(SNP('genoa-v5-report.bin'));
    // ATTESTATION_REPORT.MEASUREMENT: offset 0x90, 48 bytes (SEV-SNP ABI, Table 23)
    const measurement = report.subarray(0x90, 0xc0).toString('hex');
    const write = (name: string, m: string) => {
      const f = join(tmp, name);
      writeFileSync(f, JSON.stringify({ format: REFERENCE_VALUES_FORMAT, snp: { measurements: [m] } }));
      return f;
    };
    const base = [
      '--no-nonce',
      '--snp-report',
      SNP('genoa-v5-report.bin'),
      '--vcek',
      SNP('genoa-v5-vcek.der'),
    ];
    const now = ['--now', '2026-06-01T00:00:00Z'];
    const ok = await run([...base, ...now, '--policy', write('good.json', measurement)]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    const wrong = await run([...base, ...now, '--policy', write('bad.json', '00'.repeat(48))]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.out, /FAIL .*measurement/i);
    const badFile = join(tmp, 'typo.json');
    writeFileSync(badFile, JSON.stringify({ format: REFERENCE_VALUES_FORMAT, snp: {}, nvdia: {} }));
    const typo = await run([...base, ...now, '--policy', badFile]);
    assert.equal(typo.code, 2);
    assert.match(typo.err, /unknown key 'nvdia'/);
  });
});
