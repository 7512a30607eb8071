/**
 * A real SMTP server for the email channel's tests: `smtp-server` (Nodemailer's server library,
 * design.md: "tests against smtp-server") on 127.0.0.1 with an ephemeral port, every accepted
 * message parsed by `mailparser` and kept with its envelope, the raw headers the hub must set
 * (`List-Unsubscribe`, `List-Unsubscribe-Post` for RFC 8058 one-click), and its text and HTML parts.
 *
 * Failures a mail relay produces, so bounces and retries can be tested:
 * - `refuseRecipient(match)`: RCPT TO answers 550 (`5.1.1 … User unknown`) or the code given;
 * - `failTemporarily({ stage, times })`: 451 at MAIL FROM, RCPT TO or after DATA for the next
 *   `times` transactions (greylisting, a relay under load);
 * - `auth`: require AUTH PLAIN/LOGIN with these credentials (plain TCP allowed, as in tests).
 *
 * STARTTLS is not offered: a test relay on loopback, nothing to protect, no certificate to make.
 */
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  at: number;
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The authenticated user, when the server required AUTH. */
  user?: string;
  raw: string;
  messageId?: string;
  subject?: string;
  from?: string;
  to: string[];
  /** Raw header values by lower-case name (unfolded); repeated headers joined with `\n`. */
  headers: Record<string, string>;
  listUnsubscribe?: string;
  listUnsubscribePost?: string;
  text?: string;
  html?: string;
}

export type SmtpStage = 'mail' | 'rcpt' | 'data';

export interface SmtpRejection {
  at: number;
  stage: SmtpStage;
  address?: string;
  code: number;
  message: string;
}

type RecipientMatch = string | RegExp | ((address: string) => boolean);

export interface FakeSmtpOptions {
  auth?: { user: string; pass: string };
  /** Largest message accepted, in bytes (SIZE extension); default 10 MB. */
  maxSize?: number;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

export class FakeSmtpServer {
  readonly host = '127.0.0.1';
  port = 0;
  readonly messages: ReceivedMail[] = [];
  readonly rejections: SmtpRejection[] = [];
  readonly #refusals: Array<{ match: RecipientMatch; code: number; message: string }> = [];
  readonly #temporary: Array<{ stage: SmtpStage; times: number; code: number; message: string }> = [];
  readonly #server: SMTPServer;
  readonly #parsing = new Set<Promise<void>>();

