import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AuditLog, verifyAuditLog } from '../../src/host/index.ts';

function fresh() {
  return join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.log');
}

describe('audit log hash chain', () => {
  test('a clean log verifies; a reopened log continues the chain', () => {
    const p = fresh();
    const a = new AuditLog(p);
    for (let i = 0; i < 5; i++) a.append({ event: 'attest_vm', i });
    const b = new AuditLog(p);
    b.append({ event: 'clear_cache' });
    const v = verifyAuditLog(p);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.lines, 6);
    const last = JSON.parse(readFileSync(p, 'utf8').trim().split('\n').at(-1)!);
    assert.equal(last.seq, 5);
  });

  test('an edited line is detected', () => {
    const p = fresh();
    const a = new AuditLog(p);
    for (let i = 0; i < 5; i++) a.append({ event: 'attest_vm', success: false, i });
    const lines = readFileSync(p, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"success":false', '"success":true');
    writeFileSync(p, lines.join('\n'));
    const v = verifyAuditLog(p);
    assert.equal(v.ok, false);
    assert.equal(v.problems[0]!.line, 4);
  });

  test('a removed middle line is detected', () => {
    const p = fresh();
    const a = new AuditLog(p);
    for (let i = 0; i < 5; i++) a.append({ event: 'attest_vm', i });
    const lines = readFileSync(p, 'utf8').split('\n');
    lines.splice(1, 1);
    writeFileSync(p, lines.join('\n'));
    const v = verifyAuditLog(p);
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((x) => /removed/.test(x.reason)));
  });

  test('a removed (or edited) last line is detected through the head', () => {
    const p = fresh();
    const a = new AuditLog(p);
    for (let i = 0; i < 3; i++) a.append({ event: 'attest_vm', i });
    const lines = readFileSync(p, 'utf8').trimEnd().split('\n');
    writeFileSync(p, `${lines.slice(0, -1).join('\n')}\n`);
    assert.equal(verifyAuditLog(p).ok, false);
    const head = verifyAuditLog(p).head;
    assert.equal(verifyAuditLog(p, head).ok, true, 'consistent with an older externally kept head');
  });

  test('rotation by size keeps the chain across files; tampering in a rotated file is detected', () => {
    const p = fresh();
    const a = new AuditLog(p, { maxBytes: 1000, maxFiles: 20 });
    for (let i = 0; i < 20; i++) a.append({ event: 'attest_vm', i, pad: 'x'.repeat(50) });
    const v = verifyAuditLog(p);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.ok(v.files.length > 2, `rotated into ${v.files.length} files`);
    assert.equal(v.lines, 20);
    const rotated = `${p}.2`;
    writeFileSync(rotated, readFileSync(rotated, 'utf8').replace('"i":', '"i":1'));
    assert.equal(verifyAuditLog(p).ok, false);
  });

  test('old files dropped by rotation: the chain starts later but still verifies', () => {
    const p = fresh();
    const a = new AuditLog(p, { maxBytes: 300, maxFiles: 2 });
    for (let i = 0; i < 20; i++) a.append({ event: 'x', i, pad: 'y'.repeat(50) });
    const v = verifyAuditLog(p);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.ok((v.firstSeq ?? 0) > 0);
  });
});
