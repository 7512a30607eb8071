/**
 * Signed webhook commands to our own apps (e.g. the coaching app's user database). Each command is
 * a JSON POST signed per the Standard Webhooks spec (https://www.standardwebhooks.com/):
 * `webhook-id` (stable for the same command, so receivers de-duplicate retries),
 * `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`), with a `whsec_` secret. Receivers verify with any Standard Webhooks
 * library (`new Webhook(secret).verify(body, headers)`).
 *
 * Body: `{ "type": "account.ensure", "timestamp": ISO, "data": { ... } }`. A 2xx answers the
 * command; `account.ensure` may answer `{ "id": "..." }`, the app's own id for the account.
 */
export const WEBHOOK_MANIFEST = {
  kind: 'webhook',
  auth: { modes: ['standard_webhooks'] as const },
  rateLimit: { requests: 600, perSeconds: 60 },
} as const;

export const WEBHOOK_COMMANDS = [
  'account.ensure',
  'account.disable',
  'account.enable',
  'account.delete',
  'enrollment.ensure',
  'enrollment.update',
  'group.add',
  'group.remove',
  'connection.test',
] as const;
export type WebhookCommand = (typeof WEBHOOK_COMMANDS)[number];

export interface WebhookSettings {
  url: string;
}

export interface WebhookCredentials {
  /** `whsec_` + base64 of at least 24 random bytes. */
  secret: string;
}
