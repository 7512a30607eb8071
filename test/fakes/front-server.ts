/**
 * A front for an existing fake: a `node:http` server on 127.0.0.1 that answers some routes itself
 * and passes every other request through, byte for byte, to the fake behind it. The write-side
 * fakes of issue 18 (Personio writes, Thinkific webhooks) use it to add routes to a fake without
 * editing that fake's files: the client talks to the front, which shares the back fake's state.
 * Bodies stay raw (`Buffer`): multipart uploads and signed payloads survive untouched.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

export interface FrontAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A Buffer or string is sent as is; anything else as JSON. Undefined: no body. */
  body?: unknown;
}

export interface PassedThrough {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends a request to the back fake (the incoming one unless overridden) and returns its answer. */
export type Forward = (
  request: FrontRequest,
  override?: { method?: string; path?: string; raw?: Buffer; headers?: Record<string, string> },
) => Promise<PassedThrough>;

export type FrontHandler = (
  request: FrontRequest,
  forward: Forward,
) => FrontAnswer | undefined | Promise<FrontAnswer | undefined>;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

export async function startFrontServer(
  backOrigin: string,
  handle: FrontHandler,
): Promise<{ origin: string; close(): Promise<void> }> {
  const forward: Forward = (request, override = {}) => {
    const raw = override.raw ?? request.raw;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name))
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    Object.assign(headers, override.headers, { 'content-length': String(raw.length) });
    const path = override.path ?? `${request.url.pathname}${request.url.search}`;
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        `${backOrigin}${path}`,
        { method: override.method ?? request.method, headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const out: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value !== undefined && !HOP_BY_HOP.has(name))
                out[name] = Array.isArray(value) ? value.join(', ') : value;
            }
            resolve({ status: response.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
          });
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(raw);
    });
  };

  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of incoming) chunks.push(chunk as Buffer);
      const request: FrontRequest = {
        method: (incoming.method ?? 'GET').toUpperCase(),
        url: new URL(incoming.url ?? '/', 'http://front.invalid'),
        headers: incoming.headers,
        raw: Buffer.concat(chunks),
      };
      try {
        const answer: FrontAnswer = (await handle(request, forward)) ?? (await forward(request));
        const headers = { ...answer.headers };
        let payload: Buffer | string = '';
        if (Buffer.isBuffer(answer.body) || typeof answer.body === 'string') payload = answer.body;
        else if (answer.body !== undefined) {
          payload = JSON.stringify(answer.body);
          headers['content-type'] = 'application/json; charset=utf-8';
        }
        outgoing.writeHead(answer.status, headers);
        outgoing.end(payload);
      } catch (error) {
        outgoing.writeHead(500, { 'content-type': 'text/plain' });
        outgoing.end(`front server failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
