import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configOptions,
  decodeKeyMaterial,
  loadConfig,
  renderConfigMarkdown,
  renderConfigTable,
} from './config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('has documented defaults and runs embedded without any variable', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      PUBLIC_URL: 'http://localhost:8080',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      databaseKind: 'embedded',
    });
    expect(config.SECRET_KEY).toBeUndefined();
  });

  it('normalizes PUBLIC_URL and reads PostgreSQL settings', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://hub.example.com/sso/',
      DATABASE_URL: 'postgresql://u:p@db:5432/sb',
      SECRET_KEY: KEY,
      SECRET_KEY_PREVIOUS: `${Buffer.alloc(32, 1).toString('hex')}, ${KEY}`,
      TRUST_PROXY: '2',
    });
    expect(config.PUBLIC_URL).toBe('https://hub.example.com/sso');
    expect(config.databaseKind).toBe('postgres');
    expect(config.SECRET_KEY_PREVIOUS).toHaveLength(2);
    expect(config.TRUST_PROXY).toBe(2);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'expected number'],
    [{ PORT: '70000' }, 'PORT', '<= 65535'],
    [{ PUBLIC_URL: 'hub.example.com' }, 'PUBLIC_URL', 'http(s) URL'],
    [{ PUBLIC_URL: 'ftp://hub.example.com' }, 'PUBLIC_URL', 'http(s) URL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', 'postgres://'],
    [{ DATABASE_URL: 'postgres://db/sb' }, 'SECRET_KEY', 'required when DATABASE_URL is set'],
    [{ SECRET_KEY: 'too-short' }, 'SECRET_KEY', '32 bytes'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of fatal, error'],
    [{ SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: 'short' }, 'SWITCHBOARD_BOOTSTRAP_ADMIN_KEY', 'at least 32'],
    [{ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES', '>= 1024'],
  ])('refuses %o with one line naming %s', (env, variable, expected) => {
    let error: unknown;
    try {
      loadConfig(env as NodeJS.ProcessEnv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(variable);
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it('never echoes secret values in errors', () => {
    expect(() => loadConfig({ SECRET_KEY: 'my-super-secret-but-wrong' })).toThrow(/^(?!.*my-super-secret)/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db' })).toThrow(/^(?!.*hunter2)/);
  });

  it('decodes keys as hex or base64 only when they are 32 bytes', () => {
    expect(decodeKeyMaterial('ab'.repeat(32))?.length).toBe(32);
    expect(decodeKeyMaterial(KEY)?.length).toBe(32);
    expect(decodeKeyMaterial(Buffer.alloc(16).toString('base64'))).toBeUndefined();
  });

  it('documents every option in the printed table', () => {
    const table = renderConfigTable();
    for (const option of configOptions) expect(table).toContain(option.name);
  });
});

describe('README', () => {
  it('embeds the current configuration table (run `npm run docs:config` after changing options)', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- config:start -->\n${renderConfigMarkdown()}\n<!-- config:end -->`);
  });
});
