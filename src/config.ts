/**
 * The one configuration schema of Switchboard.
 *
 * Every option is read from the environment, validated here at boot, and documented in
 * `configOptions` (printed by `switchboard config --help` and mirrored in the README). A bad value
 * stops start-up with one line naming the variable and what is expected.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Documentation of each option, in the order it is printed. */
export const configOptions = [
  {
    name: 'PORT',
    default: '8080',
    description: 'TCP port the HTTP server listens on.',
  },
  {
    name: 'HOST',
    default: '0.0.0.0',
    description: 'Interface the HTTP server binds to.',
  },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    description:
      'Trust X-Forwarded-* headers from a reverse proxy: `true`, `false`, a hop count, or comma-separated proxy addresses/CIDRs.',
  },
  {
    name: 'PUBLIC_URL',
    default: 'http://localhost:8080',
    description:
      'External base URL of this hub (scheme, host, optional path, no trailing slash). Used for OIDC issuer, SAML entity IDs, SCIM base URLs and redirect URIs.',
  },
  {
    name: 'DATABASE_URL',
    default: '(unset: embedded)',
    description:
      'PostgreSQL connection string (postgres://user:pass@host:5432/db). Unset runs the embedded PGlite database in DATA_DIR.',
  },
  {
    name: 'DATABASE_POOL_SIZE',
    default: '10',
    description: 'Maximum connections in the PostgreSQL pool (ignored in embedded mode).',
  },
  {
    name: 'DATA_DIR',
    default: './data',
    description: 'Directory for the embedded database, its lock and the generated secret key.',
  },
  {
    name: 'SECRET_KEY',
    default: '(generated in embedded mode)',
    description:
      'Key that encrypts stored secrets (AES-256-GCM): 32 bytes as base64 or 64 hex characters. Required when DATABASE_URL is set; in embedded mode generated on first start into DATA_DIR/secret.key (mode 0600).',
  },
  {
    name: 'SECRET_KEY_PREVIOUS',
    default: '(none)',
    description:
      'Comma-separated former SECRET_KEY values, still accepted for decryption after a key rotation.',
  },
  {
    name: 'LOG_LEVEL',
    default: 'info',
    description: `Log verbosity: ${LOG_LEVELS.join(', ')}.`,
  },
  {
    name: 'SWITCHBOARD_BOOTSTRAP_ADMIN_KEY',
    default: '(none)',
    description:
      'If set and no admin API key exists yet, registered at start as an admin-scope API key (container-friendly bootstrap). At least 32 characters.',
  },
  {
    name: 'BODY_LIMIT_BYTES',
    default: '1048576',
    description: 'Largest accepted JSON request body, in bytes; larger bodies get 413.',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '25000',
    description:
      'On SIGTERM, how long to wait for in-flight requests and jobs before releasing them and exiting.',
  },
  {
    name: 'SSO_INSECURE_HTTP',
    default: 'loopback',
    description:
      'Which IdP URLs (OIDC discovery, endpoints, JWKS; SAML metadata and SSO URLs) may be plain http: `never`, `loopback` (only localhost, 127.0.0.1 and ::1: an IdP on the same machine, as in development and tests), or `any` (unsafe: tokens and assertions cross the network in clear; for lab setups only).',
  },
  {
    name: 'SSO_FLOW_TTL_SECONDS',
    default: '600',
    description:
      'How long a started login may take at the IdP before its state (OIDC state/nonce/PKCE, SAML request id) expires.',
  },
  {
    name: 'SSO_TRACE_RETENTION_DAYS',
    default: '30',
    description: 'Login traces older than this are deleted by the worker.',
  },
  {
    name: 'PROVIDER_SESSION_TTL_SECONDS',
    default: '36000',
    description:
      'How long a sign-in at Switchboard (the OpenID provider session shared by every application) lasts before the person goes through their IdP again.',
  },
  {
    name: 'PROVIDER_KEY_ACTIVATION_DELAY_SECONDS',
    default: '3600',
    description:
      'Default time between `switchboard keys rotate` publishing a new signing key in the JWKS and that key signing tokens, so relying parties and every hub process have it first. Must exceed how long relying parties cache the JWKS (it is served with max-age 300).',
  },
  {
    name: 'PROVIDER_BACKCHANNEL_ADDRESSES',
    default: 'loopback',
    description:
      'Which addresses back-channel logout notifications may be delivered to: `public` (internet addresses only: protects against SSRF), `loopback` (also this machine: development), `private` (also private networks: applications on an internal network).',
  },
  {
    name: 'WEBHOOKS_ADDRESSES',
    default: 'public',
    description:
      'Which addresses event webhooks may be delivered to (checked on the URL and on every address its host resolves to, at each attempt): `public` (internet addresses only: protects against SSRF), `loopback` (also this machine, and plain http to localhost/127.0.0.1/::1: development and tests), `private` (also private networks: receivers on an internal network). Link-local addresses (cloud metadata, 169.254.0.0/16, fe80::/10) are never allowed.',
  },
  {
    name: 'WEBHOOKS_TIMEOUT_MS',
    default: '10000',
    description:
      'How long one webhook delivery attempt may take (connect, send, response) before it counts as failed. An attempt whose worker process died is attempted again within twice this plus 6 s.',
  },
  {
    name: 'WEBHOOKS_MAX_ATTEMPTS',
    default: '10',
    description:
      'Attempts of one webhook delivery (the first plus retries) before it is marked dead. A redelivery or replay starts a new round.',
  },
  {
    name: 'WEBHOOKS_RETRY_BASE_MS',
    default: '5000',
    description:
      'Delay before the first webhook retry; each later retry doubles it, with jitter (half fixed, half random), up to WEBHOOKS_RETRY_MAX_MS.',
  },
  {
    name: 'WEBHOOKS_RETRY_MAX_MS',
    default: '36000000',
    description: 'Longest delay between two webhook attempts (default 10 hours).',
  },
  {
    name: 'WEBHOOKS_HOLD_AFTER_FAILURES',
    default: '5',
    description:
      'Consecutive failed attempts (across deliveries, reset by any success) after which a webhook receiver counts as down: its deliveries are held and one of them probes it, at growing intervals (as retries), until it answers; then the held ones go. Bounds the work a dead receiver costs. 0 never holds.',
  },
  {
    name: 'WEBHOOKS_DISABLE_AFTER_FAILURES',
    default: '30',
    description:
      'Consecutive failed attempts after which a webhook subscription is disabled, with the event `webhook.disabled` (with the default retry settings, about 5 days of a receiver that never answers). 0 never disables.',
  },
  {
    name: 'WEBHOOKS_SECRET_OVERLAP_SECONDS',
    default: '86400',
    description:
      'After a signing secret rotation, how long deliveries also carry a signature with the previous secret, so receivers can switch (a rotation request may give its own value).',
  },
  {
    name: 'WEBHOOKS_CONCURRENCY',
    default: '8',
    description:
      'Webhook delivery workers in one worker process; each runs up to two attempts at once, and fetches the next ones without waiting while a backlog lasts.',
  },
  {
    name: 'WEBHOOKS_SUBSCRIPTION_CONCURRENCY',
    default: '2',
    description:
      'Attempts to one subscription in flight at once across all worker processes, so a slow or dead receiver holds at most this many delivery slots.',
  },
  {
    name: 'WEBHOOKS_RETENTION_DAYS',
    default: '30',
    description: 'Webhook deliveries (and their attempts) older than this are deleted by the worker.',
  },
  {
    name: 'PROVISIONING_LOGIN_WAIT_MS',
    default: '10000',
    description:
      "On a person's first SSO login (JIT), how long the login waits for their destination accounts and enrollments before sending them on anyway (0: do not wait). The work goes on in the background either way.",
  },
  {
    name: 'PROVISIONING_RECONCILE_CRON',
    default: '17 * * * *',
    description:
      'When every enabled destination is reconciled (UTC cron): desired state compared with what the destination holds, drift repaired or reported per destination policy. Empty: only on demand.',
  },
  {
    name: 'PROVISIONING_WORKER_CONCURRENCY',
    default: '8',
    description:
      'Provisioning jobs one worker process runs at once (each destination is also capped by its own `concurrency`, across all workers).',
  },
  {
    name: 'PROVISIONING_RETRY_DELAY_SECONDS',
    default: '5',
    description:
      'Delay before the first retry of a failed provisioning job; doubled with jitter on each retry (capped at 10 minutes) until the destination’s `maxAttempts`, then the job is dead-lettered.',
  },
  {
    name: 'IMPORT_MAX_BYTES',
    default: '52428800',
    description:
      'Largest spreadsheet (CSV or .xlsx) accepted by an import upload, in bytes (default 50 MiB); larger uploads get 413.',
  },
  {
    name: 'IMPORT_MAX_ROWS',
    default: '200000',
    description:
      'Most data rows an import file may have; a longer file fails with `import_too_many_rows` before any change.',
  },
  {
    name: 'IMPORT_MAX_UNCOMPRESSED_BYTES',
    default: '134217728',
    description:
      'Most bytes one part of an .xlsx workbook (a sheet, the shared strings) may inflate to (default 128 MiB; a 100,000-row, 7-column sheet is 30 MB); a larger part (a "ZIP bomb") is refused with `import_file_too_large_uncompressed` before it is read.',
  },
  {
    name: 'IMPORT_WORKER_CONCURRENCY',
    default: '2',
    description:
      "Imports one worker process runs at once, of different organizations (one organization's imports run one at a time), so one tenant's large file never holds another tenant's import.",
  },
  {
    name: 'IMPORT_FILE_RETENTION_DAYS',
    default: '7',
    description:
      'Uploaded import files are kept in the database until applied, or this many days for an import previewed but never applied (row reports stay).',
  },
  {
    name: 'DNS_SERVERS',
    default: '(system resolver)',
    description: 'Comma-separated DNS servers (host or host:port) used for domain verification lookups.',
  },
  {
    name: 'CONSOLE_SESSION_TTL_SECONDS',
    default: '28800',
    description:
      'How long a sign-in to the admin console (/admin) lasts; after that the person signs in again through SSO.',
  },
  {
    name: 'CONSOLE_LOGIN_LINK_TTL_SECONDS',
    default: '900',
    description:
      'How long a one-time link printed by `switchboard admin login-link` stays usable (first-run bootstrap of the console).',
  },
  {
    name: 'RATE_LIMIT_ADMIN_API_PER_KEY',
    default: '30000',
    description:
      'Admin API requests (/api/v1) one API key or console session may make per minute, in each hub process; past it, 429 with Retry-After. 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_ADMIN_API_PER_IP',
    default: '60000',
    description: 'Admin API requests one client IP may make per minute, in each hub process. 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_SCIM_PER_TOKEN',
    default: '30000',
    description:
      "SCIM requests (/scim/v2) one directory's bearer token may make per minute, in each hub process. 0: no limit.",
  },
  {
    name: 'RATE_LIMIT_SCIM_PER_IP',
    default: '60000',
    description:
      'SCIM requests one client IP may make per minute, in each hub process (IdPs provision many tenants from shared addresses: keep it well above the per-token limit). 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_OAUTH_PER_CLIENT',
    default: '12000',
    description:
      'Requests one OAuth client (application) may make per minute to the client-authenticated provider endpoints (/oidc/token, /oidc/introspect, /oidc/revoke, /oidc/par), in each hub process. 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_OAUTH_PER_IP',
    default: '30000',
    description:
      'Requests one client IP may make per minute to the client-authenticated provider endpoints, in each hub process. 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_LOGIN_PER_IP',
    default: '6000',
    description:
      'Requests one client IP may make per minute to the sign-in pages (/login, the SSO callbacks and ACS, the test IdP), in each hub process (a whole office behind one NAT signs in through one address). 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_SETUP_PER_LINK',
    default: '600',
    description:
      'Requests to the setup portal (/setup) through one setup link per minute, in each hub process. 0: no limit.',
  },
  {
    name: 'RATE_LIMIT_SETUP_PER_IP',
    default: '1200',
    description:
      'Requests to the setup portal one client IP may make per minute, in each hub process. 0: no limit.',
  },
  {
    name: 'AUTH_FAILURES_PER_CREDENTIAL',
    default: '10',
    description:
      'Failed authentications of one credential (an OAuth client, a SCIM directory) from one client IP, counted across all hub processes, after which further attempts from that IP are refused (429 with Retry-After) for AUTH_FAILURES_BLOCK_SECONDS, doubling with each further failure. The credential keeps working from other addresses.',
  },
  {
    name: 'AUTH_FAILURES_PER_IP',
    default: '100',
    description:
      'Failed authentications from one client IP on one surface (admin API, SCIM, token endpoint, setup portal), whatever the credential, counted across all hub processes, after which that IP is slowed down the same way.',
  },
  {
    name: 'AUTH_FAILURES_WINDOW_SECONDS',
    default: '900',
    description:
      'Failed authentications are counted until this long passes without one; then the count starts again.',
  },
  {
    name: 'AUTH_FAILURES_BLOCK_SECONDS',
    default: '1',
    description:
      'How long attempts are refused when a threshold is reached; each further failure doubles it, up to AUTH_FAILURES_MAX_BLOCK_SECONDS.',
  },
  {
    name: 'AUTH_FAILURES_MAX_BLOCK_SECONDS',
    default: '900',
    description: 'Longest refusal after repeated failed authentications.',
  },
  {
    name: 'SETUP_LINK_TTL_DAYS',
    default: '7',
    description:
      'How long a client setup link works when its creator gives no expiry (1-90 days). Links can be revoked at any time.',
  },
] as const;

