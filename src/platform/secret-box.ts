/**
 * Encryption of stored credentials (IdP client secrets, LMS API keys, signing keys, ...).
 *
 * AES-256-GCM under SECRET_KEY, with a random 96-bit nonce per message and a key id in the envelope
 * so keys can rotate: the current key seals, the current and previous keys open. An optional
 * `context` (for example `connection:conn_123:client_secret`) is bound as additional authenticated
 * data, so a ciphertext copied into another row or column does not decrypt.
 *
 * Envelope: `sb1.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

const VERSION = 'sb1';

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

interface Key {
  id: string;
  material: Buffer;
}

export class SecretBox {
  readonly #current: Key;
  readonly #byId: Map<string, Key>;

  /** @param current the key that seals; @param previous keys still accepted when opening. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    if (current.length !== 32) throw new SecretBoxError('SECRET_KEY must be 32 bytes');
    this.#current = { id: keyId(current), material: current };
    this.#byId = new Map(
      [current, ...previous].map((material) => [keyId(material), { id: keyId(material), material }]),
    );
  }

  /** Id of the key that currently seals. */
  get currentKeyId(): string {
    return this.#current.id;
  }

  /**
   * HMAC-SHA256 (base64url) of a message under a key derived from the current SECRET_KEY for one
   * `purpose` (e.g. `setup-portal-csrf`), so one purpose's tags never verify for another. Tags stop
   * verifying when SECRET_KEY rotates: use it only for short-lived values.
   */
  sign(purpose: string, message: string): string {
    const key = createHmac('sha256', this.#current.material).update(`switchboard-mac:${purpose}`).digest();
    return createHmac('sha256', key).update(message, 'utf8').digest('base64url');
  }

  seal(plaintext: string, context = ''): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#current.material, nonce);
    cipher.setAAD(Buffer.from(`${VERSION}.${this.#current.id}.${context}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.#current.id, b64(nonce), b64(ciphertext), b64(tag)].join('.');
  }

  open(envelope: string, context = ''): string {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed secret');
    const [, id, nonce, ciphertext, tag] = parts as [string, string, string, string, string];
    const key = this.#byId.get(id);
    if (!key) {
      throw new SecretBoxError(
        `secret was sealed with key ${id}, which is neither SECRET_KEY nor in SECRET_KEY_PREVIOUS`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, Buffer.from(nonce, 'base64url'));
      decipher.setAAD(Buffer.from(`${VERSION}.${id}.${context}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError('secret failed authentication (wrong key, context or tampered value)');
    }
  }

  /**
   * Keys for another purpose derived from SECRET_KEY (HMAC-SHA256 of the purpose), current first,
   * then one per SECRET_KEY_PREVIOUS: e.g. cookie-signing keys every hub process agrees on, which
   * keep verifying old cookies across a SECRET_KEY rotation.
   */
  derivedKeys(purpose: string): Buffer[] {
    const materials = [
      this.#current,
      ...[...this.#byId.values()].filter((key) => key.id !== this.#current.id),
    ];
    return materials.map((key) =>
      createHmac('sha256', key.material).update(`switchboard:${purpose}`).digest(),
    );
  }

  /** True when the envelope was sealed by a key other than the current one. */
  needsReseal(envelope: string): boolean {
    return envelope.split('.')[1] !== this.#current.id;
  }

  /** Opens with any known key and seals again with the current key. */
  reseal(envelope: string, context = ''): string {
    return this.seal(this.open(envelope, context), context);
  }
}

function keyId(material: Buffer): string {
  return createHash('sha256').update('switchboard-secret-key-id').update(material).digest('hex').slice(0, 12);
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** SHA-256 of a high-entropy bearer token, hex. Tokens are stored only this way. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random bearer token with a readable prefix (`sb_admin_...`). 256 bits of entropy. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
