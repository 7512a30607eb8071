/**
 * Bad input gets the right RFC 7644 error, never a 500, and nothing is half-applied: malformed
 * JSON, wrong content types, unknown schema URNs, an oversized body, filters that do not parse,
 * PATCHes to read-only attributes, bad paths and values, stale ETags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  CORE_GROUP,
  CORE_USER,
  createScimDirectory,
  ERROR,
  eventsOf,
  filterQuery,
  PATCH_OP,
  type ScimDirectory,
} from './support.ts';

let t: TestHub;
let d: ScimDirectory;
let userId: string;
let baseline: { user: unknown; events: number };

beforeAll(async () => {
  t = await createTestHub({ env: { BODY_LIMIT_BYTES: '65536' } });
  d = await createScimDirectory(t, { provider: 'generic' });
  const created = await d.scim('POST', '/Users', {
    body: {
      schemas: [CORE_USER],
      userName: 'grace@navy.example',
      emails: [{ value: 'grace@navy.example', primary: true }],
      active: true,
    },
  });
  userId = created.body.id;
  baseline = {
    user: (await d.scim('GET', `/Users/${userId}`)).body,
    events: (await eventsOf(t, d.organizationId)).length,
  };
});
afterAll(async () => t?.close());

/** The user and the event log are exactly as before the bad request. */
async function expectNothingApplied() {
  expect((await d.scim('GET', `/Users/${userId}`)).body).toEqual(baseline.user);
  expect((await eventsOf(t, d.organizationId)).length).toBe(baseline.events);
}

function expectScimError(
  res: { status: number; body: any; headers: Record<string, unknown> },
  status: number,
  scimType?: string,
) {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/scim+json');
  expect(res.body).toMatchObject({ schemas: [ERROR], status: String(status), detail: expect.any(String) });
  if (scimType) expect(res.body.scimType).toBe(scimType);
  else expect(res.body.scimType).toBeUndefined();
}

