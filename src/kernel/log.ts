/** A small JSON-lines logger. Never pass whole tokens or secrets to it (see redactToken). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

export function createLogger(opts: {
  level: LogLevel
  write?: (line: string) => void
  now?: () => number
  base?: Record<string, unknown>
}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line))
  const now = opts.now ?? Date.now
  const min = ORDER[opts.level]
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return
    const rec: Record<string, unknown> = { t: new Date(now()).toISOString(), level, msg, ...opts.base, ...fields }
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { message: v.message, stack: v.stack }
    write(`${JSON.stringify(rec)}\n`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...opts.base, ...fields } }),
  }
}

export const silentLogger: Logger = createLogger({ level: 'silent' })
