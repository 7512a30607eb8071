/**
 * One Thinkific API key for provisioning and the SSO handoff: an LMS site signs with the key of the
 * school's provisioning destination, so rotating it once (on the destination) rotates it for both.
 * A site no destination provisions keeps a key of its own, and one that had its own copy can be
 * pointed at the destination (the copy is deleted).
 */
import { sql } from 'drizzle-orm';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/db/client.ts';
import { FakeThinkific } from '../fakes/thinkific/server.ts';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { organizationWithTestIdp, signInAtIdp, startHub } from './helpers.ts';

let t: TestHub;
let fake: FakeThinkific;
beforeAll(async () => {
  t = await startHub();
  fake = await new FakeThinkific({ rateLimit: null }).start();
});
afterAll(async () => {
  await t?.close();
  await fake?.stop();
});

describe('the Thinkific API key, shared by the destination and the SSO handoff', () => {
  it('is entered once, rotated once, and both use the new key', async () => {
    const org = await organizationWithTestIdp(t);
    const base = `/api/v1/organizations/${org.id}`;
    const destination = await t.api('POST', `${base}/destinations`, {
      body: {
        kind: 'thinkific',
        name: 'Academy',
        settings: { baseUrl: fake.url, subdomain: fake.subdomain },
        credentials: { apiKey: fake.apiKey },
      },
    });
    expect(destination.status).toBe(201);
    const destinationId = destination.body.id as string;

    // A second copy of the key is refused, with the fix.
    const copy = await t.api('POST', `${base}/lms-sites`, {
      body: { name: 'Academy SSO', subdomain: fake.subdomain, apiKey: fake.apiKey },
    });
    expect(copy.status).toBe(400);
    expect(copy.body).toMatchObject({ code: 'lms_site_key_held_by_destination', field: 'apiKey' });
    expect(copy.body.fix).toContain(`destinationId: "${destinationId}"`);

    // The site refers to the destination; the school is the destination's.
    const site = await t.api('POST', `${base}/lms-sites`, { body: { name: 'Academy SSO', destinationId } });
    expect(site.status, site.text).toBe(201);
    expect(site.body).toMatchObject({
      destinationId,
      subdomain: fake.subdomain,
      apiKeySet: true,
      ssoUrl: `https://${fake.subdomain}.thinkific.com/api/sso/v2/sso/jwt`,
    });
    const stored = await queryRows<{ api_key_sealed: string | null }>(
      t.hub.database.db,
      sql`select api_key_sealed from lms_sites where id = ${site.body.id}`,
    );
    expect(stored[0]?.api_key_sealed).toBeNull();
    await t.api('POST', `${base}/routes`, {
      body: { name: 'Everyone to the academy', target: { type: 'thinkific', site: site.body.id } },
    });

    const handoffKey = async (email: string) => {
      const browser = new Browser();
      browser.stopAt = [`https://${fake.subdomain}.thinkific.com`];
      const start = await browser.get(`${t.url}/login?login_hint=${encodeURIComponent(email)}`);
      const landed = await signInAtIdp(browser, start, { email });
      return new URL(landed.url).searchParams.get('jwt') as string;
    };
    const oldKey = fake.apiKey;
    const first = await handoffKey(`ada@${org.domain}`);
    await jwtVerify(first, new TextEncoder().encode(oldKey), { algorithms: ['HS256'] });

    // Rotation, once: Thinkific issues a new key; the destination is given it.
    fake.apiKey = `rotated-${oldKey}`;
    const rotated = await t.api('PATCH', `${base}/destinations/${destinationId}`, {
      body: { credentials: { apiKey: fake.apiKey } },
    });
    expect(rotated.status).toBe(200);
    // Provisioning uses the new key...
    expect((await t.api('POST', `${base}/destinations/${destinationId}/test`)).body.ok).toBe(true);
    // ...and so does the handoff.
    const second = await handoffKey(`bob@${org.domain}`);
    await jwtVerify(second, new TextEncoder().encode(fake.apiKey), { algorithms: ['HS256'] });
    await expect(jwtVerify(second, new TextEncoder().encode(oldKey))).rejects.toThrow();

    // The site has no key of its own to replace; the destination keeps a key the site can sign with.
    const ownKey = await t.api('PATCH', `${base}/lms-sites/${site.body.id}`, {
      body: { apiKey: 'another-key-123' },
    });
    expect(ownKey.body).toMatchObject({ code: 'lms_site_key_is_destination_key', field: 'apiKey' });
    const oauth = await t.api('PATCH', `${base}/destinations/${destinationId}`, {
      body: { credentials: { accessToken: 'oauth-token-123' } },
    });
    expect(oauth.status).toBe(400);
    expect(oauth.body).toMatchObject({ code: 'destination_signs_lms_sites', field: 'credentials.apiKey' });
    const deleted = await t.api('DELETE', `${base}/destinations/${destinationId}`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.code).toBe('destination_signs_lms_sites');
  });

  it('a site that kept its own copy of the key is pointed at the destination, and the copy is deleted', async () => {
    const org = await organizationWithTestIdp(t);
    const base = `/api/v1/organizations/${org.id}`;
    // Registered before the destination existed (as every site was before sites could share a key).
    const legacy = await t.api('POST', `${base}/lms-sites`, {
      body: { name: 'Legacy school', subdomain: 'legacy-school', apiKey: 'legacy-key-0001' },
    });
    expect(legacy.status).toBe(201);
    expect(legacy.body).toMatchObject({ destinationId: null, apiKeySet: true });
    expect((await t.hub.provider.sites.open(org.id, legacy.body.id))?.apiKey).toBe('legacy-key-0001');
    const destination = await t.api('POST', `${base}/destinations`, {
      body: {
        kind: 'thinkific',
        name: 'Legacy academy',
        settings: { baseUrl: fake.url, subdomain: 'legacy-school' },
        credentials: { apiKey: 'legacy-key-0002' },
      },
    });
    const linked = await t.api('PATCH', `${base}/lms-sites/${legacy.body.id}`, {
      body: { destinationId: destination.body.id },
    });
    expect(linked.status, linked.text).toBe(200);
    expect(linked.body).toMatchObject({ destinationId: destination.body.id, apiKeySet: true });
    expect((await t.hub.provider.sites.open(org.id, legacy.body.id))?.apiKey).toBe('legacy-key-0002');
    const stored = await queryRows<{ api_key_sealed: string | null }>(
      t.hub.database.db,
      sql`select api_key_sealed from lms_sites where id = ${legacy.body.id}`,
    );
    expect(stored[0]?.api_key_sealed).toBeNull();
    const events = await t.api('GET', `/api/v1/events?organization=${org.id}&types=lms_site.updated`);
    expect(events.body.data[0].data.changed).toEqual(['destinationId', 'apiKey']);
    expect(events.text).not.toContain('legacy-key');
    // A destination of another school is refused for it.
    const other = await t.api('POST', `${base}/lms-sites`, {
      body: { name: 'Wrong school', subdomain: 'another-school', destinationId: destination.body.id },
    });
    expect(other.body).toMatchObject({ code: 'lms_site_subdomain_mismatch', field: 'subdomain' });
  });
});
