/**
 * Exclusive lock on the embedded database's data directory. PGlite is a single-process database:
 * two processes writing one data directory corrupt it. The second one must stop with a clear error,
 * and a process that starts after the owner died (SIGKILL, OOM kill, power loss) must start at once,
 * not after a grace period a service manager gives up before.
 *
 * `<dir>/switchboard.lock` is a file created atomically (written aside, then hard-linked into place)
 * that names its owner: pid, the process's start time (field 22 of `/proc/<pid>/stat`, clock ticks
 * since boot), the boot id, the pid namespace and the host name. A starting process reads it and
 * decides:
 *
 * - It can see the owner's pid (Linux, same boot, same pid namespace): the owner is alive only if a
 *   process with that pid exists *and* started at the recorded time. A killed owner's lock is taken
 *   over at once, and a pid since reused by another process (a restarted container's pid 1, say)
 *   does not pass for the owner, since its start time differs.
 * - Same host without /proc (macOS): a pid that does not exist is a dead owner; one that exists may
 *   be a reused pid, so the heartbeat below decides.
 * - Otherwise (another container sharing the volume, another host, a lock from a previous boot): it
 *   cannot see the owner, and falls back to the heartbeat. The owner touches the file every
 *   5 seconds; a lock untouched for 15 seconds is stale.
 *
 * Taking over a dead owner's lock happens under a second, short-lived guard (an atomic mkdir), and
 * only if the lock still holds what was judged dead, so two processes starting together cannot both
 * win. Releasing removes the file only if it is still ours. The owner checks on every heartbeat that
 * the lock is still its own, and stops the process if not, rather than risk corrupting the database.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, mkdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** How often the owner touches its lock file. */
const HEARTBEAT_MS = 5_000;
/** A lock whose owner cannot be seen is stale once untouched this long. */
const STALE_MS = 15_000;
/** A take-over guard older than this was left by a process that died while taking over. */
const GUARD_STALE_MS = 10_000;

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

/** Who holds a lock: what the lock file records. */
export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null without /proc. */
  startTime: string | null;
  bootId: string | null;
  /** `pid:[inode]` of the owner's pid namespace; null without /proc. */
  pidNamespace: string | null;
  host: string;
  /** Random per lock: tells this lock from any other the same process ever took. */
  token: string;
  lockedAt: string;
}

export type OwnerState = 'alive' | 'dead';

export async function lockDataDir(dataDir: string, logger?: Logger): Promise<DataDirLock> {
  const path = join(dataDir, 'switchboard.lock');
  const owner: LockOwner = { ...currentProcess(), token: randomBytes(12).toString('hex'), lockedAt: '' };
  for (let round = 0; ; round++) {
    // Only a lock that keeps changing hands under us gets here: give up rather than spin.
    if (round > 200) throw new DataDirLockedError(dataDir);
    owner.lockedAt = new Date().toISOString();
    if (await createLockFile(path, owner)) break;
    const found = await readLock(path);
    if (!found) continue; // released meanwhile: try again
    if (judgeOwner(found.owner, found.mtimeMs) === 'alive') throw new DataDirLockedError(dataDir);
    logger?.warn(
      { dataDir, previousOwner: found.owner ?? 'unreadable' },
      'taking over the DATA_DIR lock of a Switchboard process that is no longer running',
    );
    await removeIfUnchanged(path, found.raw);
  }
  return holdLock(path, owner, logger);
}

/** Keeps the lock: heartbeat, checks it is still ours, removes it on release. */
function holdLock(path: string, owner: LockOwner, logger?: Logger): DataDirLock {
  let released = false;
  const heartbeat = setInterval(async () => {
    const now = new Date();
    try {
      const found = await readLock(path);
      if (released) return;
      if (found?.owner?.token !== owner.token) throw new Error('the lock file was removed or replaced');
      await utimes(path, now, now);
    } catch (error) {
      if (released) return;
      // Someone removed or took over our lock: keep writing and we may corrupt the database.
      logger?.fatal({ err: error }, 'lost the DATA_DIR lock; stopping to protect the embedded database');
      process.exit(70);
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      const found = await readLock(path).catch(() => undefined);
      if (found?.owner?.token === owner.token) await unlink(path).catch(() => {});
    },
  };
}

/**
 * Creates the lock file with its complete content, atomically: written to a file of its own, then
 * hard-linked to the lock's name, which fails if that name exists. A reader never sees it half written.
 */
async function createLockFile(path: string, owner: LockOwner): Promise<boolean> {
  const aside = `${path}.${owner.token}`;
  await writeFile(aside, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(aside).catch(() => {});
  }
}

interface FoundLock {
  /** The file's content, to compare before removing it (a directory: its mtime). */
  raw: string;
  /** Undefined when unreadable: a lock directory of an earlier version, or a damaged file. */
  owner: LockOwner | undefined;
  mtimeMs: number;
}

async function readLock(path: string): Promise<FoundLock | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return { raw: `dir:${info.mtimeMs}`, owner: undefined, mtimeMs: info.mtimeMs };
    const raw = await readFile(path, 'utf8');
    return { raw, owner: parseOwner(raw), mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string' || typeof value.host !== 'string') {
      return undefined;
    }
    return {
      pid: value.pid,
      startTime: value.startTime ?? null,
      bootId: value.bootId ?? null,
      pidNamespace: value.pidNamespace ?? null,
      host: value.host,
      token: value.token,
      lockedAt: value.lockedAt ?? '',
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether the recorded owner still runs. `mtimeMs` is the lock's last heartbeat, the fallback when
 * the owner cannot be seen from here.
 */
export function judgeOwner(owner: LockOwner | undefined, mtimeMs: number, now = Date.now()): OwnerState {
  const heartbeat: OwnerState = now - mtimeMs > STALE_MS ? 'dead' : 'alive';
  if (!owner) return heartbeat;
  const me = currentProcess();
  const sameSystem =
    owner.bootId !== null &&
    owner.bootId === me.bootId &&
    owner.pidNamespace !== null &&
    owner.pidNamespace === me.pidNamespace;
  if (sameSystem) {
    const startTime = processStartTime(owner.pid);
    return startTime !== undefined && startTime === owner.startTime ? 'alive' : 'dead';
  }
  if (me.bootId === null && owner.bootId === null && owner.host === me.host && !pidExists(owner.pid)) {
    return 'dead';
  }
  return heartbeat;
}

/** Removes a lock judged dead, unless it changed since (someone else took it over first). */
async function removeIfUnchanged(path: string, judged: string): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    // Another process is taking over; or one died doing so and left its guard behind.
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > GUARD_STALE_MS) await rm(guard, { recursive: true, force: true });
    else await new Promise((resolve) => setTimeout(resolve, 25));
    return;
  }
  try {
    const current = await readLock(path);
    if (current?.raw === judged) await rm(path, { recursive: true, force: true });
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
}

/** This process as a lock records it. */
export function currentProcess(): Omit<LockOwner, 'token' | 'lockedAt'> {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? null,
    bootId: readProc('/proc/sys/kernel/random/boot_id'),
    pidNamespace: readLink('/proc/self/ns/pid'),
    host: hostname(),
  };
}

/**
 * When a process started, in clock ticks after boot: field 22 of /proc/<pid>/stat (proc(5)). The
 * second field (the command name, in parentheses) may hold spaces and parentheses itself, so the
 * fields are counted from after its last `)`. Undefined when there is no such process (or no /proc).
 */
export function processStartTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  return fields[19];
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}
