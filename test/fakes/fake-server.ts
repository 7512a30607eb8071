/** A small HTTP server for fakes of external APIs: real sockets, JSON bodies, raw access to headers. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless a string. */
  body?: unknown;
}

export async function startFakeServer(
  handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const response = await handle({
          method: req.method ?? 'GET',
          url: new URL(req.url ?? '/', 'http://fake.local'),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const isText = typeof response.body === 'string';
        const payload =
          response.body === undefined
            ? ''
            : isText
              ? (response.body as string)
              : JSON.stringify(response.body);
        res.writeHead(response.status, {
          ...(response.body !== undefined && !isText
            ? { 'content-type': 'application/json; charset=utf-8' }
            : {}),
          ...response.headers,
        });
        res.end(payload);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Body of a JSON or form-encoded request. */
export function readBody(request: FakeRequest): Record<string, unknown> {
  const type = String(request.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    try {
      return JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(request.body));
  }
  return {};
}
