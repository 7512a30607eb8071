/**
 * Exclusive lock on the embedded database's data directory. PGlite is a single-process database:
 * two processes writing one data directory corrupt it. The second one must stop with a clear error.
 *
 * proper-lockfile creates `<dir>/switchboard.lock` atomically (mkdir) and refreshes its mtime while
 * we run; a lock left by a crashed process goes stale after `stale` ms and can be taken over.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import lockfile from 'proper-lockfile';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly dataDir: string;
  constructor(dataDir: string) {
    super(
      `DATA_DIR ${dataDir} is in use by another Switchboard process. The embedded database allows one process at a time: stop the other process, use the admin API instead of the CLI, or set DATA_DIR to another directory (or DATABASE_URL to PostgreSQL for several processes).`,
    );
    this.dataDir = dataDir;
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string, logger?: Logger): Promise<DataDirLock> {
  const lockfilePath = join(dataDir, 'switchboard.lock');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      lockfilePath,
      stale: 15_000,
      update: 5_000,
      retries: 0,
      realpath: false,
      onCompromised(error) {
        // Someone removed or took over our lock: keep writing and we may corrupt the database.
        logger?.fatal({ err: error }, 'lost the DATA_DIR lock; stopping to protect the embedded database');
        process.exit(70);
      },
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') throw new DataDirLockedError(dataDir);
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await release().catch(() => {});
    },
  };
}
