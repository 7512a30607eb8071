/** Thinkific connector details beyond the shared contract: auth, error shapes, groups, bundles. */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/http.ts';
import { ThinkificConnector } from '../../src/connectors/thinkific/client.ts';
import { HttpClient } from '../../src/platform/http-client.ts';
import { FakeThinkific } from '../fakes/thinkific/server.ts';

const http = new HttpClient();
let fake: FakeThinkific;
afterEach(async () => fake?.stop());

const profile = {
  userId: 'usr_1',
  email: 'ada@example.com',
  givenName: 'Ada',
  familyName: 'Lovelace',
  displayName: 'Ada Lovelace',
};

function connector(credentials: { apiKey: string } | { accessToken: string }) {
  return new ThinkificConnector({
    http,
    settings: { baseUrl: fake.url, subdomain: fake.subdomain },
    credentials,
  });
}

describe('Thinkific connector', () => {
  it('bad credentials fail as unauthorized with the vendor message; OAuth bearer works', async () => {
    fake = await new FakeThinkific({ rateLimit: null, bearerTokens: ['oauth-token'] }).start();
    const error = await connector({ apiKey: 'wrong' })
      .testConnection()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.kind).toBe('unauthorized');
    expect(error.vendorMessage).toBe('Authentication Error');
    await connector({ accessToken: 'oauth-token' }).testConnection();
  });

  it('reads both 422 shapes', async () => {
    fake = await new FakeThinkific({ rateLimit: null }).start();
    const thinkific = connector({ apiKey: fake.apiKey });
    const blank = await thinkific.createAccount({ ...profile, givenName: '' }).catch((e) => e);
    expect(blank.kind).toBe('invalid');
    expect(blank.fieldErrors).toEqual({ first_name: ["can't be blank"] });
    const account = await thinkific.createAccount(profile);
    const missing = await thinkific
      .enroll(account, { kind: 'course', productId: '999', activatedAt: null, expiresAt: null })
      .catch((e) => e);
    expect(missing.kind).toBe('invalid');
    expect(missing.vendorMessage).toBe('Course could not be found.');
  });

  it('finds a user by external id when the email changed', async () => {
    fake = await new FakeThinkific({ rateLimit: null }).start();
    const thinkific = connector({ apiKey: fake.apiKey });
    const created = await thinkific.createAccount(profile);
    const found = await thinkific.findAccount({ ...profile, email: 'ada.new@example.com' });
    expect(found?.remoteId).toBe(created.remoteId);
  });

  it('creates missing groups by name, then adds the user', async () => {
    fake = await new FakeThinkific({ rateLimit: null }).start();
    const thinkific = connector({ apiKey: fake.apiKey });
    const account = await thinkific.createAccount(profile);
    await thinkific.addToGroups(account, ['Sales', 'Managers']);
    expect(fake.groupNamesOf(profile.email).sort()).toEqual(['Managers', 'Sales']);
    expect(fake.groups).toHaveLength(2);
  });

  it('enrolls in a bundle (201 or 202) and expires it', async () => {
    for (const queued of [false, true]) {
      fake = await new FakeThinkific({ rateLimit: null, bundleEnrollmentsQueued: queued }).start();
      const thinkific = connector({ apiKey: fake.apiKey });
      const account = await thinkific.createAccount(profile);
      const spec = {
        kind: 'bundle' as const,
        productId: '201',
        activatedAt: new Date().toISOString(),
        expiresAt: null,
      };
      await thinkific.enroll(account, spec);
      expect(
        fake
          .enrollmentsOf(profile.email)
          .map((e) => e.course_id)
          .sort(),
      ).toEqual([102, 103]);
      const [listed] = await thinkific.listEnrollments(account, [spec]);
      expect(listed).toMatchObject({ kind: 'bundle', productId: '201', expired: false });
      await thinkific.updateEnrollment(account, listed as NonNullable<typeof listed>, {
        activatedAt: spec.activatedAt,
        expiresAt: new Date(Date.now() - 1000).toISOString(),
      });
      const [after] = await thinkific.listEnrollments(account, [spec]);
      expect(after?.expired).toBe(true);
      await fake.stop();
    }
  });

  it('walks every page of a long list', async () => {
    fake = await new FakeThinkific({ rateLimit: null }).start();
    const thinkific = connector({ apiKey: fake.apiKey });
    const account = await thinkific.createAccount(profile);
    for (let index = 0; index < 260; index++) {
      fake.enrollments.push({
        id: 90_000 + index,
        user_id: Number(account.remoteId),
        course_id: 101,
        bundle_id: null,
        activated_at: null,
        expiry_date: '2000-01-01T00:00:00Z',
        created_at: '',
        updated_at: '',
      });
    }
    fake.enrollments.push({
      id: 99_999,
      user_id: Number(account.remoteId),
      course_id: 101,
      bundle_id: null,
      activated_at: null,
      expiry_date: null,
      created_at: '',
      updated_at: '',
    });
    const listed = await thinkific.listEnrollments(account, [
      { kind: 'course', productId: '101', activatedAt: null, expiresAt: null },
    ]);
    // The live enrollment is on the second page (limit 250).
    expect(listed[0]?.remoteId).toBe('99999');
    expect(fake.log.filter((entry) => entry.path.endsWith('/enrollments'))).toHaveLength(2);
  });
});
