/**
 * Structured JSON logs, one object per line, written by pino: `{"level":"info","time":"…","msg":"…", …fields}`.
 * warn and error go to stderr, the rest to stdout. LOG_LEVEL: debug, info, warn, error or silent.
 *
 * Secrets never reach a line: fields named like credentials (authorization, apiKey, key, token,
 * secret, password, cookie — at the top level, one level down, and in `headers`) are replaced by
 * "[redacted]", and API keys (`sk_…`, `pk_…`) or webhook secrets (`whsec_…`) inside any string field
 * are cut to their prefix. With tracing on, every line written inside a traced operation carries
 * `trace_id` and `span_id` (src/observability/tracing.ts).
 */
import pino from 'pino';
import type { LogLevel } from './config';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Whether a line at this level would be written (to skip building costly fields). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

const SECRET_NAMES = ['authorization', 'Authorization', 'apiKey', 'api_key', 'key', 'token', 'secret', 'password', 'cookie', 'x-api-key'];
/** pino redaction paths: each secret name at the top level, one level down, and under headers. */
export const REDACT_PATHS = [
  ...SECRET_NAMES.map((n) => (/^[A-Za-z_$][\w$]*$/.test(n) ? n : `["${n}"]`)),
  ...SECRET_NAMES.map((n) => (/^[A-Za-z_$][\w$]*$/.test(n) ? `*.${n}` : `*["${n}"]`)),
  ...SECRET_NAMES.map((n) => `*.headers["${n}"]`),
];

/** API keys and webhook secrets inside free text: kept to their prefix. */
const SECRET_IN_TEXT = /\b(sk|pk|whsec)_[A-Za-z0-9_-]{8,}/g;

/** Replaces API keys and webhook secrets in a string by their kind (`sk_[redacted]`). */
export function scrubText(s: string): string {
  return s.includes('_') ? s.replace(SECRET_IN_TEXT, (_m, kind: string) => `${kind}_[redacted]`) : s;
}

function scrubFields(obj: Record<string, unknown>): Record<string, unknown> {
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'string') obj[k] = scrubText(v);
    else if (v instanceof Error) obj[k] = { name: v.name, message: scrubText(v.message) };
    else if (typeof v === 'bigint') obj[k] = v.toString();
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.message === 'string')
        obj[k] = { ...o, message: scrubText(o.message), ...(typeof o.stack === 'string' ? { stack: scrubText(o.stack) } : {}) };
    }
  }
  return obj;
}

/** Fields added to every line by the tracing module (trace_id/span_id of the active span), when it is loaded. */
let mixin: (() => Record<string, unknown>) | null = null;
export function setLogMixin(fn: (() => Record<string, unknown>) | null): void {
  mixin = fn;
}

function destination(fd: 1 | 2): pino.DestinationStream {
  // Synchronous writes: lines keep their order across stdout and stderr and are not lost on exit.
  return pino.destination({ dest: fd, sync: true });
}

let shared: { out: pino.DestinationStream; err: pino.DestinationStream } | null = null;

/** A pino logger at `level` writing to `stream` (tests), or to stdout/stderr. */
export function createPino(level: LogLevel, stream?: pino.DestinationStream): pino.Logger {
  shared ??= { out: destination(1), err: destination(2) };
  const dest =
    stream ??
    pino.multistream(
      [
        { level: 'debug', stream: shared.out },
        { level: 'warn', stream: shared.err },
      ],
      { dedupe: true },
    );
  return pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: scrubFields,
      },
      // Errors are flattened to { name, message } by scrubFields (no pino `type`/`stack` fields).
      serializers: { err: (v: unknown) => v },
      mixin: () => (mixin ? mixin() : {}),
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    dest,
  );
}

/**
 * The logger behind the Logger interface. The message is written right after level and time
 * (`"msg":"listening","url":…`), then the child's fields, then the call's fields.
 */
function wrap(p: pino.Logger, base: Record<string, unknown> | null): Logger {
  const write = (lvl: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(lvl)) return;
    p[lvl](base || fields ? { msg, ...base, ...fields } : { msg });
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => wrap(p, { ...base, ...f }),
    enabled: (lvl) => p.isLevelEnabled(lvl),
  };
}

export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, stream?: pino.DestinationStream): Logger {
  return wrap(createPino(level, stream), Object.keys(base).length ? base : null);
}
