/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, spec "Signature scheme"):
 * HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` with the base64-decoded part of a
 * `whsec_` secret, sent as `webhook-signature: v1,<base64>`. Several space-separated signatures are
 * allowed, which is how a rotation overlaps: the new and the previous secret both sign until the
 * previous one expires, so a receiver verifying with either accepts the message.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64 bytes). */
export function newSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** What a person sees of a secret: enough to tell two apart, nothing to sign with. */
export function secretPrefixOf(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 6);
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three Standard Webhooks headers for one attempt, signed with every given secret. */
export function signMessage(
  messageId: string,
  body: string,
  secrets: readonly string[],
  at: Date = new Date(),
): SignedHeaders {
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const signatures = secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body));
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': signatures.join(' '),
  };
}
