import winston from 'winston';

// One line per event: "<time> <level> [<component>] <message>".
const lineFormat = winston.format.printf(({ timestamp, level, message, component }) =>
  `${String(timestamp)} ${level} [${String(component ?? 'main')}] ${String(message)}`,
);

const rootLogger = winston.createLogger({
  level: process.env.ENVOY_TS_LOG_LEVEL ?? 'info',
  format: winston.format.combine(winston.format.timestamp(), lineFormat),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'trace'] })],
  levels: { critical: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 },
});

export type LogLevel = 'critical' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];

export interface Logger {
  critical(message: string): void;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
}

export function setLogLevel(level: LogLevel): void {
  rootLogger.level = level;
}

/** A logger whose lines carry the component name, like Envoy's per-component loggers. */
export function getLogger(component: string): Logger {
  const child = rootLogger.child({ component });
  return {
    critical: (m) => child.log('critical', m),
    error: (m) => child.log('error', m),
    warn: (m) => child.log('warn', m),
    info: (m) => child.log('info', m),
    debug: (m) => child.log('debug', m),
    trace: (m) => child.log('trace', m),
  };
}
