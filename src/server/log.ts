/**
 * JSON logs: one line per event on stderr (or a given sink). No guest data (bytecode, inputs, outputs)
 * is ever logged; request lines carry ids, method, code, duration and gas only.
 */

import type { LOG_LEVELS } from './defaults.ts';

export type LogLevel = (typeof LOG_LEVELS)[number];

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(ORDER, s);
}

export interface Logger {
  readonly level: LogLevel;
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void;
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = defaultSink): Logger {
  return {
    level,
    log(l, msg, fields = {}) {
      if (ORDER[l] < ORDER[level]) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }, replacer));
    },
  };
}

function defaultSink(line: string): void {
  process.stderr.write(`${line}\n`);
}
