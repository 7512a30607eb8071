/**
 * A real SFTP server for the scheduled-report tests (flow-of-work.md §5 "What HR teams mostly run:
 * scheduled flat files": reports pushed to the customer's SFTP with key auth, a pinned host key,
 * `.tmp` then rename). It is the `ssh2` package's `Server` (the transport `ssh2-sftp-client` runs
 * over) on 127.0.0.1 with an in-memory file system, so a client sees the real protocol:
 *
 * - password and public-key authentication (a wrong password or an unknown key is refused and
 *   listed in `authAttempts`); the "none" method lists what is allowed, as OpenSSH does;
 * - an ed25519 host key that `rotateHostKey()` replaces, for testing that a client pinned to the
 *   old fingerprint (`hostKeyFingerprint`, OpenSSH's `SHA256:<base64>` form) refuses to connect;
 * - the requests an uploading client makes: OPEN (READ, WRITE, APPEND, CREAT, TRUNC, EXCL), WRITE,
 *   READ, CLOSE, FSTAT/STAT/LSTAT, SETSTAT/FSETSTAT (accepted, ignored), OPENDIR/READDIR (with `.`
 *   and `..`, as OpenSSH lists them), REMOVE, MKDIR, RMDIR, REALPATH (`.` is the home directory;
 *   a missing path is NO_SUCH_FILE, as OpenSSH's realpath(3) fails), RENAME;
 * - rename semantics of OpenSSH's sftp-server: plain SSH_FXP_RENAME refuses to replace an existing
 *   file (it links then unlinks: SSH_FX_FAILURE "Failure"; `renameOverwrite: true` makes it replace,
 *   as some other servers do) while the `posix-rename@openssh.com` extension replaces atomically.
 *   ssh2's server advertises no extensions in its VERSION packet, so the fake rewrites that one
 *   packet to advertise `posix-rename@openssh.com` "1" like OpenSSH (a client such as
 *   `ssh2-sftp-client`'s `posixRename` checks the advertisement before using it);
 * - a chroot like the usual OpenSSH `ChrootDirectory` setup: `/` belongs to root and only the home
 *   directory (`/upload` by default) and below are writable (PERMISSION_DENIED elsewhere);
 * - faults: `diskFull({ afterBytes })` makes a WRITE that does not fit fail with SSH_FX_FAILURE
 *   "No space left on device" (OpenSSH itself says only "Failure" for ENOSPC: a client must not
 *   depend on the text), leaving the partial file as a real disk would;
 *   `dropConnectionAfter(bytes)` stores the first `bytes` of the upload, then destroys the TCP
 *   socket with no reply (a dropped connection mid-upload).
 *
 * Assertions: `file(path)` / `files()` is the current content, `uploads` every write handle closed
 * (path, bytes, content at close), `operations` every request with its status.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Attributes, AuthContext, Connection, FileEntry, ParsedKey, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';

const { Server: SshServer, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/** OpenSSH's status texts (sftp-server.c `status_to_message`). */
const STATUS_TEXT: Record<number, string> = {
  [STATUS_CODE.OK]: 'Success',
  [STATUS_CODE.EOF]: 'End of file',
  [STATUS_CODE.NO_SUCH_FILE]: 'No such file',
  [STATUS_CODE.PERMISSION_DENIED]: 'Permission denied',
  [STATUS_CODE.FAILURE]: 'Failure',
  [STATUS_CODE.BAD_MESSAGE]: 'Bad message',
  [STATUS_CODE.OP_UNSUPPORTED]: 'Operation unsupported',
};

export interface SftpUser {
  username: string;
  password?: string;
  /** An authorized key, OpenSSH one-line form (`ssh-ed25519 AAAA… comment`). */
  publicKey?: string;
}

export interface FakeSftpOptions {
  /** Accounts; default one user `reports` with a password and a generated ed25519 key pair. */
  users?: SftpUser[];
  /** The home directory (REALPATH of `.`), created at start. Default `/upload`. */
  home?: string;
  /** Directories (and everything below) the user may write to. Default: the home directory. */
  writableDirs?: string[];
  /** Plain SSH_FXP_RENAME onto an existing file replaces it (default false: refused, as OpenSSH). */
  renameOverwrite?: boolean;
  /** Advertise `posix-rename@openssh.com` (default true, as OpenSSH). */
  advertisePosixRename?: boolean;
}

