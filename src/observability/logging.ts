/**
 * Structured logs for the worker process (the worker, the SDK runtime, workflows and activities,
 * the dispatcher and the reconciler): one JSON object a line, or a human-readable line
 * (`LOG_FORMAT=pretty`, the default when stdout is a terminal). Every line has `time`, `level`,
 * `component` and `msg`, then its fields: `executionId`, `policyId`, `step` where known (the
 * interceptors add them), the SDK's `workflowId`, `runId`, `activityType`, ... Level from LOG_LEVEL.
 * Secrets are redacted from the message and every field (redaction.ts).
 */
import { formatWithOptions } from 'node:util';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { createRedactor, secretValues, type Redactor } from './redaction';

export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
export type LogFormat = 'json' | 'pretty';

/** The SDK's timestamp of a forwarded log record (nanoseconds since the epoch). */
const LOG_TIMESTAMP = Symbol.for('log_timestamp');

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** LOG_LEVEL (trace|debug|info|warn|error, default info) and LOG_FORMAT (json|pretty). */
export function logSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  isTerminal: boolean = process.stdout.isTTY === true,
): LogSettings {
  const level = (env.LOG_LEVEL || 'info').trim().toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new Error(`LOG_LEVEL must be one of trace, debug, info, warn, error; got '${env.LOG_LEVEL}'`);
  const format = (env.LOG_FORMAT || (isTerminal ? 'pretty' : 'json')).trim().toLowerCase();
  if (format !== 'json' && format !== 'pretty')
    throw new Error(`LOG_FORMAT must be 'json' or 'pretty', got '${env.LOG_FORMAT}'`);
  return { level: level as LogLevel, format };
}

export interface StructuredLogger extends Logger {
  readonly settings: LogSettings;
  log(level: LogLevel, message: string, meta?: LogMetadata): void;
  trace(message: string, meta?: LogMetadata): void;
  debug(message: string, meta?: LogMetadata): void;
  info(message: string, meta?: LogMetadata): void;
  warn(message: string, meta?: LogMetadata): void;
  error(message: string, meta?: LogMetadata): void;
  /** The same logger with `component` (and more fields) on every line. */
  child(fields: Record<string, unknown>): StructuredLogger;
}

export interface LoggerOptions extends LogSettings {
  component: string;
  /** Where lines go; default: stdout. */
  write?: (line: string) => void;
  /** Default: the secret values of this process's environment. */
  redactor?: Redactor;
  /** Colour the pretty format (default: when stdout is a terminal). */
  colour?: boolean;
}

const COLOURS: Record<LogLevel, string> = {
  TRACE: '\x1b[90m',
  DEBUG: '\x1b[36m',
  INFO: '\x1b[32m',
  WARN: '\x1b[33m',
  ERROR: '\x1b[31m',
};

/** Fields shown first in the pretty format, in this order. */
const LEADING_FIELDS = ['executionId', 'policyId', 'step', 'workflowId', 'activityType'];

function timeOf(meta: LogMetadata | undefined): string {
  const ns: unknown = meta?.[LOG_TIMESTAMP];
  return new Date(typeof ns === 'bigint' ? Number(ns / 1_000_000n) : Date.now()).toISOString();
}

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

export function createLogger(opts: LoggerOptions, fields: Record<string, unknown> = {}): StructuredLogger {
  const redactor = opts.redactor ?? createRedactor(secretValues(process.env));
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const colour = opts.colour ?? (opts.format === 'pretty' && process.stdout.isTTY === true);
  const threshold = LOG_LEVELS.indexOf(opts.level);
  const base = { component: opts.component, ...fields };

  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const record = redactor.value({ ...base, ...meta }) as Record<string, unknown>;
    const msg = redactor.text(String(message));
    const time = timeOf(meta);
    if (opts.format === 'json') {
      const { component, ...rest } = record;
      write(JSON.stringify({ time, level: level.toLowerCase(), component, msg, ...rest }));
      return;
    }
    const { component, ...rest } = record;
    const keys = [
      ...LEADING_FIELDS.filter((k) => k in rest),
      ...Object.keys(rest).filter((k) => !LEADING_FIELDS.includes(k)),
    ];
    const tail = keys
      .filter((k) => rest[k] !== undefined)
      .map((k) => `${k}=${prettyValue(rest[k])}`)
      .join(' ');
    const lvl = level.padEnd(5);
    const head = `${time.slice(11, 23)} ${colour ? `${COLOURS[level]}${lvl}\x1b[0m` : lvl} ${String(component)}`;
    write(`${head}  ${msg}${tail ? `  ${tail}` : ''}`);
  };
  return {
    settings: { level: opts.level, format: opts.format },
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
    child: (more) => createLogger({ ...opts, redactor }, { ...fields, ...more }),
  };
}

/**
 * The SDK runtime's logger: its records name their part in `sdkComponent` (worker, workflow,
 * activity, core), which becomes the line's component.
 */
export function runtimeLogger(logger: StructuredLogger): Logger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const { sdkComponent, ...rest } = (meta ?? {}) as LogMetadata & { sdkComponent?: unknown };
    const timestamp: unknown = meta?.[LOG_TIMESTAMP];
    const fields: LogMetadata = {
      ...rest,
      component: typeof sdkComponent === 'string' ? sdkComponent : 'sdk',
    };
    if (timestamp !== undefined) fields[LOG_TIMESTAMP] = timestamp;
    logger.log(level, message, fields);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

/** console.* of this process through `logger` (libraries and older code print with console). */
export function routeConsole(logger: StructuredLogger): void {
  const line = (args: unknown[]) => formatWithOptions({ colors: false, breakLength: Infinity }, ...args);
  console.log = (...args: unknown[]) => logger.info(line(args));
  console.info = (...args: unknown[]) => logger.info(line(args));
  console.warn = (...args: unknown[]) => logger.warn(line(args));
  console.error = (...args: unknown[]) => logger.error(line(args));
  console.debug = (...args: unknown[]) => logger.debug(line(args));
}
