import pino, { type Logger } from 'pino';
import type { ServiceConfig } from './config.ts';

/** One JSON line per event; credentials never reach the log. */
export function createLogger(config: Pick<ServiceConfig, 'logLevel'>, service: string): Logger {
  return pino({
    level: config.logLevel,
    base: { service, pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