export interface SftpUpload {
  path: string;
  /** Bytes the client wrote through this handle. */
  bytesWritten: number;
  /** The file's content when the handle was closed. */
  content: Buffer;
  closedAt: number;
}

export interface SftpOperation {
  op: string;
  path: string;
  target?: string;
  status: 'OK' | 'EOF' | 'NO_SUCH_FILE' | 'PERMISSION_DENIED' | 'FAILURE' | 'OP_UNSUPPORTED' | 'DROPPED';
}

type FsNode = { kind: 'dir'; mtime: number } | { kind: 'file'; data: Buffer; mtime: number };

type Handle =
  | { kind: 'file'; path: string; flags: number; bytesWritten: number }
  | { kind: 'dir'; path: string; listed: boolean };

interface Session {
  socket: Socket | undefined;
  username: string | undefined;
}

/** The parts of ssh2's SFTP object the VERSION rewrite touches (not in its public types). */
interface SftpInternals {
  _protocol: { channelData(id: number, data: Buffer): void };
  outgoing: { id: number; window: number };
}

const VERSION_PACKET_TYPE = 2;

export class FakeSftpServer {
  readonly host = '127.0.0.1';
  port = 0;
  readonly home: string;
  readonly users: SftpUser[];
  /** The default user's key pair (OpenSSH private key and public line), when it was generated. */
  readonly defaultUserKey: { privateKey: string; publicKey: string } | undefined;
  readonly uploads: SftpUpload[] = [];
  readonly operations: SftpOperation[] = [];
  readonly authAttempts: Array<{ username: string; method: string; accepted: boolean }> = [];
  /** Host keys used so far, newest last (a rotation appends). */
  readonly hostKeys: Array<{ privateKey: string; publicKey: string }> = [];
  renameOverwrite: boolean;
  #advertisePosixRename: boolean;
  #writable: string[];
  #nodes = new Map<string, FsNode>();
  #handles = new Map<string, Handle>();
  #nextHandle = 1;
  #net: NetServer | undefined;
  #ssh: InstanceType<typeof SshServer> | undefined;
  #sockets = new Set<Socket>();
  #pendingSockets = new Map<number, Socket>();
  #diskRemaining: number | undefined;
  #dropAfter: number | undefined;
  #droppedCount = 0;

