import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from './certificates.ts';

describe('selfSignedCertificate', () => {
  it('always produces a certificate OpenSSL accepts (DER-minimal, positive serial)', () => {
    // A random serial whose first byte is 0x00 is a non-minimal INTEGER that OpenSSL rejects:
    // about 1 in 256 certificates failed before the serial's top byte was fixed.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const notBefore = new Date();
    const notAfter = new Date(notBefore.getTime() + 86_400_000);
    for (let i = 0; i < 2000; i++) {
      const certificate = new X509Certificate(
        selfSignedCertificate({ privateKeyPem: pem, commonName: `c${i}`, notBefore, notAfter }),
      );
      expect(certificate.verify(certificate.publicKey)).toBe(true);
    }
  });
});