export type ConfigOptionName = (typeof configOptions)[number]['name'];

const secretKeySchema = z.string().refine((value) => decodeKeyMaterial(value) !== undefined, {
  message: 'expected 32 bytes encoded as base64 (44 characters) or hex (64 characters)',
});

const portSchema = z.coerce.number().int().min(0).max(65535);

/** A request count per minute; 0 turns the limit off. */
const perMinute = (fallback: number) => z.coerce.number().int().min(0).max(100_000_000).default(fallback);

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);

const schema = z.object({
  PORT: portSchema.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value): boolean | number | string[] => {
      const trimmed = value.trim().toLowerCase();
      if (trimmed === 'true') return true;
      if (trimmed === 'false' || trimmed === '') return false;
      if (/^\d+$/.test(trimmed)) return Number(trimmed);
      return value.split(',').map((part) => part.trim());
    }),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://hub.example.com' })
    .transform((value) => value.replace(/\/+$/, ''))
    .default('http://localhost:8080'),
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'expected a postgres:// or postgresql:// connection string' })
      .optional(),
  ),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  SECRET_KEY: z.preprocess(emptyToUndefined, secretKeySchema.optional()),
  SECRET_KEY_PREVIOUS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((value) => value.split(',').map((part) => part.trim()))
      .pipe(z.array(secretKeySchema))
      .optional(),
  ),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: z.preprocess(
    emptyToUndefined,
    z.string().min(32, { message: 'expected at least 32 characters' }).optional(),
  ),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(25_000),
  SSO_INSECURE_HTTP: z.enum(['never', 'loopback', 'any']).default('loopback'),
  SSO_FLOW_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(600),
  SSO_TRACE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  PROVIDER_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(30 * 86_400)
    .default(36_000),
  PROVIDER_KEY_ACTIVATION_DELAY_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(3600),
  PROVIDER_BACKCHANNEL_ADDRESSES: z.enum(['public', 'loopback', 'private']).default('loopback'),
  WEBHOOKS_ADDRESSES: z.enum(['public', 'loopback', 'private']).default('public'),
  WEBHOOKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOKS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  WEBHOOKS_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  WEBHOOKS_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 86_400_000)
    .default(36_000_000),
  WEBHOOKS_HOLD_AFTER_FAILURES: z.coerce.number().int().min(0).max(1_000_000).default(5),
  WEBHOOKS_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(0).max(1_000_000).default(30),
  WEBHOOKS_SECRET_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(86_400),
  WEBHOOKS_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  WEBHOOKS_SUBSCRIPTION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  WEBHOOKS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SETUP_LINK_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  PROVISIONING_LOGIN_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  PROVISIONING_RECONCILE_CRON: z
    .string()
    .trim()
    .refine((value) => value === '' || value.split(/\s+/).length === 5, {
      message: 'expected a 5-field cron expression (minute hour day month weekday), or empty',
    })
    .default('17 * * * *'),
  PROVISIONING_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  PROVISIONING_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 31 - 1)
    .default(50 * 1024 * 1024),
  IMPORT_MAX_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(200_000),
  IMPORT_MAX_UNCOMPRESSED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 32 - 1)
    .default(128 * 1024 * 1024),
  IMPORT_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  IMPORT_FILE_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  DNS_SERVERS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((value) => value.split(',').map((part) => part.trim()))
      .optional(),
  ),
  CONSOLE_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(7 * 86_400)
    .default(28_800),
  CONSOLE_LOGIN_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  RATE_LIMIT_ADMIN_API_PER_KEY: perMinute(30_000),
  RATE_LIMIT_ADMIN_API_PER_IP: perMinute(60_000),
  RATE_LIMIT_SCIM_PER_TOKEN: perMinute(30_000),
  RATE_LIMIT_SCIM_PER_IP: perMinute(60_000),
  RATE_LIMIT_OAUTH_PER_CLIENT: perMinute(12_000),
  RATE_LIMIT_OAUTH_PER_IP: perMinute(30_000),
  RATE_LIMIT_LOGIN_PER_IP: perMinute(6000),
  RATE_LIMIT_SETUP_PER_LINK: perMinute(600),
  RATE_LIMIT_SETUP_PER_IP: perMinute(1200),
  AUTH_FAILURES_PER_CREDENTIAL: z.coerce.number().int().min(1).max(1_000_000).default(10),
  AUTH_FAILURES_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(100),
  AUTH_FAILURES_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  AUTH_FAILURES_BLOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(1),
  AUTH_FAILURES_MAX_BLOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
});

