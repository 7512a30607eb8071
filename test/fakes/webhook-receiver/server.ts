/**
 * A receiver of signed webhook commands, as one of our apps would run it: verifies every delivery
 * with the Standard Webhooks reference library (signature, timestamp tolerance), refuses bad ones
 * with 401, de-duplicates by `webhook-id`, and applies `account.*`, `enrollment.*` and `group.*`
 * commands to an in-memory user table.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedCommand {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export class FakeWebhookReceiver {
  readonly secret: string;
  readonly commands: ReceivedCommand[] = [];
  readonly rejected: string[] = [];
  readonly accounts = new Map<
    string,
    { email: string; active: boolean; enrollments: Map<string, unknown>; groups: Set<string> }
  >();
  url = '';
  #server: Server | undefined;
  #seen = new Set<string>();

  constructor(options: { secret?: string } = {}) {
    this.secret = options.secret ?? `whsec_${randomBytes(24).toString('base64')}`;
  }

  async start(): Promise<this> {
    const verifier = new Webhook(this.secret);
    this.#server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      let payload: { type: string; data: Record<string, unknown> };
      try {
        payload = verifier.verify(raw, request.headers as Record<string, string>) as typeof payload;
      } catch (error) {
        this.rejected.push((error as Error).message);
        response.writeHead(401).end();
        return;
      }
      const id = String(request.headers['webhook-id']);
      if (this.#seen.has(id)) {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ duplicate: true }));
        return;
      }
      this.#seen.add(id);
      this.commands.push({ id, type: payload.type, data: payload.data });
      const answer = this.#apply(payload.type, payload.data);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks/switchboard`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  #apply(type: string, data: Record<string, unknown>): Record<string, unknown> {
    const user = data.user as { id: string; email: string } | undefined;
    const remoteId = (data.remoteId as string | undefined) ?? (user ? `app-${user.id}` : undefined);
    if (type === 'account.ensure' && user) {
      const id = `app-${user.id}`;
      const existing = this.accounts.get(id);
      if (existing) existing.email = user.email;
      else
        this.accounts.set(id, { email: user.email, active: true, enrollments: new Map(), groups: new Set() });
      return { id };
    }
    const account = remoteId ? this.accounts.get(remoteId) : undefined;
    if (!account) return {};
    if (type === 'account.disable') account.active = false;
    if (type === 'account.enable') account.active = true;
    if (type === 'account.delete') this.accounts.delete(remoteId as string);
    if (type === 'enrollment.ensure' || type === 'enrollment.update') {
      const enrollment = data.enrollment as { kind: string; productId: string };
      account.enrollments.set(`${enrollment.kind}:${enrollment.productId}`, enrollment);
    }
    if (type === 'group.add') for (const group of data.groups as string[]) account.groups.add(group);
    if (type === 'group.remove') for (const group of data.groups as string[]) account.groups.delete(group);
    return {};
  }
}