  private constructor(options: FakeSftpOptions) {
    this.home = normalize(options.home ?? '/upload', '/');
    this.#writable = (options.writableDirs ?? [this.home]).map((dir) => normalize(dir, '/'));
    this.renameOverwrite = options.renameOverwrite ?? false;
    this.#advertisePosixRename = options.advertisePosixRename ?? true;
    if (options.users) {
      this.users = options.users;
      this.defaultUserKey = undefined;
    } else {
      const pair = generateEd25519KeyPair('reports@switchboard');
      this.defaultUserKey = pair;
      this.users = [
        { username: 'reports', password: randomBytes(12).toString('hex'), publicKey: pair.publicKey },
      ];
    }
    this.#nodes.set('/', { kind: 'dir', mtime: nowSeconds() });
    for (const dir of [this.home, ...this.#writable]) this.#mkdirp(dir);
  }

  static async start(options: FakeSftpOptions = {}): Promise<FakeSftpServer> {
    const fake = new FakeSftpServer(options);
    fake.#ssh = fake.#sshServer(fake.#newHostKey());
    fake.#net = createServer((socket) => fake.#accept(socket));
    await new Promise<void>((resolve) => fake.#net?.listen(0, fake.host, resolve));
    fake.port = (fake.#net.address() as AddressInfo).port;
    return fake;
  }

  /** The current host key's public half, OpenSSH one-line form. */
  get hostPublicKey(): string {
    return (this.hostKeys.at(-1) as { publicKey: string }).publicKey;
  }

  /** The current host key as OpenSSH prints it: `SHA256:` + unpadded base64 of the key blob's hash. */
  get hostKeyFingerprint(): string {
    return fingerprint(this.hostPublicKey);
  }

  /**
   * Replaces the host key (a reinstalled or impersonated server). New connections present the new
   * key; a client pinned to the old fingerprint must refuse them. Returns the new fingerprint.
   */
  rotateHostKey(): string {
    this.#ssh = this.#sshServer(this.#newHostKey());
    return this.hostKeyFingerprint;
  }

  /** WRITEs fail with SSH_FX_FAILURE once `afterBytes` more bytes have been stored. */
  diskFull(options: { afterBytes: number }): void {
    this.#diskRemaining = options.afterBytes;
  }

  clearDiskFull(): void {
    this.#diskRemaining = undefined;
  }

  /** After `bytes` more bytes are written (by anyone), the writing connection's socket is destroyed. */
  dropConnectionAfter(bytes: number): void {
    this.#dropAfter = bytes;
  }

  /** Connections dropped by `dropConnectionAfter` so far. */
  get droppedConnections(): number {
    return this.#droppedCount;
  }

  /** Open TCP connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  file(path: string): Buffer | undefined {
    const node = this.#nodes.get(normalize(path, this.home));
    return node?.kind === 'file' ? Buffer.from(node.data) : undefined;
  }

  /** Every file, absolute path → content. */
  files(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [path, node] of this.#nodes) if (node.kind === 'file') out.set(path, Buffer.from(node.data));
    return out;
  }

  /** Puts a file in place, as if the customer (or a previous run) left it there. */
  putFile(path: string, content: Buffer | string): void {
    const absolute = normalize(path, this.home);
    this.#mkdirp(parentOf(absolute));
    this.#nodes.set(absolute, { kind: 'file', data: Buffer.from(content), mtime: nowSeconds() });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const net = this.#net;
    if (net) await new Promise<void>((resolve) => net.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------------------------
  // Connections and authentication
  // ---------------------------------------------------------------------------------------------

  #newHostKey(): string {
    const pair = generateEd25519KeyPair('fake-sftp-host');
    this.hostKeys.push(pair);
    return pair.privateKey;
  }

  /** One ssh2 Server per host key; sockets are injected into the current one. */
  #sshServer(hostKey: string): InstanceType<typeof SshServer> {
    const server = new SshServer({ hostKeys: [hostKey], ident: 'OpenSSH_9.6' });
    server.on('connection', (client, info) => {
      const socket = this.#pendingSockets.get(info.port);
      this.#pendingSockets.delete(info.port);
      this.#serve(client, { socket, username: undefined });
    });
    return server;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    // Without it every request/response pair waits on Nagle + delayed ACK (~90 ms on loopback).
    socket.setNoDelay(true);
    const port = socket.remotePort;
    socket.on('close', () => {
      this.#sockets.delete(socket);
      // A connection refused before ssh2 reported it (host key, handshake) leaves its entry here.
      if (port !== undefined && this.#pendingSockets.get(port) === socket) this.#pendingSockets.delete(port);
    });
    // A dropped or refused connection surfaces as a socket error on this side: expected here.
    socket.on('error', () => {});
    if (port !== undefined) this.#pendingSockets.set(port, socket);
    this.#ssh?.injectSocket(socket);
  }

  #serve(client: Connection, session: Session): void {
    client.on('error', () => {});
    client.on('authentication', (context) => this.#authenticate(context, session));
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const channel = acceptSession();
        // No exec, shell or pty listeners: ssh2 refuses those requests (an SFTP-only account).
        channel.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          if (this.#advertisePosixRename) advertiseExtensions(sftp, [['posix-rename@openssh.com', '1']]);
          this.#bind(sftp, session);
        });
      });
    });
  }