  constructor(options: FakeSmtpOptions = {}) {
    const auth = options.auth;
    this.#server = new SMTPServer({
      secure: false,
      disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      size: options.maxSize ?? 10 * 1024 * 1024,
      logger: false,
      banner: 'Switchboard test relay',
      onAuth: (login, _session, callback) => {
        if (auth && login.username === auth.user && login.password === auth.pass)
          callback(null, { user: login.username });
        else callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
      },
      onMailFrom: (address, _session, callback) =>
        callback(this.#temporaryFailure('mail', address.address) ?? null),
      onRcptTo: (address, _session, callback) => {
        const refusal = this.#refusals.find((candidate) => matches(candidate.match, address.address));
        if (refusal) {
          this.#reject('rcpt', refusal.code, refusal.message, address.address);
          callback(smtpError(refusal.code, refusal.message));
          return;
        }
        callback(this.#temporaryFailure('rcpt', address.address) ?? null);
      },
      onData: (stream, session, callback) => {
        const parsing = this.#receive(stream, session).then(
          (failure) => callback(failure ?? null),
          (error: unknown) =>
            callback(smtpError(451, `4.3.0 ${error instanceof Error ? error.message : String(error)}`)),
        );
        this.#parsing.add(parsing);
        void parsing.finally(() => this.#parsing.delete(parsing));
      },
    });
    this.#server.on('error', () => {
      // Client disconnects and protocol errors are the client's problem; the test asserts on results.
    });
  }

  static async start(options: FakeSmtpOptions = {}): Promise<FakeSmtpServer> {
    const smtp = new FakeSmtpServer(options);
    await new Promise<void>((resolve) => smtp.#server.listen(0, smtp.host, resolve));
    smtp.port = (smtp.#server.server.address() as AddressInfo).port;
    return smtp;
  }

  /** `smtp://127.0.0.1:<port>`, for a transport URL in the hub's config. */
  get url(): string {
    return `smtp://${this.host}:${this.port}`;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#parsing]);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** RCPT TO for matching addresses answers `code` (a hard bounce by default). */
  refuseRecipient(match: RecipientMatch, code = 550, message?: string): void {
    this.#refusals.push({
      match,
      code,
      message:
        message ??
        (code >= 500
          ? '5.1.1 Recipient address rejected: User unknown'
          : '4.2.1 Mailbox temporarily unavailable'),
    });
  }

  /** The next `times` transactions fail with 451 (or `code`) at `stage`. */
  failTemporarily(spec: { stage: SmtpStage; times?: number; code?: number; message?: string }): void {
    this.#temporary.push({
      stage: spec.stage,
      times: spec.times ?? 1,
      code: spec.code ?? 451,
      message: spec.message ?? '4.7.1 Try again later',
    });
  }

  clearFaults(): void {
    this.#refusals.length = 0;
    this.#temporary.length = 0;
  }

  /** Messages to an address (envelope recipient), oldest first. */
  messagesTo(address: string): ReceivedMail[] {
    const lower = address.toLowerCase();
    return this.messages.filter((mail) => mail.envelope.rcptTo.some((rcpt) => rcpt.toLowerCase() === lower));
  }

  /** Polls until `count` messages arrived (a generous bound, not a timing assertion). */
  async waitForMessages(count: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${this.messages.length}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.messages;
  }

  async #receive(stream: Readable, session: SMTPServerSession): Promise<Error | undefined> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const sizeExceeded = (stream as Readable & { sizeExceeded?: boolean }).sizeExceeded;
    if (sizeExceeded) {
      this.#reject('data', 552, '5.3.4 Message exceeds fixed maximum message size');
      return smtpError(552, '5.3.4 Message exceeds fixed maximum message size');
    }
    const failure = this.#temporaryFailure('data');
    if (failure) return failure;
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsed = await simpleParser(raw);
    const headers: Record<string, string> = {};
    for (const { key, line } of parsed.headerLines) {
      const value = line
        .slice(line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}\n${value}`;
    }
    const addresses = (value: typeof parsed.to): string[] =>
      (Array.isArray(value) ? value : value ? [value] : []).flatMap((group) =>
        group.value.map((entry) => entry.address ?? ''),
      );
    const mailFrom = session.envelope.mailFrom;
    this.messages.push({
      at: Date.now(),
      envelope: {
        mailFrom: mailFrom ? mailFrom.address : '',
        rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      },
      ...(session.user ? { user: String(session.user) } : {}),
      raw,
      ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
      ...(parsed.subject !== undefined ? { subject: parsed.subject } : {}),
      ...(parsed.from?.value[0]?.address ? { from: parsed.from.value[0].address } : {}),
      to: addresses(parsed.to),
      headers,
      ...(headers['list-unsubscribe'] ? { listUnsubscribe: headers['list-unsubscribe'] } : {}),
      ...(headers['list-unsubscribe-post'] ? { listUnsubscribePost: headers['list-unsubscribe-post'] } : {}),
      ...(parsed.text !== undefined ? { text: parsed.text } : {}),
      ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
    });
    return undefined;
  }

  #temporaryFailure(stage: SmtpStage, address?: string): Error | undefined {
    const fault = this.#temporary.find((candidate) => candidate.stage === stage);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#temporary.splice(this.#temporary.indexOf(fault), 1);
    this.#reject(stage, fault.code, fault.message, address);
    return smtpError(fault.code, fault.message);
  }

  #reject(stage: SmtpStage, code: number, message: string, address?: string): void {
    this.rejections.push({ at: Date.now(), stage, code, message, ...(address ? { address } : {}) });
  }
}

function matches(match: RecipientMatch, address: string): boolean {
  if (typeof match === 'string') return match.toLowerCase() === address.toLowerCase();
  if (match instanceof RegExp) return match.test(address);
  return match(address);
}
