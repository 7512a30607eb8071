/**
 * A tiny authoritative DNS server on UDP for tests: answers TXT queries from a table the test
 * controls, NXDOMAIN otherwise. The hub's real resolver (node:dns Resolver) talks to it, so domain
 * verification runs the same code path as in production.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

export interface FakeDns {
  /** `127.0.0.1:<port>`, for DNS_SERVERS / createTxtResolver. */
  server: string;
  txt: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startFakeDns(): Promise<FakeDns> {
  const txt = new Map<string, string[]>();
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const name = question?.name.toLowerCase() ?? '';
    const values = question?.type === 'TXT' ? txt.get(name) : undefined;
    const response = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (values ? 0 : 3), // rcode 3 = NXDOMAIN
      questions: query.questions,
      answers: (values ?? []).map((value) => ({
        type: 'TXT' as const,
        name,
        ttl: 60,
        class: 'IN' as const,
        data: value,
      })),
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    txt,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
