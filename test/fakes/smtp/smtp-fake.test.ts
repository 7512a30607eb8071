/**
 * The SMTP fake is a real SMTP server: these tests speak the protocol over a raw socket (no mail
 * library), so they show exactly what a client sees: the parsed message with its List-Unsubscribe
 * headers and both parts, 550 for refused recipients, 451 temporary failures, AUTH, and SIZE.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSmtpServer } from './index.ts';

/** A minimal line-based SMTP client for the tests. */
class RawSmtpClient {
  #socket: Socket;
  #buffer = '';
  #waiting: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#waiting?.();
    });
  }

  static async open(port: number): Promise<{ client: RawSmtpClient; greeting: number }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawSmtpClient(socket);
    return { client, greeting: (await client.reply()).code };
  }

  async reply(): Promise<{ code: number; text: string }> {
    for (;;) {
      const lines = this.#buffer.split('\r\n');
      const end = lines.slice(0, -1).findIndex((line) => /^\d{3} /.test(line));
      if (end >= 0) {
        this.#buffer = lines.slice(end + 1).join('\r\n');
        return { code: Number((lines[end] as string).slice(0, 3)), text: lines.slice(0, end + 1).join('\n') };
      }
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
  }

  async command(line: string): Promise<{ code: number; text: string }> {
    this.#socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.#socket.end();
  }
}

interface Transaction {
  mail: number;
  rcpt: number[];
  data?: number;
  end?: number;
}

async function sendMail(
  port: number,
  spec: { from: string; to: string[]; message: string; auth?: { user: string; pass: string } },
): Promise<Transaction> {
  const { client } = await RawSmtpClient.open(port);
  try {
    await client.command('EHLO hub.example.com');
    if (spec.auth) {
      const plain = Buffer.from(`\0${spec.auth.user}\0${spec.auth.pass}`).toString('base64');
      const auth = await client.command(`AUTH PLAIN ${plain}`);
      if (auth.code !== 235) return { mail: auth.code, rcpt: [] };
    }
    const mail = (await client.command(`MAIL FROM:<${spec.from}>`)).code;
    if (mail !== 250) return { mail, rcpt: [] };
    const rcpt: number[] = [];
    for (const to of spec.to) rcpt.push((await client.command(`RCPT TO:<${to}>`)).code);
    if (!rcpt.includes(250)) return { mail, rcpt };
    const data = (await client.command('DATA')).code;
    const body = spec.message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    const end = (await client.command(`${body}\r\n.`)).code;
    await client.command('QUIT');
    return { mail, rcpt, data, end };
  } finally {
    client.close();
  }
}

const message = (to: string, subject = 'Your course starts tomorrow') =>
  [
    'From: Switchboard <notifications@hub.example.com>',
    `To: ${to}`,
    `Subject: ${subject}`,
    'Message-ID: <n-1@hub.example.com>',
    'List-Unsubscribe: <https://hub.example.com/unsubscribe/abc123>,',
    ' <mailto:unsubscribe@hub.example.com?subject=abc123>',
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Leadership Foundations starts tomorrow at 9:00.',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p><strong>Leadership Foundations</strong> starts tomorrow at 9:00.</p>',
    '--b1--',
    '',
  ].join('\n');

let smtp: FakeSmtpServer;

beforeAll(async () => {
  smtp = await FakeSmtpServer.start();
});

afterAll(async () => {
  await smtp.close();
});

