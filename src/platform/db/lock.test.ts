/**
 * The data-directory lock's judgement of a recorded owner, with real processes: a live owner is
 * refused, a dead one is taken over at once, and a pid reused by another process does not pass for
 * the owner. (test/foundation/process.test.ts kills a real hub and restarts on its directory.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  currentProcess,
  DataDirLockedError,
  judgeOwner,
  type LockOwner,
  lockDataDir,
  processStartTime,
} from './lock.ts';

const linux = processStartTime(process.pid) !== undefined;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function ownerFile(owner: Partial<LockOwner>, mtime = new Date()): void {
  const path = join(dir, 'switchboard.lock');
  writeFileSync(
    path,
    JSON.stringify({ ...currentProcess(), token: 'other', lockedAt: new Date().toISOString(), ...owner }),
  );
  utimesSync(path, mtime, mtime);
}

/** A process that ran and exited: its pid is free (until the system hands it out again). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

describe('data directory lock', () => {
  it('refuses a second lock while the first is held, and frees it on release', async () => {
    const first = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    await first.release();
    const again = await lockDataDir(dir);
    await again.release();
  });

  it.runIf(linux)('refuses a live owner: its pid runs and started when the lock says', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      await new Promise((resolve) => child.on('spawn', resolve));
      // A heartbeat an hour old: only the pid and its start time keep the owner alive.
      ownerFile({ pid, startTime: processStartTime(pid) ?? null }, new Date(Date.now() - 3_600_000));
      await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.runIf(linux)('takes over at once from an owner that no longer runs', async () => {
    const pid = await deadPid();
    ownerFile({ pid, startTime: '1' }); // heartbeat just now: the fallback would still say alive
    const lock = await lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'switchboard.lock'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it.runIf(linux)('does not take a reused pid for the owner: the start time differs', async () => {
    // The recorded owner had this very pid (ours, the way a restarted container's pid 1 repeats),
    // but started at another time.
    const mine = Number(processStartTime(process.pid));
    ownerFile({ pid: process.pid, startTime: String(mine - 1) });
    const lock = await lockDataDir(dir);
    await lock.release();
    const init = processStartTime(1);
    expect(
      judgeOwner(
        { ...currentProcess(), pid: 1, startTime: `${init}0`, token: 'x', lockedAt: '' },
        Date.now(),
      ),
    ).toBe('dead');
  });

  it('falls back to the heartbeat for an owner it cannot see (another host or container)', () => {
    const elsewhere: LockOwner = {
      pid: process.pid,
      startTime: '42',
      bootId: 'another-boot',
      pidNamespace: 'pid:[1]',
      host: 'another-host',
      token: 'x',
      lockedAt: '',
    };
    const now = Date.now();
    expect(judgeOwner(elsewhere, now - 5_000, now)).toBe('alive');
    expect(judgeOwner(elsewhere, now - 16_000, now)).toBe('dead');
  });

  it('takes over a stale lock directory left by an earlier version, and refuses a fresh one', async () => {
    const legacy = join(dir, 'switchboard.lock');
    mkdirSync(legacy);
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(legacy, old, old);
    const lock = await lockDataDir(dir);
    await lock.release();
  });
});
