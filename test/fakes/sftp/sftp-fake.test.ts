/**
 * The SFTP fake speaks real SSH: these tests drive it with `ssh2`'s own client (the transport under
 * `ssh2-sftp-client`), so they show what a report uploader sees: both auth methods and their
 * refusals, a pinned host key refusing a rotated one, `.tmp` + posix-rename, plain RENAME refusing
 * to overwrite, a full disk and a connection dropped mid-upload.
 */
import { createHash } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSftpServer, generateEd25519KeyPair } from './index.ts';

const { Client } = ssh2;

interface Session {
  sftp: SFTPWrapper;
  end(): void;
  /** Settles when the SSH connection closes (ssh2 leaves a pending writeFile unanswered then). */
  closed: Promise<'closed'>;
}

interface ConnectOptions {
  username?: string;
  password?: string;
  privateKey?: string;
  /** OpenSSH fingerprint the client pins; the connection must fail on any other host key. */
  pinnedFingerprint?: string;
}

function connect(fake: FakeSftpServer, options: ConnectOptions): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const closed = new Promise<'closed'>((settle) => client.once('close', () => settle('closed')));
    client.on('error', reject);
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (error) return reject(error);
        resolve({ sftp, end: () => client.end(), closed });
      });
    });
    client.connect({
      host: fake.host,
      port: fake.port,
      username: options.username ?? 'reports',
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) =>
        options.pinnedFingerprint === undefined ||
        `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` ===
          options.pinnedFingerprint,
    });
    // Loopback round trips otherwise wait on Nagle + delayed ACK (~40 ms each).
    client.setNoDelay(true);
  });
}

/** Promisifies one SFTP call; rejects with the SFTP status (`code`) and message. */
function call<T = void>(
  run: (done: (error: Error | null | undefined, value?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value as T))),
  );
}

