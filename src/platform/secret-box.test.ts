import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken, newToken, SecretBox, SecretBoxError } from './secret-box.ts';

describe('SecretBox', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh nonce each time', () => {
    const box = new SecretBox(key);
    const a = box.seal('client-secret-123', 'connection:conn_1:client_secret');
    const b = box.seal('client-secret-123', 'connection:conn_1:client_secret');
    expect(a).not.toBe(b);
    expect(a).not.toContain('client-secret-123');
    expect(box.open(a, 'connection:conn_1:client_secret')).toBe('client-secret-123');
  });

  it('binds the ciphertext to its context and detects tampering', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('s3cret', 'row:1');
    expect(() => box.open(sealed, 'row:2')).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => box.open(parts.join('.'), 'row:1')).toThrow(/failed authentication/);
    expect(() => box.open('plaintext', 'row:1')).toThrow(/not a sealed secret/);
  });

  it('opens secrets sealed by a previous key and reseals them with the current one', () => {
    const oldKey = randomBytes(32);
    const sealedOld = new SecretBox(oldKey).seal('legacy', 'ctx');
    const rotated = new SecretBox(key, [oldKey]);
    expect(rotated.open(sealedOld, 'ctx')).toBe('legacy');
    expect(rotated.needsReseal(sealedOld)).toBe(true);
    const resealed = rotated.reseal(sealedOld, 'ctx');
    expect(rotated.needsReseal(resealed)).toBe(false);
    expect(new SecretBox(key).open(resealed, 'ctx')).toBe('legacy');
    expect(() => new SecretBox(key).open(sealedOld, 'ctx')).toThrow(
      /neither SECRET_KEY nor in SECRET_KEY_PREVIOUS/,
    );
  });

  it('refuses keys of the wrong size', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('tokens', () => {
  it('are long, random, prefixed, and stored only as SHA-256', () => {
    const token = newToken('sbk');
    expect(token).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/);
    expect(newToken('sbk')).not.toBe(token);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).toBe(hashToken(token));
  });
});
