/**
 * The SuccessFactors Learning fake's strictness, over HTTP as a client sees it: the token with
 * Basic companyID:secret and a rotated secret, both learning-event endpoints with their partial
 * success (201 with per-record `errorMessage`), the 10-record and 100-calls-a-minute limits (frozen
 * clock, no sleeping), refused duplicates, and an outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import { FakeSuccessFactorsLearning } from './index.ts';

const DAY = 86_400_000;

describe('SuccessFactors Learning fake', () => {
  const clock = new FakeClock({ frozenAt: Date.UTC(2026, 11, 10, 9, 0, 0) });
  let fake: FakeSuccessFactorsLearning;

  beforeAll(async () => {
    fake = await FakeSuccessFactorsLearning.start({ clock, students: ['1001', '1002', '1003'] });
  });
  afterAll(async () => {
    await fake.close();
  });

  async function token(options: { secret?: string; userType?: string } = {}): Promise<Response> {
    return fetch(fake.tokenUrl, {
      method: 'POST',
      headers: { authorization: fake.basicAuthorization(options.secret), 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        scope: {
          userId: 'sfadmin',
          companyId: fake.companyId,
          userType: options.userType ?? 'admin',
          resourceType: 'learning_public_api',
        },
      }),
    });
  }

  async function accessToken(userType = 'admin'): Promise<string> {
    const response = await token({ userType });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function post(endpoint: string, body: unknown, bearer: string): Promise<Response> {
    return fetch(`${fake.serviceUrl}/${endpoint}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  const completion = (studentID: string, daysAgo = 1) => ({
    componentTypeID: 'COURSE',
    componentID: 'ONBOARD-101',
    studentID,
    completionStatusID: 'COMPL',
    completionDate: clock.now() - daysAgo * DAY,
  });

  it('issues tokens for Basic companyID:secret and kills the old secret on rotation', async () => {
    const answer = (await (await token()).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ token_type: 'Bearer', expires_in: 1800 });
    expect((await token({ secret: 'not-the-secret' })).status).toBe(403);
    const old = fake.clientSecret;
    fake.rotateSecret();
    expect((await token({ secret: old })).status).toBe(403);
    expect((await token()).status).toBe(200);
    const badScope = await fetch(fake.tokenUrl, {
      method: 'POST',
      headers: { authorization: fake.basicAuthorization(), 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        scope: { userId: 'x', companyId: fake.companyId },
      }),
    });
    expect(badScope.status).toBe(400);
    const userToken = await accessToken('user');
    expect(
      (await post('recordLearningEvents', { recordLearningEvents: [completion('1001')] }, userToken)).status,
    ).toBe(403);
  });

  it('records catalog completions, refusing per record: unknown student, duplicate (no updates)', async () => {
    const bearer = await accessToken();
    const first = await post(
      'recordLearningEvents',
      {
        '@odata.type': '#recordLearningEvents',
        recordLearningEvents: [completion('1001', 2), completion('9999', 2)],
      },
      bearer,
    );
    expect(first.status).toBe(201);
    const body = (await first.json()) as {
      recordLearningEvents: Array<{ studentID: string; errorMessage: string | null }>;
    };
    expect(
      body.recordLearningEvents.map((record) => [record.studentID, record.errorMessage === null]),
    ).toEqual([
      ['1001', true],
      ['9999', false],
    ]);
    expect(body.recordLearningEvents[1]?.errorMessage).toMatch(/9999 does not exist/);
    expect(fake.eventsFor('1001')).toHaveLength(1);

    const again = await post(
      'recordLearningEvents',
      { recordLearningEvents: [completion('1001', 2)] },
      bearer,
    );
    expect(again.status).toBe(201);
    const repeated = (await again.json()) as { recordLearningEvents: Array<{ errorMessage: string | null }> };
    expect(repeated.recordLearningEvents[0]?.errorMessage).toMatch(
      /already recorded; updates .* not supported/,
    );
    expect(fake.eventsFor('1001')).toHaveLength(1);
  });

  it('refuses the wrong envelope, wrong types and more than 10 records a call with 400', async () => {
    const bearer = await accessToken();
    const flat = await post('recordLearningEvents', completion('1002'), bearer);
    expect(flat.status).toBe(400);
    expect(await flat.json()).toEqual({
      error: { code: '400', message: "'componentTypeID' can not be mapped as a property or an annotation." },
    });
    const wrongType = await post(
      'recordLearningEvents',
      { recordLearningEvents: [{ ...completion('1002'), completionDate: '2026-12-01' }] },
      bearer,
    );
    expect(wrongType.status).toBe(400);
    const eleven = Array.from({ length: 11 }, (_, index) => completion('1002', index + 1));
    const tooMany = await post('recordLearningEvents', { recordLearningEvents: eleven }, bearer);
    expect(tooMany.status).toBe(400);
    expect(fake.eventsFor('1002')).toHaveLength(0);
    const ten = await post('recordLearningEvents', { recordLearningEvents: eleven.slice(0, 10) }, bearer);
    expect(ten.status).toBe(201);
    expect(fake.eventsFor('1002')).toHaveLength(10);
  });

  it('records external (non-catalog) learning with its own checks', async () => {
    const bearer = await accessToken();
    const event = {
      description: 'Thinkific: Coaching Conversations',
      studentID: '1003',
      completionDate: clock.now() - DAY,
      completionTimeZoneID: 'Europe/Berlin',
      totalHours: 2,
    };
    const badZone = { ...event, description: 'Other', completionTimeZoneID: 'Mars/Olympus' };
    const response = await post(
      'ExternalLearningEvents',
      { externalLearningEvents: [event, badZone] },
      bearer,
    );
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      externalLearningEvents: Array<{ errorMessage: string | null }>;
    };
    expect(body.externalLearningEvents[0]?.errorMessage).toBeNull();
    expect(body.externalLearningEvents[1]?.errorMessage).toMatch(/time zone/);
    const duplicate = await post('ExternalLearningEvents', { externalLearningEvents: [event] }, bearer);
    const again = (await duplicate.json()) as {
      externalLearningEvents: Array<{ errorMessage: string | null }>;
    };
    expect(again.externalLearningEvents[0]?.errorMessage).toMatch(/already recorded/);
    expect(fake.eventsFor('1003').map((recorded) => recorded.kind)).toEqual(['external']);
  });

  it('answers 429 with Retry-After past 100 calls a minute, and admits again a minute later', async () => {
    const bearer = await accessToken();
    clock.advance(120_000);
    const body = { recordLearningEvents: [{ ...completion('9999') }] };
    const statuses: number[] = [];
    for (let call = 0; call < 101; call += 1)
      statuses.push((await post('recordLearningEvents', body, bearer)).status);
    expect(statuses.slice(0, 100).every((status) => status === 201)).toBe(true);
    const refused = await post('recordLearningEvents', body, bearer);
    expect(statuses[100]).toBe(429);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    clock.advance(60_000);
    expect((await post('recordLearningEvents', body, bearer)).status).toBe(201);
  });

  it('is down with 503 everywhere, then records again; an expired token is 401', async () => {
    const bearer = await accessToken();
    clock.advance(60_000);
    fake.down = true;
    expect((await token()).status).toBe(503);
    expect(
      (await post('recordLearningEvents', { recordLearningEvents: [completion('1003', 3)] }, bearer)).status,
    ).toBe(503);
    fake.down = false;
    expect(
      (await post('recordLearningEvents', { recordLearningEvents: [completion('1003', 3)] }, bearer)).status,
    ).toBe(201);
    expect(fake.eventsFor('1003').map((recorded) => recorded.kind)).toEqual(['external', 'catalog']);
    clock.advance(1801_000);
    expect(
      (await post('recordLearningEvents', { recordLearningEvents: [completion('1003', 4)] }, bearer)).status,
    ).toBe(401);
  });
});