describe('SFTP fake', () => {
  let fake: FakeSftpServer;
  let password: string;

  beforeAll(async () => {
    fake = await FakeSftpServer.start();
    password = fake.users[0]?.password as string;
  });
  afterAll(async () => {
    await fake.close();
  });

  it('uploads with a password to a .tmp file, then posix-renames it into place', async () => {
    const { sftp, end } = await connect(fake, { password, pinnedFingerprint: fake.hostKeyFingerprint });
    try {
      expect(await call<string>((done) => sftp.realpath('.', done))).toBe('/upload');
      const csv = 'employee_id,course,completed\n1001,Onboarding,2026-12-01\n';
      await call((done) => sftp.writeFile('completions.csv.tmp', csv, done));
      await call((done) => sftp.ext_openssh_rename('completions.csv.tmp', 'completions.csv', done));
      expect(fake.file('/upload/completions.csv')?.toString()).toBe(csv);
      expect(fake.file('/upload/completions.csv.tmp')).toBeUndefined();
      expect(fake.uploads.at(-1)).toMatchObject({
        path: '/upload/completions.csv.tmp',
        bytesWritten: csv.length,
      });
      const ops = fake.operations.map((op) => op.op);
      expect(ops.indexOf('CLOSE')).toBeLessThan(ops.indexOf('POSIX-RENAME'));
      // ssh2's client drops the `.` and `..` entries the server lists, as OpenSSH's does.
      const listing = await call<Array<{ filename: string }>>((done) => sftp.readdir('/upload', done));
      expect(listing.map((item) => item.filename)).toEqual(['completions.csv']);
    } finally {
      end();
    }
  });

  it('authenticates with the authorized key and refuses a wrong password or an unknown key', async () => {
    const { sftp, end } = await connect(fake, { privateKey: fake.defaultUserKey?.privateKey as string });
    await call((done) => sftp.writeFile('by-key.txt', 'k', done));
    end();
    expect(fake.file('/upload/by-key.txt')?.toString()).toBe('k');

    await expect(connect(fake, { password: 'wrong' })).rejects.toThrow(/authentication methods failed/i);
    const stranger = generateEd25519KeyPair();
    await expect(connect(fake, { privateKey: stranger.privateKey })).rejects.toThrow(
      /authentication methods failed/i,
    );
    await expect(connect(fake, { username: 'nobody', password })).rejects.toThrow(
      /authentication methods failed/i,
    );
    expect(fake.authAttempts.filter((attempt) => !attempt.accepted).map((attempt) => attempt.method)).toEqual(
      expect.arrayContaining(['password', 'publickey']),
    );
  });

  it('presents a new host key after rotation, which a pinned client refuses', async () => {
    const pinned = fake.hostKeyFingerprint;
    const before = await connect(fake, { password, pinnedFingerprint: pinned });
    before.end();
    const rotated = fake.rotateHostKey();
    expect(rotated).not.toBe(pinned);
    await expect(connect(fake, { password, pinnedFingerprint: pinned })).rejects.toThrow(
      /host key|verification/i,
    );
    const after = await connect(fake, { password, pinnedFingerprint: rotated });
    after.end();
  });

  it('refuses a plain RENAME onto an existing file (OpenSSH) but posix-rename replaces it', async () => {
    fake.putFile('/upload/report.csv', 'old');
    const { sftp, end } = await connect(fake, { password });
    try {
      await call((done) => sftp.writeFile('report.csv.tmp', 'new', done));
      const refused = await call((done) => sftp.rename('report.csv.tmp', 'report.csv', done)).catch(
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: 4, message: 'Failure' });
      expect(fake.file('/upload/report.csv')?.toString()).toBe('old');
      await call((done) => sftp.ext_openssh_rename('report.csv.tmp', 'report.csv', done));
      expect(fake.file('/upload/report.csv')?.toString()).toBe('new');

      fake.renameOverwrite = true;
      await call((done) => sftp.writeFile('report.csv.tmp', 'newer', done));
      await call((done) => sftp.rename('report.csv.tmp', 'report.csv', done));
      expect(fake.file('/upload/report.csv')?.toString()).toBe('newer');
    } finally {
      fake.renameOverwrite = false;
      end();
    }
  });

  it('keeps the client inside its writable home (chroot) and answers missing paths', async () => {
    const { sftp, end } = await connect(fake, { password });
    try {
      const denied = await call((done) => sftp.writeFile('/outside.csv', 'x', done)).catch((e: unknown) => e);
      expect(denied).toMatchObject({ code: 3 });
      const missing = await call((done) => sftp.stat('/upload/nope.csv', (error) => done(error))).catch(
        (e: unknown) => e,
      );
      expect(missing).toMatchObject({ code: 2 });
      await call((done) => sftp.mkdir('/upload/2026-12', done));
      const exists = await call((done) => sftp.mkdir('/upload/2026-12', done)).catch((e: unknown) => e);
      expect(exists).toMatchObject({ code: 4 });
      await call((done) => sftp.writeFile('/upload/2026-12/a.csv', 'a', done));
      await call((done) => sftp.unlink('/upload/2026-12/a.csv', done));
      expect(fake.file('/upload/2026-12/a.csv')).toBeUndefined();
    } finally {
      end();
    }
  });

  it('fails a WRITE with SSH_FX_FAILURE "No space left on device" when the disk is full', async () => {
    fake.diskFull({ afterBytes: 1000 });
    const { sftp, end } = await connect(fake, { password });
    try {
      const error = await call((done) => sftp.writeFile('big.csv.tmp', Buffer.alloc(5000, 65), done)).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 4, message: 'No space left on device' });
      expect(fake.file('/upload/big.csv.tmp')?.length ?? 0).toBeLessThanOrEqual(1000);
    } finally {
      fake.clearDiskFull();
      end();
    }
  });

  it('drops the connection mid-upload, leaving a partial file and no completed upload', async () => {
    const uploadsBefore = fake.uploads.length;
    fake.dropConnectionAfter(10_000);
    const client = await connect(fake, { password });
    const written = call((done) => client.sftp.writeFile('dropped.csv.tmp', Buffer.alloc(200_000, 66), done))
      .then(() => 'written' as const)
      .catch(() => 'failed' as const);
    // The write never succeeds: either its callback fails or the connection closes under it.
    expect(await Promise.race([written, client.closed])).not.toBe('written');
    await client.closed;
    expect(fake.droppedConnections).toBe(1);
    expect(fake.file('/upload/dropped.csv.tmp')?.length).toBe(10_000);
    expect(fake.uploads.length).toBe(uploadsBefore);
    // The server is still up for the retry.
    const retry = await connect(fake, { password });
    await call((done) => retry.sftp.writeFile('dropped.csv.tmp', 'ok', done));
    retry.end();
    expect(fake.file('/upload/dropped.csv.tmp')?.toString()).toBe('ok');
  });
});
