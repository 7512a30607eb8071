/**
 * Where SECRET_KEY comes from. With DATABASE_URL it must be configured (config.ts refuses to start
 * without it). In embedded mode, when unset, it is generated once into DATA_DIR/secret.key with mode
 * 0600 and a loud warning: losing that file makes every stored secret unreadable.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { type Config, ConfigError, decodeKeyMaterial } from '../config.ts';

export interface SecretKeys {
  current: Buffer;
  previous: Buffer[];
  /** `config` or the path of the generated file. */
  source: string;
}

export function resolveSecretKeys(config: Config, logger: Logger): SecretKeys {
  const previous = (config.SECRET_KEY_PREVIOUS ?? []).map((value) => decodeKeyMaterial(value) as Buffer);
  if (config.SECRET_KEY) {
    return { current: decodeKeyMaterial(config.SECRET_KEY) as Buffer, previous, source: 'config' };
  }
  const dataDir = resolve(config.DATA_DIR);
  const path = join(dataDir, 'secret.key');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    const stored = readFileSync(path, 'utf8').trim();
    const key = decodeKeyMaterial(stored);
    if (!key)
      throw new ConfigError(
        'SECRET_KEY',
        `file ${path} does not hold a 32-byte base64 key; restore it from backup`,
      );
    return { current: key, previous, source: path };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  const generated = randomBytes(32).toString('base64');
  try {
    writeFileSync(path, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process generated it first: use theirs.
    if ((error as { code?: string }).code === 'EEXIST') return resolveSecretKeys(config, logger);
    throw error;
  }
  logger.warn(
    { path },
    '!!! SECRET_KEY was not set: generated a new one into %s. Every stored credential is encrypted with it. BACK IT UP, and set SECRET_KEY explicitly in production: without this key, stored secrets cannot be decrypted. !!!',
    path,
  );
  return { current: Buffer.from(generated, 'base64'), previous, source: path };
}
