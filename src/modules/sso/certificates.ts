/**
 * X.509 certificates for SAML: reading the IdP's (PEM or bare base64 from metadata), checking their
 * validity window, and minting self-signed certificates for our own keys (the SP's signing and
 * decryption key, the built-in test IdP's signing key).
 *
 * SAML trusts certificates by pinning, not by chain: a self-signed certificate is normal on both
 * sides (SAML V2.0 Metadata Interoperability Profile §2.5.1), so a few lines of DER are all a
 * certificate needs here; no CA library.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface CertificateInfo {
  pem: string;
  subject: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
}

/** Days before expiry at which a certificate is reported as expiring soon. */
export const CERTIFICATE_WARNING_DAYS = 30;

/** Accepts PEM or the bare base64 body found in metadata's <ds:X509Certificate>; returns PEM. */
export function normalizeCertificate(input: string): string {
  const body = input
    .replace(/-----BEGIN CERTIFICATE-----/g, '')
    .replace(/-----END CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) throw new Error('is not a base64-encoded certificate');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Parses a certificate; throws with a readable message when it is not one. */
export function readCertificate(input: string): CertificateInfo {
  const pem = normalizeCertificate(input);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new Error('is not a valid X.509 certificate');
  }
  return {
    pem,
    subject: cert.subject.replace(/\n/g, ', '),
    fingerprintSha256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

export function certificateStatus(
  info: CertificateInfo,
  now = new Date(),
): 'valid' | 'expiring_soon' | 'expired' | 'not_yet_valid' {
  if (Date.parse(info.notAfter) <= now.getTime()) return 'expired';
  if (Date.parse(info.notBefore) > now.getTime()) return 'not_yet_valid';
  if (Date.parse(info.notAfter) - now.getTime() < CERTIFICATE_WARNING_DAYS * 86_400_000)
    return 'expiring_soon';
  return 'valid';
}

/** A new RSA-2048 key (PKCS#8 PEM) and a self-signed SHA-256 certificate for it. */
export async function createKeyAndCertificate(options: {
  commonName: string;
  validDays: number;
  notBefore?: Date;
}): Promise<{ privateKeyPem: string; certificatePem: string }> {
  // Off the event loop: RSA key generation takes ~100 ms.
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + options.validDays * 86_400_000);
  const certificatePem = selfSignedCertificate({
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    commonName: options.commonName,
    notBefore,
    notAfter,
  });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certificatePem };
}

/** Self-signed X.509 v3 certificate (RFC 5280 §4.1) over an RSA key, signed with sha256WithRSAEncryption. */
export function selfSignedCertificate(options: {
  privateKeyPem: string;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}): string {
  const key = createPrivateKey(options.privateKeyPem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const sha256WithRsa = sequence(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const name = sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(options.commonName, 'utf8')))));
  const serial = randomBytes(16);
  // DER INTEGER: positive (top bit clear) and minimal (no leading zero byte), RFC 5280 §4.1.2.2.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // [0] EXPLICIT version v3
    integer(serial),
    sha256WithRsa,
    name,
    sequence(time(options.notBefore), time(options.notAfter)),
    name,
    spki,
  );
  const signature = sign('sha256', tbs, key);
  const der = sequence(tbs, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function tlv(tag: number, value: Buffer): Buffer {
  const length = value.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, value]);
}

function sequence(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

function integer(value: Buffer): Buffer {
  return tlv(0x02, value);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}
