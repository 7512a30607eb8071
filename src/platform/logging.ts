/**
 * pino JSON logs. Nothing sensitive reaches a log line: credentials are redacted by path, and the
 * query strings of logged URLs lose the values of parameters that carry codes, tokens or assertions.
 */

import type { Logger, LoggerOptions } from 'pino';
import { pino } from 'pino';

export type { Logger };

/** Query parameters whose values are credentials or one-time codes. */
const SENSITIVE_QUERY_PARAMS = new Set([
  'code',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'jwt',
  'samlresponse',
  'samlrequest',
  'signature',
  'client_secret',
  'password',
  'key',
  'ticket',
  'assertion',
  'login_hint_token',
]);

/** Object paths redacted wherever they appear in a log record. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-auth-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.privateKey',
  '*.key',
  'headers.authorization',
  'headers.cookie',
];

/**
 * pino's error serializer, minus bound query parameters: a failed query's error (Drizzle's
 * `DrizzleQueryError`) carries them in `params` and at the end of its message, and they hold
 * personal data (emails, names, event payloads). The SQL text and the driver's cause stay.
 */
export function serializeError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  if ('params' in serialized) {
    serialized.params = '[redacted]';
    for (const field of ['message', 'stack'] as const) {
      const text = serialized[field];
      if (typeof text === 'string')
        serialized[field] = text.replace(/\nparams: [^\n]*/g, '\nparams: [redacted]');
    }
  }
  return serialized;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'switchboard' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: serializeError,
      req: (request: {
        method?: string;
        url?: string;
        id?: string;
        ip?: string;
        headers?: Record<string, unknown>;
      }) => ({
        id: request.id,
        method: request.method,
        url: redactUrl(request.url ?? ''),
        remoteAddress: request.ip,
        userAgent: request.headers?.['user-agent'],
      }),
      res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Paths whose segment after the prefix is a bearer credential (setup links). */
const SENSITIVE_PATH_PREFIXES = ['/setup/'];

/**
 * Replaces credentials in a path-and-query string: the token segment of capability paths
 * (`/setup/<token>/...`) and the values of sensitive query parameters.
 */
export function redactUrl(original: string): string {
  let url = original;
  for (const prefix of SENSITIVE_PATH_PREFIXES) {
    if (url.startsWith(prefix))
      url = `${prefix}[redacted]${url.slice(prefix.length).replace(/^[^/?#]*/, '')}`;
  }
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  let changed = false;
  for (const name of [...params.keys()]) {
    if (SENSITIVE_QUERY_PARAMS.has(name.toLowerCase())) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, queryStart)}?${params.toString()}` : url;
}
