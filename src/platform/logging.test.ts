import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logging.ts';

describe('logging', () => {
  it('redacts credentials in URLs', () => {
    expect(redactUrl('/callback?code=abc&state=xyz')).toBe('/callback?code=%5Bredacted%5D&state=xyz');
    expect(redactUrl('/sso/jwt?jwt=eyJ.x.y&return_to=%2Fhome')).toContain('jwt=%5Bredacted%5D');
    expect(redactUrl('/acs?SAMLResponse=PHNhbWw')).not.toContain('PHNhbWw');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
  });

  it('redacts secrets by path in log records', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info(
      {
        connection: { clientSecret: 'cs-123', name: 'okta' },
        req: { headers: { authorization: 'Bearer xyz' } },
      },
      'saved',
    );
    const line = lines.join('');
    expect(line).not.toContain('cs-123');
    expect(line).toContain('okta');
  });
});
