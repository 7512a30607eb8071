import { describe, expect, it } from 'vitest';
import {
  AddressNotAllowed,
  checkAddress,
  checkResolvedAddresses,
  checkWebhookUrl,
} from './address-policy.ts';

const refused = (address: string, policy: 'public' | 'loopback' | 'private') => {
  try {
    checkAddress(address, policy);
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(AddressNotAllowed);
    return true;
  }
};

describe('webhook address policy', () => {
  it('public: only globally routable addresses', () => {
    for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8']) {
      expect(refused(address, 'public'), address).toBe(false);
    }
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.0.10',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::10.0.0.1',
    ]) {
      expect(refused(address, 'public'), address).toBe(true);
    }
  });

  it('loopback adds this machine; private adds private networks; link-local never', () => {
    expect(refused('127.0.0.1', 'loopback')).toBe(false);
    expect(refused('::1', 'loopback')).toBe(false);
    expect(refused('10.0.0.1', 'loopback')).toBe(true);
    expect(refused('10.0.0.1', 'private')).toBe(false);
    expect(refused('fd12::1', 'private')).toBe(false);
    for (const policy of ['public', 'loopback', 'private'] as const) {
      expect(refused('169.254.169.254', policy)).toBe(true);
      expect(refused('fe80::1', policy)).toBe(true);
      expect(refused('0.0.0.0', policy)).toBe(true);
    }
  });

  it('allows plain http only to loopback hosts, and never credentials in the URL', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:8080/h', 'public')).toThrow(AddressNotAllowed);
    expect(checkWebhookUrl('http://127.0.0.1:8080/h', 'loopback').host).toBe('127.0.0.1:8080');
    expect(checkWebhookUrl('http://[::1]:8080/h', 'loopback').hostname).toBe('[::1]');
    expect(() => checkWebhookUrl('http://10.0.0.1/h', 'private')).toThrow(/https/);
    expect(() => checkWebhookUrl('https://u:p@example.com/h', 'public')).toThrow(/credentials/);
    expect(() => checkWebhookUrl('https://localhost/h', 'public')).toThrow(AddressNotAllowed);
  });

  it('checks what a name resolves to', async () => {
    await expect(checkResolvedAddresses(new URL('https://localhost/h'), 'public')).rejects.toThrow(
      /this machine/,
    );
    await expect(checkResolvedAddresses(new URL('https://localhost/h'), 'loopback')).resolves.toBeUndefined();
  });
});
