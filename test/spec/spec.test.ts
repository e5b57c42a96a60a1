import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadInstrument } from './instrumenter.ts';
import { compareFile, instrumentedVariant, specFiles } from './suite.ts';

const { instrument, real } = await loadInstrument();
const variant = instrumentedVariant(instrument);

for (const file of specFiles()) {
  test(`spec ${file}: plain passes, instrumented passes the same commands`, async (t) => {
    const c = await compareFile(file, variant);
    if (!real) t.diagnostic('metering module not present: identity instrumentation');
    assert.deepEqual(
      c.plainFailures.map((r) => `${file}:${r.line} ${r.command}: ${r.detail}`),
      [],
      'plain engine failures',
    );
    assert.deepEqual(
      c.regressions.map((r) => `${file}:${r.line} ${r.command}: ${r.detail}`),
      [],
      'commands passing plain but failing instrumented',
    );
    if (c.nanDiffs.length) t.diagnostic(`${c.nanDiffs.length} NaN-payload differences (canonicalization)`);
  });
}
