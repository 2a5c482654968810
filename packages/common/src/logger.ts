/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * A structured logger. Implementations write one JSON object per line. Secrets never go into
 * fields: callers pass redacted values.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Log levels in increasing severity. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Creates a logger that writes JSON lines (`{"ts","level","msg",...fields}`) to `write`.
 * Lines below `level` are dropped.
 */
export function createJsonLogger(
  write: (line: string) => void,
  level: LogLevel = 'info',
  base: LogFields = {},
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) return;
    const record = {
      ts: new Date().toISOString(),
      level: lineLevel,
      msg: message,
      ...base,
      ...fields,
    };
    write(JSON.stringify(record, errorReplacer) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createJsonLogger(write, level, { ...base, ...fields }),
  };
}

/** A logger that drops everything; for tests. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  return value;
}