describe('SMTP fake', () => {
  it('receives a message and keeps the envelope, List-Unsubscribe headers and both parts', async () => {
    const result = await sendMail(smtp.port, {
      from: 'bounces@hub.example.com',
      to: ['ada@contoso.example'],
      message: message('ada@contoso.example'),
    });
    expect(result).toEqual({ mail: 250, rcpt: [250], data: 354, end: 250 });
    const [mail] = smtp.messagesTo('ada@contoso.example');
    expect(mail).toMatchObject({
      envelope: { mailFrom: 'bounces@hub.example.com', rcptTo: ['ada@contoso.example'] },
      subject: 'Your course starts tomorrow',
      from: 'notifications@hub.example.com',
      to: ['ada@contoso.example'],
      messageId: '<n-1@hub.example.com>',
      listUnsubscribe:
        '<https://hub.example.com/unsubscribe/abc123>, <mailto:unsubscribe@hub.example.com?subject=abc123>',
      listUnsubscribePost: 'List-Unsubscribe=One-Click',
      html: '<p><strong>Leadership Foundations</strong> starts tomorrow at 9:00.</p>',
    });
    expect(mail?.text?.trim()).toBe('Leadership Foundations starts tomorrow at 9:00.');
    expect(smtp.url).toBe(`smtp://127.0.0.1:${smtp.port}`);
  });

  it('refuses a recipient with 550 and delivers to the others', async () => {
    smtp.refuseRecipient('gone@contoso.example');
    try {
      const result = await sendMail(smtp.port, {
        from: 'bounces@hub.example.com',
        to: ['gone@contoso.example', 'grace@contoso.example'],
        message: message('grace@contoso.example'),
      });
      expect(result.rcpt).toEqual([550, 250]);
      expect(result.end).toBe(250);
      expect(smtp.messagesTo('gone@contoso.example')).toHaveLength(0);
      expect(smtp.messagesTo('grace@contoso.example')).toHaveLength(1);
      expect(smtp.rejections.at(-1)).toMatchObject({
        stage: 'rcpt',
        code: 550,
        address: 'gone@contoso.example',
      });
    } finally {
      smtp.clearFaults();
    }
  });

  it('fails temporarily with 451 after DATA or at RCPT TO, then accepts the retry', async () => {
    smtp.failTemporarily({ stage: 'data' });
    smtp.failTemporarily({ stage: 'rcpt' });
    const to = 'linus@contoso.example';
    const first = await sendMail(smtp.port, {
      from: 'bounces@hub.example.com',
      to: [to],
      message: message(to),
    });
    expect(first.rcpt).toEqual([451]);
    const second = await sendMail(smtp.port, {
      from: 'bounces@hub.example.com',
      to: [to],
      message: message(to),
    });
    expect(second).toMatchObject({ rcpt: [250], end: 451 });
    expect(smtp.messagesTo(to)).toHaveLength(0);
    const third = await sendMail(smtp.port, {
      from: 'bounces@hub.example.com',
      to: [to],
      message: message(to),
    });
    expect(third.end).toBe(250);
    expect(smtp.messagesTo(to)).toHaveLength(1);
  });

  it('requires AUTH when configured, and refuses messages over SIZE', async () => {
    const relay = await FakeSmtpServer.start({ auth: { user: 'hub', pass: 's3cret' }, maxSize: 2_000 });
    try {
      const to = 'ada@contoso.example';
      const anonymous = await sendMail(relay.port, {
        from: 'bounces@hub.example.com',
        to: [to],
        message: message(to),
      });
      expect(anonymous.mail).toBe(530);
      const wrong = await sendMail(relay.port, {
        from: 'b@hub.example.com',
        to: [to],
        message: message(to),
        auth: { user: 'hub', pass: 'nope' },
      });
      expect(wrong.mail).toBe(535);
      const good = await sendMail(relay.port, {
        from: 'b@hub.example.com',
        to: [to],
        message: message(to),
        auth: { user: 'hub', pass: 's3cret' },
      });
      expect(good.end).toBe(250);
      expect((await relay.waitForMessages(1))[0]?.user).toBe('hub');
      const big = await sendMail(relay.port, {
        from: 'b@hub.example.com',
        to: [to],
        message: message(to, `Big ${'x'.repeat(3_000)}`),
        auth: { user: 'hub', pass: 's3cret' },
      });
      expect(big.end).toBe(552);
      expect(relay.messages).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });
});