export type Config = z.output<typeof schema> & {
  /** `embedded` when DATABASE_URL is unset. */
  databaseKind: 'embedded' | 'postgres';
};

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, expected: string) {
    super(`Invalid configuration: ${variable} ${expected}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * Validates the environment. Throws a ConfigError naming the first bad variable.
 * SECRET_KEY may still be undefined in embedded mode: the runtime generates it into DATA_DIR.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const option of configOptions) input[option.name] = env[option.name];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    const received = input[variable];
    const shown = variable.includes('KEY') || variable === 'DATABASE_URL' ? '' : ` (got "${received}")`;
    throw new ConfigError(variable, `is invalid: ${describeIssue(issue)}${shown}`);
  }
  const config: Config = {
    ...parsed.data,
    databaseKind: parsed.data.DATABASE_URL ? 'postgres' : 'embedded',
  };
  if (config.databaseKind === 'postgres' && !config.SECRET_KEY) {
    throw new ConfigError(
      'SECRET_KEY',
      'is required when DATABASE_URL is set: generate one with `openssl rand -base64 32` and keep it safe',
    );
  }
  return config;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid value';
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'too_small' && issue.origin === 'number') return `expected a number >= ${issue.minimum}`;
  if (issue.code === 'too_big' && issue.origin === 'number') return `expected a number <= ${issue.maximum}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.join(', ')}`;
  return issue.message;
}

/** Decodes a 32-byte key given as base64/base64url or hex; undefined when it is not one. */
export function decodeKeyMaterial(value: string): Buffer | undefined {
  const trimmed = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

/** Renders the option table (used by `switchboard config --help` and the README). */
export function renderConfigTable(): string {
  const rows = configOptions.map((option) => [option.name, option.default, option.description]);
  const header = ['Variable', 'Default', 'Description'];
  const widths = [0, 1].map((column) =>
    Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `${cells[0]?.padEnd(widths[0] ?? 0)}  ${cells[1]?.padEnd(widths[1] ?? 0)}  ${cells[2]}`;
  return [
    line(header),
    line(header.map((cell, i) => '-'.repeat(i < 2 ? (widths[i] ?? 0) : cell.length))),
    ...rows.map(line),
  ].join('\n');
}

/** The option table as Markdown (the README embeds it between config markers; `npm run docs:config`). */
export function renderConfigMarkdown(): string {
  const escapeCell = (text: string) => text.replaceAll('|', '\\|');
  const rows = configOptions.map(
    (option) => `| \`${option.name}\` | ${escapeCell(option.default)} | ${escapeCell(option.description)} |`,
  );
  return ['| Variable | Default | Description |', '|---|---|---|', ...rows].join('\n');
}
