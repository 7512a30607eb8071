/**
 * RS256 signing keys for the fakes that issue JWTs (Entra, Bot Framework): a key pair, its public
 * JWK as those vendors publish it (`kid` = `x5t` = base64url SHA-1 thumbprint, `use: "sig"`), and
 * signing helpers, including the unsigned (`alg: none`) tokens the forged variants need.
 */
import { createHash } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface RsaSigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK, with any vendor extras (Bot Framework `endorsements`, Entra `issuer`). */
  publicJwk: JWK & { kid: string };
}

export async function createRsaSigningKey(extra: Record<string, unknown> = {}): Promise<RsaSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = createHash('sha1').update(String(jwk.n)).digest('base64url');
  return {
    kid,
    privateKey,
    publicJwk: { kty: 'RSA', use: 'sig', kid, x5t: kid, n: jwk.n, e: jwk.e, ...extra },
  };
}

/** An RS256 JWT with the header Microsoft's services send (`typ`, `alg`, `kid`, `x5t`). */
export function signRs256(
  key: RsaSigningKey,
  payload: JWTPayload,
  header: { kid?: string } = {},
): Promise<string> {
  const kid = header.kid ?? key.kid;
  return new SignJWT(payload)
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: kid, kid })
    .sign(key.privateKey);
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
export function unsignedJwt(payload: JWTPayload, header: Record<string, unknown> = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'none', ...header })}.${part(payload)}.`;
}
