/**
 * Resource identifiers: a type prefix and a time-ordered, random body (`usr_01jf...`), so ids sort by
 * creation time (stable cursor pagination, index locality) and say what they name in a log line.
 * The body is a UUIDv7 (RFC 9562) in Crockford base32, 26 characters, lowercase.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const ID_PREFIXES = {
  organization: 'org',
  user: 'usr',
  group: 'grp',
  identity: 'idn',
  domain: 'dom',
  apiKey: 'key',
  event: 'evt',
  connection: 'conn',
  directory: 'dir',
  directoryToken: 'dtk',
  hrisRun: 'hsr',
  application: 'app',
  destination: 'dst',
  rule: 'rul',
  route: 'rte',
  lmsSite: 'lms',
  trace: 'trc',
  importJob: 'imp',
  webhook: 'whk',
  webhookDelivery: 'whd',
  job: 'job',
  audit: 'aud',
  consoleMember: 'cmb',
  consoleSession: 'csn',
  consoleLoginLink: 'cll',
  setupLink: 'stl',
  provisioningAttempt: 'pat',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

let lastMillis = 0;
let sequence = 0;

/** A new id for a resource of the given kind. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${uuidV7Base32()}`;
}

function uuidV7Base32(): string {
  const bytes = randomBytes(16);
  let millis = Date.now();
  // Monotonic within one process: ids minted in the same millisecond still sort in creation order.
  if (millis <= lastMillis) {
    millis = lastMillis;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) millis = ++lastMillis;
  } else {
    sequence = bytes.readUInt16BE(6) & 0x7ff;
  }
  lastMillis = millis;
  bytes.writeUIntBE(millis, 0, 6);
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return encodeBase32(bytes);
}

function encodeBase32(bytes: Buffer): string {
  // 128 bits -> 26 base32 characters (the first carries 3 bits).
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** True when `value` looks like an id of the given kind. */
export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