  #authenticate(context: AuthContext, session: Session): void {
    const verdict = this.#verdict(context);
    if (verdict !== 'query' && context.method !== 'none') {
      this.authAttempts.push({ username: context.username, method: context.method, accepted: verdict });
    }
    if (verdict === false) {
      context.reject(['publickey', 'password']);
      return;
    }
    if (verdict === true) session.username = context.username;
    context.accept();
  }

  /** true: authenticated; false: refused; 'query': a public key the client may sign with (RFC 4252 §7). */
  #verdict(context: AuthContext): boolean | 'query' {
    const user = this.users.find((candidate) => candidate.username === context.username);
    if (context.method === 'password') {
      return user?.password !== undefined && safeEqual(user.password, context.password);
    }
    if (context.method !== 'publickey') return false;
    const authorized = user?.publicKey ? parsePublicKey(user.publicKey) : undefined;
    if (!authorized || !context.key.data.equals(authorized.getPublicSSH())) return false;
    if (!context.signature || !context.blob) return 'query';
    return authorized.verify(context.blob, context.signature, context.hashAlgo) === true;
  }

  // ---------------------------------------------------------------------------------------------
  // The SFTP subsystem
  // ---------------------------------------------------------------------------------------------

  #bind(sftp: SFTPWrapper, session: Session): void {
    const status = (
      reqId: number,
      code: number,
      op: string,
      path: string,
      target?: string,
      text?: string,
    ) => {
      this.operations.push({ op, path, ...(target ? { target } : {}), status: statusName(code) });
      sftp.status(reqId, code, text ?? STATUS_TEXT[code]);
    };
    const ok = (op: string, path: string, target?: string) =>
      this.operations.push({ op, path, ...(target ? { target } : {}), status: 'OK' });

    sftp.on('REALPATH', (reqId, raw) => {
      const path = normalize(raw, this.home);
      const node = this.#nodes.get(path);
      if (!node) return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'REALPATH', path);
      ok('REALPATH', path);
      sftp.name(reqId, [{ filename: path, longname: path, attrs: attributes(node) }]);
    });

    const stat = (op: string) => (reqId: number, raw: string) => {
      const path = normalize(raw, this.home);
      const node = this.#nodes.get(path);
      if (!node) return status(reqId, STATUS_CODE.NO_SUCH_FILE, op, path);
      ok(op, path);
      sftp.attrs(reqId, attributes(node));
    };
    sftp.on('STAT', stat('STAT'));
    sftp.on('LSTAT', stat('LSTAT'));

    sftp.on('FSTAT', (reqId, handleId) => {
      const handle = this.#handles.get(handleId.toString('hex'));
      const node = handle ? this.#nodes.get(handle.path) : undefined;
      if (!handle || !node) return status(reqId, STATUS_CODE.FAILURE, 'FSTAT', handle?.path ?? '?');
      ok('FSTAT', handle.path);
      sftp.attrs(reqId, attributes(node));
    });

    sftp.on('SETSTAT', (reqId, raw) => {
      const path = normalize(raw, this.home);
      if (!this.#nodes.has(path)) return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'SETSTAT', path);
      status(reqId, STATUS_CODE.OK, 'SETSTAT', path);
    });
    sftp.on('FSETSTAT', (reqId, handleId) => {
      const handle = this.#handles.get(handleId.toString('hex'));
      if (!handle) return status(reqId, STATUS_CODE.FAILURE, 'FSETSTAT', '?');
      status(reqId, STATUS_CODE.OK, 'FSETSTAT', handle.path);
    });

    sftp.on('OPEN', (reqId, raw, flags) => {
      const path = normalize(raw, this.home);
      const writing =
        (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
      const existing = this.#nodes.get(path);
      const parent = this.#nodes.get(parentOf(path));
      if (writing && !this.#isWritable(path))
        return status(reqId, STATUS_CODE.PERMISSION_DENIED, 'OPEN', path);
      if (existing?.kind === 'dir') return status(reqId, STATUS_CODE.FAILURE, 'OPEN', path);
      if (!existing) {
        if (!(flags & OPEN_MODE.CREAT) || parent?.kind !== 'dir')
          return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'OPEN', path);
        this.#nodes.set(path, { kind: 'file', data: Buffer.alloc(0), mtime: nowSeconds() });
      } else if (flags & OPEN_MODE.CREAT && flags & OPEN_MODE.EXCL) {
        return status(reqId, STATUS_CODE.FAILURE, 'OPEN', path);
      } else if (flags & OPEN_MODE.TRUNC) {
        this.#nodes.set(path, { kind: 'file', data: Buffer.alloc(0), mtime: nowSeconds() });
      }
      ok('OPEN', path);
      sftp.handle(reqId, this.#newHandle({ kind: 'file', path, flags, bytesWritten: 0 }));
    });

    sftp.on('READ', (reqId, handleId, offset, length) => {
      const handle = this.#handles.get(handleId.toString('hex'));
      const node = handle ? this.#nodes.get(handle.path) : undefined;
      if (handle?.kind !== 'file' || node?.kind !== 'file' || !(handle.flags & OPEN_MODE.READ))
        return status(reqId, STATUS_CODE.FAILURE, 'READ', handle?.path ?? '?');
      if (offset >= node.data.length)
        return sftp.status(reqId, STATUS_CODE.EOF, STATUS_TEXT[STATUS_CODE.EOF]);
      sftp.data(reqId, node.data.subarray(offset, offset + length));
    });

    sftp.on('WRITE', (reqId, handleId, offset, data) => {
      const handle = this.#handles.get(handleId.toString('hex'));
      const node = handle ? this.#nodes.get(handle.path) : undefined;
      if (
        handle?.kind !== 'file' ||
        node?.kind !== 'file' ||
        !(handle.flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND))
      )
        return status(reqId, STATUS_CODE.FAILURE, 'WRITE', handle?.path ?? '?');
      if (this.#diskRemaining !== undefined && data.length > this.#diskRemaining) {
        return status(reqId, STATUS_CODE.FAILURE, 'WRITE', handle.path, undefined, 'No space left on device');
      }
      let chunk = data;
      let drop = false;
      if (this.#dropAfter !== undefined && data.length > this.#dropAfter) {
        chunk = data.subarray(0, this.#dropAfter);
        drop = true;
      }
      const at = handle.flags & OPEN_MODE.APPEND ? node.data.length : offset;
      node.data = writeAt(node.data, at, chunk);
      node.mtime = nowSeconds();
      handle.bytesWritten += chunk.length;
      if (this.#diskRemaining !== undefined) this.#diskRemaining -= chunk.length;
      if (drop) {
        this.#dropAfter = undefined;
        this.#droppedCount += 1;
        this.operations.push({ op: 'WRITE', path: handle.path, status: 'DROPPED' });
        this.#handles.delete(handleId.toString('hex'));
        session.socket?.destroy();
        return;
      }
      if (this.#dropAfter !== undefined) this.#dropAfter -= chunk.length;
      sftp.status(reqId, STATUS_CODE.OK, STATUS_TEXT[STATUS_CODE.OK]);
    });

    sftp.on('CLOSE', (reqId, handleId) => {
      const key = handleId.toString('hex');
      const handle = this.#handles.get(key);
      if (!handle) return status(reqId, STATUS_CODE.FAILURE, 'CLOSE', '?');
      this.#handles.delete(key);
      const node = this.#nodes.get(handle.path);
      if (
        handle.kind === 'file' &&
        handle.flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND) &&
        node?.kind === 'file'
      ) {
        this.uploads.push({
          path: handle.path,
          bytesWritten: handle.bytesWritten,
          content: Buffer.from(node.data),
          closedAt: Date.now(),
        });
      }
      status(reqId, STATUS_CODE.OK, 'CLOSE', handle.path);
    });

    sftp.on('OPENDIR', (reqId, raw) => {
      const path = normalize(raw, this.home);
      const node = this.#nodes.get(path);
      if (!node) return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'OPENDIR', path);
      if (node.kind !== 'dir') return status(reqId, STATUS_CODE.FAILURE, 'OPENDIR', path);
      ok('OPENDIR', path);
      sftp.handle(reqId, this.#newHandle({ kind: 'dir', path, listed: false }));
    });

    sftp.on('READDIR', (reqId, handleId) => {
      const handle = this.#handles.get(handleId.toString('hex'));
      if (handle?.kind !== 'dir') return status(reqId, STATUS_CODE.FAILURE, 'READDIR', handle?.path ?? '?');
      if (handle.listed) return sftp.status(reqId, STATUS_CODE.EOF, STATUS_TEXT[STATUS_CODE.EOF]);
      handle.listed = true;
      const self = this.#nodes.get(handle.path) as FsNode;
      const entries: FileEntry[] = [
        entry('.', self),
        entry('..', this.#nodes.get(parentOf(handle.path)) ?? self),
      ];
      for (const [path, node] of this.#nodes) {
        if (path !== '/' && parentOf(path) === handle.path) entries.push(entry(baseName(path), node));
      }
      ok('READDIR', handle.path);
      sftp.name(reqId, entries);
    });

    sftp.on('REMOVE', (reqId, raw) => {
      const path = normalize(raw, this.home);
      const node = this.#nodes.get(path);
      if (!node) return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'REMOVE', path);
      if (!this.#isWritable(path)) return status(reqId, STATUS_CODE.PERMISSION_DENIED, 'REMOVE', path);
      if (node.kind === 'dir') return status(reqId, STATUS_CODE.FAILURE, 'REMOVE', path);
      this.#nodes.delete(path);
      status(reqId, STATUS_CODE.OK, 'REMOVE', path);
    });

    sftp.on('MKDIR', (reqId, raw) => {
      const path = normalize(raw, this.home);
      if (!this.#isWritable(path)) return status(reqId, STATUS_CODE.PERMISSION_DENIED, 'MKDIR', path);
      if (this.#nodes.has(path)) return status(reqId, STATUS_CODE.FAILURE, 'MKDIR', path);
      if (this.#nodes.get(parentOf(path))?.kind !== 'dir')
        return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'MKDIR', path);
      this.#nodes.set(path, { kind: 'dir', mtime: nowSeconds() });
      status(reqId, STATUS_CODE.OK, 'MKDIR', path);
    });

    sftp.on('RMDIR', (reqId, raw) => {
      const path = normalize(raw, this.home);
      const node = this.#nodes.get(path);
      if (!node) return status(reqId, STATUS_CODE.NO_SUCH_FILE, 'RMDIR', path);
      if (!this.#isWritable(path) || this.#writable.includes(path))
        return status(reqId, STATUS_CODE.PERMISSION_DENIED, 'RMDIR', path);
      const hasChildren = [...this.#nodes.keys()].some((other) => other !== path && parentOf(other) === path);
      if (node.kind !== 'dir' || hasChildren) return status(reqId, STATUS_CODE.FAILURE, 'RMDIR', path);
      this.#nodes.delete(path);
      status(reqId, STATUS_CODE.OK, 'RMDIR', path);
    });

    sftp.on('RENAME', (reqId, rawFrom, rawTo) => {
      const code = this.#rename(
        normalize(rawFrom, this.home),
        normalize(rawTo, this.home),
        this.renameOverwrite,
      );
      status(reqId, code, 'RENAME', normalize(rawFrom, this.home), normalize(rawTo, this.home));
    });

    sftp.on('EXTENDED', (reqId, name, data) => {
      if (name !== 'posix-rename@openssh.com' || !this.#advertisePosixRename) {
        return status(reqId, STATUS_CODE.OP_UNSUPPORTED, `EXTENDED ${name}`, '');
      }
      const [rawFrom, rawTo] = readSshStrings(data, 2);
      if (rawFrom === undefined || rawTo === undefined)
        return status(reqId, STATUS_CODE.BAD_MESSAGE, 'POSIX-RENAME', '');
      const from = normalize(rawFrom, this.home);
      const to = normalize(rawTo, this.home);
      status(reqId, this.#rename(from, to, true), 'POSIX-RENAME', from, to);
    });

    sftp.on('READLINK', (reqId, raw) => status(reqId, STATUS_CODE.NO_SUCH_FILE, 'READLINK', raw));
    sftp.on('SYMLINK', (reqId, link) => status(reqId, STATUS_CODE.OP_UNSUPPORTED, 'SYMLINK', link));
  }

  #rename(from: string, to: string, overwrite: boolean): number {
    const node = this.#nodes.get(from);
    if (!node) return STATUS_CODE.NO_SUCH_FILE;
    if (!this.#isWritable(from) || !this.#isWritable(to)) return STATUS_CODE.PERMISSION_DENIED;
    if (this.#nodes.get(parentOf(to))?.kind !== 'dir') return STATUS_CODE.NO_SUCH_FILE;
    const target = this.#nodes.get(to);
    if (target && (!overwrite || target.kind === 'dir' || node.kind === 'dir')) return STATUS_CODE.FAILURE;
    if (from === to) return STATUS_CODE.OK;
    // Move the node and, for a directory, everything under it.
    for (const [path, child] of [...this.#nodes]) {
      if (path === from || path.startsWith(`${from}/`)) {
        this.#nodes.delete(path);
        this.#nodes.set(to + path.slice(from.length), child);
      }
    }
    return STATUS_CODE.OK;
  }

  #newHandle(handle: Handle): Buffer {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(this.#nextHandle++);
    this.#handles.set(id.toString('hex'), handle);
    return id;
  }

  #isWritable(path: string): boolean {
    return this.#writable.some((dir) => path === dir || path.startsWith(`${dir === '/' ? '' : dir}/`));
  }

  #mkdirp(path: string): void {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      if (!this.#nodes.has(current)) this.#nodes.set(current, { kind: 'dir', mtime: nowSeconds() });
    }
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------------------------

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator writes a malformed private key when the
 * public key starts with a zero byte (it drops the byte: about 1 key in 250), which its own parser
 * then refuses; such a pair is thrown away and generated again.
 */
export function generateEd25519KeyPair(comment = ''): { privateKey: string; publicKey: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
}

/** OpenSSH's fingerprint of a public key line: `SHA256:` + unpadded base64 of SHA-256(blob). */
export function fingerprint(publicKeyLine: string): string {
  const blob = parsePublicKey(publicKeyLine).getPublicSSH();
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function parsePublicKey(line: string): ParsedKey {
  const parsed = utils.parseKey(line);
  if (parsed instanceof Error) throw new Error(`sftp fake: cannot parse key: ${parsed.message}`);
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

/**
 * Makes ssh2's server advertise extensions in its VERSION packet, as OpenSSH does: ssh2 sends a
 * fixed 9-byte `VERSION 3` packet with none, and clients check the advertisement before using an
 * extension. The one outgoing VERSION packet of this channel is rewritten (and the channel's window
 * charged for the extra bytes, so the flow-control accounting stays exact).
 */
function advertiseExtensions(sftp: SFTPWrapper, extensions: Array<[string, string]>): void {
  const internals = sftp as unknown as SftpInternals;
  const protocol = internals._protocol;
  const original = protocol.channelData;
  let done = false;
  protocol.channelData = function (this: unknown, id: number, data: Buffer) {
    if (!done && id === internals.outgoing.id && data.length === 9 && data[4] === VERSION_PACKET_TYPE) {
      done = true;
      const parts: Buffer[] = [Buffer.from([VERSION_PACKET_TYPE, 0, 0, 0, 3])];
      for (const [name, value] of extensions) parts.push(sshString(name), sshString(value));
      const body = Buffer.concat(parts);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      const packet = Buffer.concat([length, body]);
      internals.outgoing.window -= packet.length - data.length;
      return original.call(this, id, packet);
    }
    return original.call(this, id, data);
  };
}

function sshString(text: string): Buffer {
  const value = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

function readSshStrings(data: Buffer | undefined, count: number): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  let at = 0;
  for (let index = 0; index < count; index += 1) {
    if (!data || at + 4 > data.length) {
      out.push(undefined);
      continue;
    }
    const length = data.readUInt32BE(at);
    out.push(
      at + 4 + length <= data.length ? data.subarray(at + 4, at + 4 + length).toString('utf8') : undefined,
    );
    at += 4 + length;
  }
  return out;
}

/** An absolute, `.`/`..`-free path; relative paths start at `cwd`; `..` stops at `/` (chroot). */
function normalize(path: string, cwd: string): string {
  const parts: string[] = [];
  const full = path.startsWith('/') ? path : `${cwd}/${path}`;
  for (const part of full.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function attributes(node: FsNode): Attributes {
  return {
    mode: node.kind === 'dir' ? 0o040755 : 0o100644,
    uid: 1000,
    gid: 1000,
    size: node.kind === 'file' ? node.data.length : 4096,
    atime: node.mtime,
    mtime: node.mtime,
  };
}

function entry(name: string, node: FsNode): FileEntry {
  const attrs = attributes(node);
  const type = node.kind === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--';
  const date = new Date(node.mtime * 1000).toUTCString().slice(5, 16);
  return { filename: name, longname: `${type}    1 1000     1000     ${attrs.size} ${date} ${name}`, attrs };
}

function writeAt(data: Buffer, offset: number, chunk: Buffer): Buffer {
  const end = offset + chunk.length;
  const out = end > data.length ? Buffer.concat([data, Buffer.alloc(end - data.length)]) : Buffer.from(data);
  chunk.copy(out, offset);
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return left.equals(right);
}

function statusName(code: number): SftpOperation['status'] {
  switch (code) {
    case STATUS_CODE.OK:
      return 'OK';
    case STATUS_CODE.EOF:
      return 'EOF';
    case STATUS_CODE.NO_SUCH_FILE:
      return 'NO_SUCH_FILE';
    case STATUS_CODE.PERMISSION_DENIED:
      return 'PERMISSION_DENIED';
    case STATUS_CODE.OP_UNSUPPORTED:
      return 'OP_UNSUPPORTED';
    default:
      return 'FAILURE';
  }
}
