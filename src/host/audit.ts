/**
 * Tamper-evident audit log of attestation calls: JSON lines, hash-chained.
 *
 * Each line is a JSON object `{"seq":N,"ts":"…","prev":"<sha256 hex of the previous line>",…event}`.
 * The hash is over the previous line's exact UTF-8 bytes without its newline; the first line ever
 * has prev = 64 zeros. When the file would pass `maxBytes` it is rotated (`log` → `log.1` → `log.2`…,
 * at most `maxFiles` old files kept) and the chain continues: the first line of the new file holds the
 * hash of the last line of the rotated one. A `log.head` file holds the last {seq, hash} so removing
 * the final line is noticed too. Single writer per log (one process).
 * No secrets: tokens and evidence are logged only as SHA-256 hashes (the caller's duty; see handler).
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

export const GENESIS = '0'.repeat(64);

export interface AuditOptions {
  /** Rotate when the current file would exceed this many bytes (default 8 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 5). */
  maxFiles?: number;
  now?: () => number;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => l.length > 0);
  return lines[lines.length - 1];
}

export class AuditLog {
  private prev = GENESIS;
  private seq = 0;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly now: () => number;

  constructor(
    readonly path: string,
    options: AuditOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.maxFiles = Math.max(1, options.maxFiles ?? 5);
    this.now = options.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true });
    // Continue an existing chain: from the current file, else from the newest rotated one.
    for (const f of [path, `${path}.1`]) {
      if (!existsSync(f)) continue;
      const last = lastLine(readFileSync(f, 'utf8'));
      if (last === undefined) continue;
      this.prev = sha256(last);
      try {
        this.seq = Number((JSON.parse(last) as { seq?: number }).seq ?? -1) + 1;
      } catch {
        this.seq = 0;
      }
      break;
    }
  }

  append(event: Record<string, unknown>): void {
    const { seq: _s, ts: _t, prev: _p, ...rest } = event;
    const line = JSON.stringify({
      seq: this.seq,
      ts: new Date(this.now()).toISOString(),
      prev: this.prev,
      ...rest,
    });
    const bytes = Buffer.byteLength(line) + 1;
    if (
      existsSync(this.path) &&
      statSync(this.path).size > 0 &&
      statSync(this.path).size + bytes > this.maxBytes
    ) {
      this.rotate();
    }
    appendFileSync(this.path, `${line}\n`, { mode: 0o600 });
    this.prev = sha256(line);
    writeFileSync(`${this.path}.head`, `${JSON.stringify({ seq: this.seq, hash: this.prev })}\n`, {
      mode: 0o600,
    });
    this.seq++;
  }

  private rotate(): void {
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
    }
    // The oldest (log.maxFiles) was overwritten above: at most maxFiles rotated files are kept.
    renameSync(this.path, `${this.path}.1`);
  }
}

export interface AuditProblem {
  file: string;
  line: number;
  reason: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Lines checked across all files. */
  lines: number;
  files: string[];
  /** seq of the first line available (> 0 when older rotated files were dropped). */
  firstSeq: number | undefined;
  /** Hash of the last line (compare with an externally kept head to detect truncation). */
  head: string;
  problems: AuditProblem[];
}

/**
 * Verify the whole chain of `path` (rotated files oldest first, then the current file).
 * `expectedHead`: a hash kept elsewhere (e.g. printed at shutdown); else `path.head` is used if present.
 */
export function verifyAuditLog(path: string, expectedHead?: string): AuditVerification {
  const files: string[] = [];
  for (let i = 64; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  const problems: AuditProblem[] = [];
  let prevHash: string | undefined;
  let prevSeq: number | undefined;
  let firstSeq: number | undefined;
  let lines = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    all.forEach((line, idx) => {
      lines++;
      const where = { file: f, line: idx + 1 };
      let obj: { seq?: unknown; prev?: unknown };
      try {
        obj = JSON.parse(line) as typeof obj;
      } catch {
        problems.push({ ...where, reason: 'not valid JSON' });
        prevHash = sha256(line);
        return;
      }
      const seq = typeof obj.seq === 'number' ? obj.seq : Number.NaN;
      if (prevHash === undefined) {
        firstSeq = seq;
        if (seq === 0 && obj.prev !== GENESIS)
          problems.push({ ...where, reason: 'first line does not start the chain' });
      } else {
        if (obj.prev !== prevHash) {
          problems.push({ ...where, reason: `prev hash mismatch: the previous line was edited or removed` });
        }
        if (prevSeq !== undefined && seq !== prevSeq + 1) {
          problems.push({
            ...where,
            reason: `seq ${seq} follows ${prevSeq}: a line was removed or inserted`,
          });
        }
      }
      prevHash = sha256(line);
      prevSeq = seq;
    });
  }
  const head = prevHash ?? GENESIS;
  let want = expectedHead;
  if (want === undefined && existsSync(`${path}.head`)) {
    try {
      want = (JSON.parse(readFileSync(`${path}.head`, 'utf8')) as { hash?: string }).hash;
    } catch {
      problems.push({ file: `${path}.head`, line: 1, reason: 'head file unreadable' });
    }
  }
  if (want !== undefined && want !== head) {
    problems.push({
      file: path,
      line: lines,
      reason: 'last line does not match the recorded head (edited or truncated)',
    });
  }
  return { ok: problems.length === 0, lines, files, firstSeq, head, problems };
}
