/**
 * The HTTP plumbing shared by the HR and directory fakes (Workday, SuccessFactors, Merge, Google
 * Workspace, Microsoft Graph): a real `node:http` server on an ephemeral port, request parsing, a
 * request log tests can assert on (paging really happened, the token was refreshed), and a queue of
 * injected faults (throttling, outages) each fake renders in its vendor's own shape.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  url: URL;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  bodyText: string;
  /** Parsed form body when the request was form-encoded. */
  form: URLSearchParams | undefined;
  /** Parsed JSON body when the request sent JSON. */
  json: unknown;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are (set content-type yourself). */
  body?: unknown;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** The Authorization header's scheme (`Basic`, `Bearer`) or undefined. */
  authScheme: string | undefined;
}

export type FakeHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakeHttpServer {
  url: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

export async function startFakeHttpServer(handler: FakeHandler): Promise<FakeHttpServer> {
  const requests: LoggedRequest[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    void serve(incoming, outgoing);
  });
  async function serve(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const bodyText = Buffer.concat(chunks).toString('utf8');
    const url = new URL(incoming.url ?? '/', 'http://fake.invalid');
    const contentType = String(incoming.headers['content-type'] ?? '');
    let json: unknown;
    if (/json/i.test(contentType) && bodyText) {
      try {
        json = JSON.parse(bodyText);
      } catch {
        json = undefined;
      }
    }
    const request: FakeRequest = {
      method: (incoming.method ?? 'GET').toUpperCase(),
      url,
      path: url.pathname,
      query: url.searchParams,
      headers: incoming.headers,
      bodyText,
      form: /application\/x-www-form-urlencoded/i.test(contentType)
        ? new URLSearchParams(bodyText)
        : undefined,
      json,
    };
    let response: FakeResponse;
    try {
      response = await handler(request);
    } catch (error) {
      response = { status: 500, body: { fakeError: error instanceof Error ? error.message : String(error) } };
    }
    requests.push({
      method: request.method,
      path: request.path,
      query: Object.fromEntries(url.searchParams),
      status: response.status,
      authScheme: String(incoming.headers.authorization ?? '').split(' ')[0] || undefined,
    });
    const headers: Record<string, string> = { ...response.headers };
    let payload = '';
    if (response.body !== undefined) {
      if (typeof response.body === 'string') payload = response.body;
      else {
        payload = JSON.stringify(response.body);
        headers['content-type'] ??= 'application/json; charset=utf-8';
      }
    }
    outgoing.writeHead(response.status, headers);
    outgoing.end(payload);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fault a test queues: the next `times` data requests (not token requests) get it. */
export interface Fault {
  kind: 'throttle' | 'unavailable';
  times: number;
  /** Seconds for Retry-After (each vendor has its own default). */
  retryAfterSeconds?: number;
  /** Only requests whose path contains this fail (default: any data request). */
  pathIncludes?: string;
}

/** What a data request gets from the controls: a queued fault, a breakage, or nothing. */
export type Admission = Fault | { kind: 'broken' } | undefined;

/**
 * Fault injection and counters shared by the fakes. Every data request (not token requests) goes
 * through `admit`, which counts it and says whether it must fail: a queued throttle or outage, or
 * a "broken" state (`breakAfter(n)`: after n more successful data requests, every one fails with
 * the vendor's 500 until `heal()`), for failure-halfway-then-resume tests.
 */
export class FakeControls {
  readonly #faults: Fault[] = [];
  #okBeforeBreak: number | undefined;
  readonly stats = { dataRequests: 0, throttled: 0, tokensIssued: 0 };
  /**
   * Which successful requests count down `breakAfter` (default: all). A fake whose page is one
   * roster request plus detail requests (SuccessFactors' EmpJob, PerPersonal) counts the roster ones.
   */
  breakCounts: (path: string) => boolean = () => true;

  fail(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  breakAfter(requests: number): void {
    this.#okBeforeBreak = requests;
  }

  heal(): void {
    this.#okBeforeBreak = undefined;
  }

  clear(): void {
    this.#faults.length = 0;
    this.heal();
  }

  admit(path: string): Admission {
    this.stats.dataRequests += 1;
    const fault = this.#faults.find((f) => !f.pathIncludes || path.includes(f.pathIncludes));
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
      if (fault.kind === 'throttle') this.stats.throttled += 1;
      return fault;
    }
    if (this.#okBeforeBreak !== undefined) {
      if (this.#okBeforeBreak <= 0) return { kind: 'broken' };
      if (this.breakCounts(path)) this.#okBeforeBreak -= 1;
    }
    return undefined;
  }
}

/**
 * A sliding one-minute window per key, for the vendors whose quota is a published number
 * (Merge per linked account, Google per user per project). `limit: undefined` disables it.
 */
export class MinuteWindow {
  readonly #hits = new Map<string, number[]>();
  limit: number | undefined;

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** Records a hit; returns the seconds until a slot frees when over the limit. */
  hit(key: string, now = Date.now()): number | undefined {
    if (this.limit === undefined) return undefined;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > now - 60_000);
    if (hits.length >= this.limit) {
      this.#hits.set(key, hits);
      return Math.max(1, Math.ceil(((hits[0] as number) + 60_000 - now) / 1000));
    }
    hits.push(now);
    this.#hits.set(key, hits);
    return undefined;
  }
}

/** `Basic base64(user:password)` → [user, password], or undefined. */
export function parseBasicAuth(header: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

export function parseBearer(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
}

/** Opaque tokens with an expiry a test can cut short (token expiry mid-sync). */
export class TokenBook {
  readonly #tokens = new Map<string, { expiresAt: number; subject: string }>();
  issued = 0;

  issue(subject: string, lifetimeSeconds: number, prefix: string): string {
    this.issued += 1;
    const token = `${prefix}${this.issued}.${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    this.#tokens.set(token, { subject, expiresAt: Date.now() + lifetimeSeconds * 1000 });
    return token;
  }

  /** 'valid' with the subject, 'expired', or 'unknown'. */
  check(token: string | undefined): { state: 'valid'; subject: string } | { state: 'expired' | 'unknown' } {
    const entry = token ? this.#tokens.get(token) : undefined;
    if (!entry) return { state: 'unknown' };
    if (entry.expiresAt <= Date.now()) return { state: 'expired' };
    return { state: 'valid', subject: entry.subject };
  }

  /** Every token issued so far is now past its expiry. */
  expireAll(): void {
    for (const entry of this.#tokens.values()) entry.expiresAt = 0;
  }
}
