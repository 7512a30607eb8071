/**
 * Where webhooks may go (SSRF protection). A subscription's URL is chosen by whoever holds an admin
 * key, and the hub runs inside a network, so a URL must not become a way to reach the hub's
 * neighbours: internal services, the database, or a cloud metadata endpoint.
 *
 * Policy (WEBHOOKS_ADDRESSES):
 * - `public`: only globally routable addresses. Refused: unspecified, loopback, RFC 1918 private,
 *   carrier-grade NAT (100.64/10), link-local, documentation and benchmark ranges, multicast,
 *   reserved, IPv6 unique-local, and IPv4 addresses embedded in IPv6 (mapped, NAT64) that fall in
 *   those ranges.
 * - `loopback`: also this machine (127/8, ::1), and plain `http` to localhost, 127.0.0.1 and ::1
 *   (development, tests: a receiver on the same machine).
 * - `private`: also private networks (receivers on an internal network), over https.
 * Link-local (169.254/16, fe80::/10: the cloud metadata service lives there), unspecified and
 * multicast addresses are refused under every policy.
 *
 * Checked twice: when a subscription is saved (scheme, credentials in the URL, an IP literal host),
 * and before every attempt on every address the host resolves to, since DNS can change after the
 * subscription was saved. Redirects are never followed (a 3xx is a failed attempt), so a receiver
 * cannot bounce the request elsewhere. What remains: a host whose DNS answer changes between our
 * check and the connection (DNS rebinding within a TTL of zero) could still reach a refused
 * address; the window is one lookup.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export type WebhookAddressPolicy = 'public' | 'loopback' | 'private';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Refused under every policy. */
const NEVER = new BlockList();
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('224.0.0.0', 4, 'ipv4');
NEVER.addSubnet('240.0.0.0', 4, 'ipv4');
NEVER.addSubnet('::', 128, 'ipv6');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addSubnet('ff00::', 8, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addSubnet('::1', 128, 'ipv6');

/** Private and otherwise non-public ranges (besides loopback and NEVER). */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.0.0.0', 24, 'ipv4');
PRIVATE.addSubnet('192.0.2.0', 24, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('198.18.0.0', 15, 'ipv4');
PRIVATE.addSubnet('198.51.100.0', 24, 'ipv4');
PRIVATE.addSubnet('203.0.113.0', 24, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('2001:db8::', 32, 'ipv6');
PRIVATE.addSubnet('100::', 64, 'ipv6');

/** A URL or address the policy refuses, with a reason a person can act on. */
export class AddressNotAllowed extends Error {
  override name = 'AddressNotAllowed';
}

/** Checks a subscription URL as written (no DNS): scheme, credentials, IP literal host. */
export function checkWebhookUrl(value: string, policy: WebhookAddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AddressNotAllowed('is not an absolute URL');
  }
  const loopbackHost = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:') {
    if (!(loopbackHost && policy !== 'public')) {
      throw new AddressNotAllowed(
        policy === 'public'
          ? 'must use https'
          : 'must use https (plain http is allowed only to localhost, 127.0.0.1 and ::1)',
      );
    }
  } else if (url.protocol !== 'https:') {
    throw new AddressNotAllowed('must use https');
  }
  if (url.username || url.password)
    throw new AddressNotAllowed('must not carry credentials (user:password@)');
  if (url.hash) throw new AddressNotAllowed('must not have a #fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) checkAddress(host, policy);
  else if (url.hostname === 'localhost' && policy === 'public') {
    throw new AddressNotAllowed('points at this machine, which WEBHOOKS_ADDRESSES=public refuses');
  }
  return url;
}

/** Resolves the URL's host and checks every address it resolves to. */
export async function checkResolvedAddresses(url: URL, policy: WebhookAddressPolicy): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    checkAddress(host, policy);
    return;
  }
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (error) {
    throw new AddressNotAllowed(
      `host ${host} does not resolve (${(error as { code?: string }).code ?? 'error'})`,
    );
  }
  for (const { address } of addresses) checkAddress(address, policy, host);
}

/** Throws when the policy refuses the address. */
export function checkAddress(address: string, policy: WebhookAddressPolicy, host?: string): void {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  const embedded = family === 'ipv6' ? embeddedIpv4(address) : undefined;
  const candidates: Array<[string, 'ipv4' | 'ipv6']> = [[address, family]];
  if (embedded) candidates.push([embedded, 'ipv4']);
  const where = host ? `${host} resolves to ${address}, which` : `${address}`;
  for (const [candidate, kind] of candidates) {
    if (NEVER.check(candidate, kind)) {
      throw new AddressNotAllowed(
        `${where} is a link-local, unspecified or multicast address (never allowed)`,
      );
    }
    if (LOOPBACK.check(candidate, kind) && policy === 'public') {
      throw new AddressNotAllowed(`${where} is this machine, which WEBHOOKS_ADDRESSES=public refuses`);
    }
    if (PRIVATE.check(candidate, kind) && policy !== 'private') {
      throw new AddressNotAllowed(
        `${where} is a private or reserved address, which WEBHOOKS_ADDRESSES=${policy} refuses`,
      );
    }
  }
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1] as string, 16);
  const low = Number.parseInt(hex[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