describe('request bodies', () => {
  it('malformed JSON: 400 invalidSyntax', async () => {
    for (const payload of ['{"schemas": [', 'not json', '{"a":1}}']) {
      expectScimError(await d.scim('POST', '/Users', { payload }), 400, 'invalidSyntax');
      expectScimError(await d.scim('PATCH', `/Users/${userId}`, { payload }), 400, 'invalidSyntax');
    }
    expectScimError(await d.scim('POST', '/Users', { payload: '' }), 400, 'invalidSyntax');
    expectScimError(await d.scim('POST', '/Users', { body: [] }), 400, 'invalidSyntax');
    await expectNothingApplied();
  });

  it('wrong content type: 415; application/json is accepted like application/scim+json', async () => {
    const body = JSON.stringify({ schemas: [CORE_USER], userName: 'x@y.example' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expectScimError(
        await d.scim('POST', '/Users', { payload: body, headers: { 'content-type': type } }),
        415,
      );
    }
    const json = await d.scim('POST', '/Users', {
      payload: JSON.stringify({ schemas: [CORE_USER], userName: 'json@y.example' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.status).toBe(201);
    await d.scim('DELETE', `/Users/${json.body.id}`);
    baseline.events = (await eventsOf(t, d.organizationId)).length;
  });

  it('unknown schema URNs: 400 invalidValue; a missing core schema: 400 invalidSyntax', async () => {
    expectScimError(
      await d.scim('POST', '/Users', {
        body: {
          schemas: [CORE_USER, 'urn:example:params:scim:schemas:unknown:2.0:User'],
          userName: 'u@x.example',
        },
      }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Users', {
        body: { schemas: [CORE_USER], userName: 'u@x.example', 'urn:example:unknown:2.0:User': { a: 1 } },
      }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Users', { body: { userName: 'u@x.example' } }),
      400,
      'invalidSyntax',
    );
    // A Group at the Users endpoint: its URN is not a User schema.
    expectScimError(
      await d.scim('POST', '/Users', { body: { schemas: [CORE_GROUP], userName: 'u@x.example' } }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('PATCH', `/Users/${userId}`, {
        body: { schemas: ['urn:example:unknown'], Operations: [{ op: 'add', path: 'title', value: 'x' }] },
      }),
      400,
      'invalidSyntax',
    );
    await expectNothingApplied();
  });

  it('an oversized body: 413', async () => {
    const huge = { schemas: [CORE_USER], userName: 'big@x.example', title: 'x'.repeat(70_000) };
    expectScimError(await d.scim('POST', '/Users', { body: huge }), 413);
    expectScimError(
      await d.scim('PATCH', `/Users/${userId}`, {
        body: {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', path: 'title', value: 'x'.repeat(70_000) }],
        },
      }),
      413,
    );
    await expectNothingApplied();
  });

  it('missing or invalid required values: 400 invalidValue', async () => {
    expectScimError(await d.scim('POST', '/Users', { body: { schemas: [CORE_USER] } }), 400, 'invalidValue');
    expectScimError(
      await d.scim('POST', '/Users', { body: { schemas: [CORE_USER], userName: '  ' } }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Users', {
        body: { schemas: [CORE_USER], userName: 'a@b.example', active: 'sometimes' },
      }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Users', {
        body: { schemas: [CORE_USER], userName: 'a@b.example', name: 'Ada' },
      }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Users', {
        body: {
          schemas: [CORE_USER],
          userName: 'a@b.example',
          emails: [
            { value: 'a@b.example', primary: true },
            { value: 'c@b.example', primary: true },
          ],
        },
      }),
      400,
      'invalidValue',
    );
    expectScimError(
      await d.scim('POST', '/Groups', { body: { schemas: [CORE_GROUP] } }),
      400,
      'invalidValue',
    );
    await expectNothingApplied();
  });
});

describe('queries', () => {
  it('a filter that does not parse, or names what does not exist: 400 invalidFilter', async () => {
    for (const filter of [
      'userName eq',
      'userName eq "a" or',
      '((userName eq "a")',
      'userName ~ "a"',
      'nosuch eq "a"',
      'emails[type eq "work"',
      'active gt 1',
    ]) {
      expectScimError(await d.scim('GET', `/Users?${filterQuery(filter)}`), 400, 'invalidFilter');
    }
    expectScimError(
      await d.scim('GET', `/Groups?${filterQuery('members[display co "x"')}`),
      400,
      'invalidFilter',
    );
  });

  it('bad paging and sorting parameters: 400 invalidValue', async () => {
    expectScimError(await d.scim('GET', '/Users?count=ten'), 400, 'invalidValue');
    expectScimError(await d.scim('GET', '/Users?sortBy=nosuch'), 400, 'invalidValue');
    expectScimError(await d.scim('GET', '/Users?sortBy=userName&sortOrder=sideways'), 400, 'invalidValue');
    // Out-of-range numbers are clamped as RFC 7644 section 3.4.2.4 says, not refused.
    const clamped = await d.scim('GET', '/Users?startIndex=-5&count=-1');
    expect(clamped.body).toMatchObject({ startIndex: 1, itemsPerPage: 0, totalResults: 1 });
  });
});

describe('PATCH', () => {
  const patch = (operations: unknown[]) =>
    d.scim('PATCH', `/Users/${userId}`, { body: { schemas: [PATCH_OP], Operations: operations } });

  it('to a read-only attribute: 400 mutability, and the operations before it are not applied', async () => {
    for (const path of ['id', 'meta.lastModified', 'groups']) {
      expectScimError(
        await patch([
          { op: 'replace', path: 'title', value: 'Admiral' },
          { op: 'replace', path, value: 'x' },
        ]),
        400,
        'mutability',
      );
    }
    expectScimError(
      await patch([{ op: 'replace', value: { title: 'Admiral', id: 'usr_other' } }]),
      400,
      'mutability',
    );
    await expectNothingApplied();
  });

  it('a path the schemas do not define: 400 invalidPath; a remove without path: 400 noTarget', async () => {
    expectScimError(await patch([{ op: 'replace', path: 'nosuch', value: 'x' }]), 400, 'invalidPath');
    expectScimError(
      await patch([{ op: 'replace', path: 'urn:example:unknown:2.0:User:x', value: 'x' }]),
      400,
      'invalidPath',
    );
    expectScimError(await patch([{ op: 'replace', path: 'emails[type eq', value: 'x' }]), 400, 'invalidPath');
    expectScimError(await patch([{ op: 'remove' }]), 400, 'noTarget');
    expectScimError(
      await patch([{ op: 'replace', path: 'emails[value co "nobody"].type', value: 'home' }]),
      400,
      'noTarget',
    );
    expectScimError(await patch([{ op: 'merge', path: 'title', value: 'x' }]), 400, 'invalidSyntax');
    expectScimError(await patch([{ op: 'replace', path: 'active', value: 'perhaps' }]), 400, 'invalidValue');
    expectScimError(await patch([{ op: 'remove', path: 'userName' }]), 400, 'invalidValue');
    await expectNothingApplied();
  });

  it('a stale If-Match: 412; the current ETag: applied', async () => {
    expectScimError(
      await d.scim('PATCH', `/Users/${userId}`, {
        headers: { 'if-match': 'W/"999"' },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
      }),
      412,
    );
    expectScimError(await d.scim('DELETE', `/Users/${userId}`, { headers: { 'if-match': 'W/"999"' } }), 412);
    await expectNothingApplied();
    const current = (baseline.user as { meta: { version: string } }).meta.version;
    const ok = await d.scim('PATCH', `/Users/${userId}`, {
      headers: { 'if-match': current },
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Rear Admiral' }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).not.toBe(current);
  });

  it('a rename to a taken userName: 409 uniqueness, nothing applied', async () => {
    const other = await d.scim('POST', '/Users', {
      body: { schemas: [CORE_USER], userName: 'ada@navy.example' },
    });
    const before = (await d.scim('GET', `/Users/${other.body.id}`)).body;
    const events = (await eventsOf(t, d.organizationId)).length;
    const res = await d.scim('PATCH', `/Users/${other.body.id}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'replace', path: 'title', value: 'x' },
          { op: 'replace', path: 'userName', value: 'GRACE@navy.example' },
        ],
      },
    });
    expectScimError(res, 409, 'uniqueness');
    expect((await d.scim('GET', `/Users/${other.body.id}`)).body).toEqual(before);
    expect((await eventsOf(t, d.organizationId)).length).toBe(events);
  });
});

describe('endpoints', () => {
  it('unknown resources and endpoints: 404 with a SCIM body; Bulk and Me: 501', async () => {
    expectScimError(await d.scim('GET', '/Users/usr_does_not_exist'), 404);
    expectScimError(await d.scim('GET', '/Groups/grp_does_not_exist'), 404);
    expectScimError(
      await d.scim('PUT', '/Users/usr_does_not_exist', { body: { schemas: [CORE_USER], userName: 'x' } }),
      404,
    );
    expectScimError(await d.scim('GET', '/Nope'), 404);
    expectScimError(await d.scim('POST', '/Bulk', { body: {} }), 501);
    expectScimError(await d.scim('GET', '/Me'), 501);
  });

  it('an unknown directory or a missing token: 401 with WWW-Authenticate', async () => {
    const res = await d.scim('GET', '/scim/v2/dir_nope/Users');
    expectScimError(res, 401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="scim"');
    expectScimError(await d.scim('GET', '/Users', { token: null }), 401);
  });
});
