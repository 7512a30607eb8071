import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl, serializeError } from './logging.ts';

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

describe('serializeError', () => {
  it('drops the bound parameters of a failed query (they hold personal data), keeps the SQL', () => {
    const error = Object.assign(
      new Error('Failed query: insert into users (email) values ($1)\nparams: ada@example.com'),
      {
        query: 'insert into users (email) values ($1)',
        params: ['ada@example.com'],
      },
    );
    const logged = JSON.stringify(serializeError(error));
    expect(logged).not.toContain('ada@example.com');
    expect(logged).toContain('insert into users');
  });
});
