import { pino, type DestinationStream, type Logger } from 'pino';
import { withoutPasswordShapes } from '../disclosure/password-shaped.js';

/**
 * The service log. Nothing that reaches it should hold a secret in the first place; redaction is
 * the second line of defence for what slips through (a header, a body logged by mistake).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'authorization',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'key',
  'recoveryPassword',
  'recoveryKey.key',
  '*.key',
  '*.*.key',
  '*.recoveryKey.key',
  '*.recoveryPassword',
  '*.accessToken',
  '*.access_token',
  '*.client_secret',
  '*.clientSecret',
];

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  routeOptions?: { url?: string };
}

/**
 * A request as the log shows it: method, path and client address. Never the query string: it holds
 * what staff searched for, and on /auth/callback Entra's code, state and error description.
 */
export function requestForLog(request: LoggedRequest): Record<string, unknown> {
  return { method: request.method, path: withoutPasswordShapes((request.url ?? '').split('?')[0]!), route: request.routeOptions?.url, remoteAddress: request.ip };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keydesk' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      serializers: {
        req: requestForLog,
        res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
