/**
 * The fake LRS's strictness over HTTP: the version header (strict 1.0.3 like SQL LRS, or the spec's
 * 1.0.x), Basic auth, POST/PUT with identical duplicates stored once and conflicting ones 409,
 * statement validation, voiding, and `more` paging.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import { FakeLrs, VOIDED } from './index.ts';

const COMPLETED = 'http://adlnet.gov/expapi/verbs/completed';
const PASSED = 'http://adlnet.gov/expapi/verbs/passed';

function completion(employeeId: string, course = 'onboarding', extra: Record<string, unknown> = {}) {
  return {
    actor: { objectType: 'Agent', account: { homePage: 'https://hr.acme.test', name: employeeId } },
    verb: { id: COMPLETED, display: { 'en-US': 'completed' } },
    object: { id: `https://acme.thinkific.com/courses/${course}`, definition: { name: { 'en-US': course } } },
    result: { completion: true, success: true, score: { scaled: 0.9, raw: 90, min: 0, max: 100 } },
    ...extra,
  };
}

describe('xAPI LRS fake', () => {
  const clock = new FakeClock({ frozenAt: Date.UTC(2026, 11, 10, 9, 0, 0) });
  let lrs: FakeLrs;

  beforeAll(async () => {
    lrs = await FakeLrs.start({ clock });
  });
  afterAll(async () => {
    await lrs.close();
  });

  function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string | undefined> = {},
  ): Promise<Response> {
    const base: Record<string, string | undefined> = {
      authorization: lrs.basicAuthorization(),
      'x-experience-api-version': '1.0.3',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    };
    return fetch(`${lrs.url}${path}`, {
      method,
      headers: Object.fromEntries(
        Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  it('requires X-Experience-API-Version (strict: exactly 1.0.3) and Basic credentials', async () => {
    const about = await fetch(`${lrs.url}/xapi/about`);
    expect(await about.json()).toEqual({ version: ['1.0.3'], extensions: {} });
    expect(
      (await call('GET', '/xapi/statements', undefined, { 'x-experience-api-version': undefined })).status,
    ).toBe(400);
    const old = await call('POST', '/xapi/statements', completion('e1'), {
      'x-experience-api-version': '1.0.2',
    });
    expect(old.status).toBe(400);
    expect(old.headers.get('x-experience-api-version')).toBe('1.0.3');
    expect(lrs.stored).toHaveLength(0);
    lrs.versionPolicy = 'spec';
    expect(
      (await call('GET', '/xapi/statements', undefined, { 'x-experience-api-version': '1.0.2' })).status,
    ).toBe(200);
    expect(
      (await call('GET', '/xapi/statements', undefined, { 'x-experience-api-version': '1.0' })).status,
    ).toBe(200);
    expect(
      (await call('GET', '/xapi/statements', undefined, { 'x-experience-api-version': '1.1.0' })).status,
    ).toBe(400);
    lrs.versionPolicy = 'strict';
    const anonymous = await call('GET', '/xapi/statements', undefined, { authorization: undefined });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/Basic/);
  });

  it('stores POSTed statements (200 [ids]) and fills in id, stored, timestamp, authority, version', async () => {
    const response = await call('POST', '/xapi/statements', [completion('e1'), completion('e2')]);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-experience-api-consistent-through')).toBeTruthy();
    const ids = (await response.json()) as string[];
    expect(ids).toHaveLength(2);
    const stored = lrs.statement(ids[0] as string);
    expect(stored).toMatchObject({ id: ids[0], version: '1.0.0', authority: { objectType: 'Agent' } });
    expect(stored?.stored).toBe(new Date(clock.now()).toISOString());
    expect(stored?.timestamp).toBe(stored?.stored);
  });

  it('keeps one copy of an identical duplicate (PUT 204, POST lists it) and answers 409 to a conflicting one', async () => {
    const id = randomUUID();
    const statement = { ...completion('e3'), id, timestamp: '2026-12-09T10:00:00Z' };
    expect((await call('PUT', `/xapi/statements?statementId=${id}`, statement)).status).toBe(204);
    const count = lrs.stored.length;
    // Same statement: another display text, another serialization of the same timestamp.
    const again = {
      ...statement,
      verb: { id: COMPLETED, display: { 'de-DE': 'abgeschlossen' } },
      timestamp: '2026-12-09T11:00:00+01:00',
    };
    expect((await call('PUT', `/xapi/statements?statementId=${id}`, again)).status).toBe(204);
    const posted = await call('POST', '/xapi/statements', again);
    expect(await posted.json()).toEqual([id]);
    expect(lrs.stored).toHaveLength(count);

    const conflicting = { ...statement, verb: { id: PASSED } };
    expect((await call('PUT', `/xapi/statements?statementId=${id}`, conflicting)).status).toBe(409);
    const batch = await call('POST', '/xapi/statements', [completion('e4'), conflicting]);
    expect(batch.status).toBe(409);
    expect(lrs.stored).toHaveLength(count);
    const twice = { ...completion('e5'), id: randomUUID() };
    expect((await call('POST', '/xapi/statements', [twice, twice])).status).toBe(400);
    expect((await call('PUT', `/xapi/statements?statementId=${randomUUID()}`, { ...statement })).status).toBe(
      400,
    );
  });

  it('refuses invalid statements with 400', async () => {
    const base = completion('e6');
    const invalid: Array<[string, unknown]> = [
      [
        'two IFIs',
        { ...base, actor: { mbox: 'mailto:a@acme.test', account: { homePage: 'https://hr', name: 'e6' } } },
      ],
      ['no IFI', { ...base, actor: { name: 'Nobody' } }],
      ['mbox without mailto', { ...base, actor: { mbox: 'a@acme.test' } }],
      ['account without homePage', { ...base, actor: { account: { name: 'e6' } } }],
      ['verb id not an IRI', { ...base, verb: { id: 'completed' } }],
      ['object id not an IRI', { ...base, object: { id: 'onboarding' } }],
      ['scaled above 1', { ...base, result: { score: { scaled: 1.5 } } }],
      ['raw above max', { ...base, result: { score: { raw: 120, min: 0, max: 100 } } }],
      ['a null', { ...base, result: { success: null } }],
      ['a wrongly cased key', { ...base, Actor: base.actor }],
      ['timestamp without a zone', { ...base, timestamp: '2026-12-09T10:00:00' }],
      [
        'revision on an Agent object',
        { ...base, object: { objectType: 'Agent', mbox: 'mailto:b@acme.test' }, context: { revision: '2' } },
      ],
      ['registration not a UUID', { ...base, context: { registration: 'abc' } }],
      ['bad duration', { ...base, result: { duration: '90 minutes' } }],
    ];
    const expected: Record<string, string> = {
      'two IFIs': 'more than one inverse functional identifier',
      'no IFI': 'needs one of mbox',
      'mbox without mailto': 'mailto',
      'account without homePage': 'homePage',
      'verb id not an IRI': 'verb.id',
      'object id not an IRI': 'object.id',
      'scaled above 1': 'scaled',
      'raw above max': 'raw',
      'a null': 'null',
      'a wrongly cased key': 'Actor is not',
      'timestamp without a zone': 'timestamp',
      'revision on an Agent object': 'revision',
      'registration not a UUID': 'registration',
      'bad duration': 'duration',
    };
    for (const [reason, statement] of invalid) {
      const response = await call('POST', '/xapi/statements', statement);
      expect(response.status, reason).toBe(400);
      const { error } = (await response.json()) as { error: { message: string } };
      expect(error.message, reason).toContain(expected[reason]);
    }
    const extensionNull = {
      ...base,
      result: { completion: true, extensions: { 'https://acme.test/x': null } },
    };
    expect((await call('POST', '/xapi/statements', extensionNull)).status).toBe(200);
  });

  it('voids a statement: hidden from queries and statementId, found by voidedStatementId', async () => {
    const id = (
      (await (await call('POST', '/xapi/statements', completion('e7', 'leadership'))).json()) as string[]
    )[0] as string;
    const voiding = {
      actor: { account: { homePage: 'https://hr.acme.test', name: 'admin' } },
      verb: { id: VOIDED, display: { 'en-US': 'voided' } },
      object: { objectType: 'StatementRef', id },
    };
    expect(
      (await call('POST', '/xapi/statements', { ...voiding, object: { id: 'https://x.test/a' } })).status,
    ).toBe(400);
    const voidingId = (
      (await (await call('POST', '/xapi/statements', voiding)).json()) as string[]
    )[0] as string;
    expect(lrs.isVoided(id)).toBe(true);
    expect((await call('GET', `/xapi/statements?statementId=${id}`)).status).toBe(404);
    expect((await call('GET', `/xapi/statements?voidedStatementId=${id}`)).status).toBe(200);
    expect((await call('GET', `/xapi/statements?statementId=${id}&verb=${COMPLETED}`)).status).toBe(400);
    const agent = JSON.stringify({ account: { homePage: 'https://hr.acme.test', name: 'e7' } });
    const found = (await (
      await call('GET', `/xapi/statements?agent=${encodeURIComponent(agent)}`)
    ).json()) as {
      statements: Array<{ id: string }>;
    };
    expect(found.statements.map((statement) => statement.id)).toEqual([voidingId]);
    const voidTheVoid = { ...voiding, object: { objectType: 'StatementRef', id: voidingId } };
    expect((await call('POST', '/xapi/statements', voidTheVoid)).status).toBe(400);
  });

  it('pages queries with a relative more IRL, newest first (or ascending), and refuses unknown parameters', async () => {
    clock.advance(1000);
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      clock.advance(1000);
      const response = await call(
        'POST',
        '/xapi/statements',
        completion('pager', `course-${index}`, { verb: { id: PASSED } }),
      );
      ids.push(((await response.json()) as string[])[0] as string);
    }
    const seen: string[] = [];
    let next = `/xapi/statements?verb=${encodeURIComponent(PASSED)}&limit=2`;
    for (let page = 0; page < 5 && next; page += 1) {
      const body = (await (await call('GET', next)).json()) as {
        statements: Array<{ id: string }>;
        more: string;
      };
      seen.push(...body.statements.map((statement) => statement.id));
      expect(body.more === '' || body.more.startsWith('/xapi/statements?more=')).toBe(true);
      next = body.more;
    }
    expect(seen).toEqual([...ids].reverse());
    const ascending = (await (
      await call('GET', `/xapi/statements?verb=${encodeURIComponent(PASSED)}&ascending=true&limit=1`)
    ).json()) as {
      statements: Array<{ id: string }>;
    };
    expect(ascending.statements[0]?.id).toBe(ids[0]);
    expect((await call('GET', '/xapi/statements?colour=red')).status).toBe(400);
    expect((await call('GET', '/xapi/statements?agent=not-json')).status).toBe(400);
  });
});
