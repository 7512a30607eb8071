import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestHub, databaseKind, type TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => {
  await t?.close();
});

async function eventsAfter(cursor: string | undefined, query = '') {
  const res = await t.api('GET', `/api/v1/events?limit=1000${cursor ? `&after=${cursor}` : ''}${query}`, {
    key: t.readKey,
  });
  expect(res.status).toBe(200);
  return res.body as {
    data: Array<{ type: string; subject: { id: string }; data: any; actor: any; organizationId: string }>;
    nextCursor: string;
  };
}

describe('event log', () => {
  it('writes an event with every change, in order, with the actor', async () => {
    const start = (await eventsAfter(undefined)).nextCursor;
    const org = (
      await t.api('POST', '/api/v1/organizations', {
        body: { name: 'Evented', domains: ['evented.example.com'] },
      })
    ).body;
    const user = (
      await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
        body: { email: 'e@evented.example.com' },
      })
    ).body;
    await t.api('PATCH', `/api/v1/users/${user.id}`, { body: { familyName: 'Event' } });
    const group = (await t.api('POST', `/api/v1/organizations/${org.id}/groups`, { body: { name: 'G' } }))
      .body;
    await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [user.id] } });
    await t.api('DELETE', `/api/v1/groups/${group.id}/members/${user.id}`);
    await t.api('PATCH', `/api/v1/groups/${group.id}`, { body: { name: 'G2' } });
    await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [user.id] } });
    await t.api('POST', `/api/v1/users/${user.id}/suspend`);
    await t.api('POST', `/api/v1/users/${user.id}/reactivate`);
    await t.api('POST', `/api/v1/users/${user.id}/deprovision`);
    await t.api('DELETE', `/api/v1/users/${user.id}`);
    await t.api('DELETE', `/api/v1/groups/${group.id}`);
    await t.api('PATCH', `/api/v1/organizations/${org.id}`, { body: { name: 'Evented Inc' } });
    await t.api('DELETE', `/api/v1/organizations/${org.id}/domains/evented.example.com`);

    const { data } = await eventsAfter(start);
    expect(data.map((event) => event.type)).toEqual([
      'organization.created',
      'organization.domain_added',
      'user.created',
      'user.updated',
      'group.created',
      'group.member_added',
      'group.member_removed',
      'group.updated',
      'group.member_added',
      'user.suspended',
      'user.reactivated',
      'user.deactivated',
      'group.member_removed',
      'user.deleted',
      'group.deleted',
      'organization.updated',
      'organization.domain_removed',
    ]);
    for (const event of data) {
      expect(event.organizationId).toBe(org.id);
      expect(event.actor).toMatchObject({ type: 'api_key', name: 'test-admin' });
      expect(event.actor.requestId).toBeTruthy();
    }
    const updated = data.find((event) => event.type === 'user.updated');
    expect(updated?.data.changes).toEqual({ familyName: { from: null, to: 'Event' } });
    expect(updated?.subject.id).toBe(user.id);
  });

  it('writes no event when a change is refused or rolled back', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Rollback' } })).body;
    await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: 'taken@rollback.example.com' },
    });
    const start = (await eventsAfter(undefined)).nextCursor;

    expect(
      (
        await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
          body: { email: 'TAKEN@rollback.example.com' },
        })
      ).status,
    ).toBe(409);
    expect(
      (await t.api('POST', `/api/v1/organizations/${org.id}/users`, { body: { email: 'bad' } })).status,
    ).toBe(400);
    // A transaction that appends an event and then fails leaves neither the change nor the event.
    await expect(
      t.hub.database.transaction(async (tx) => {
        await t.hub.directory.createUser(
          org.id,
          { email: 'ghost@rollback.example.com' },
          { actor: { type: 'system' }, tx },
        );
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await t.hub.directory.findUserByEmail(org.id, 'ghost@rollback.example.com')).toBeUndefined();
    // Nothing changes, nothing is recorded.
    const user = (
      await t.api('GET', `/api/v1/organizations/${org.id}/users?email=taken@rollback.example.com`)
    ).body.data[0];
    await t.api('PATCH', `/api/v1/users/${user.id}`, { body: { email: user.email } });

    expect((await eventsAfter(start)).data).toEqual([]);
  });

  it('filters by type, type prefix, organization and subject, and pages by cursor', async () => {
    const a = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Filter A' } })).body;
    const b = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Filter B' } })).body;
    const ua = (
      await t.api('POST', `/api/v1/organizations/${a.id}/users`, { body: { email: 'a@filter.example.com' } })
    ).body;
    await t.api('POST', `/api/v1/organizations/${b.id}/users`, { body: { email: 'b@filter.example.com' } });
    await t.api('PATCH', `/api/v1/users/${ua.id}`, { body: { givenName: 'A' } });

    const userEventsOfA = await eventsAfter(undefined, `&organization=${a.slug}&types=user.*`);
    expect(userEventsOfA.data.map((event) => event.type)).toEqual(['user.created', 'user.updated']);
    const created = await eventsAfter(
      undefined,
      `&types=user.created,organization.created&organization=${b.id}`,
    );
    expect(created.data.map((event) => event.type)).toEqual(['organization.created', 'user.created']);
    const aboutUa = await eventsAfter(undefined, `&subject=${ua.id}`);
    expect(aboutUa.data).toHaveLength(2);

    // Page one event at a time: the same sequence as one read.
    const all = (await eventsAfter(undefined, `&organization=${a.id}`)).data;
    const paged: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await t.api(
        'GET',
        `/api/v1/events?limit=1&organization=${a.id}${cursor ? `&after=${cursor}` : ''}`,
      );
      if (page.body.data.length === 0) break;
      paged.push(page.body.data[0].id);
      cursor = page.body.nextCursor;
    }
    expect(paged).toEqual(all.map((event: any) => event.id));

    const bad = await t.api('GET', '/api/v1/events?after=garbage');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_cursor', field: 'after' });
  });

  it.runIf(databaseKind() === 'postgres')(
    'never hands out a cursor past an event whose transaction commits later',
    async () => {
      const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Late Commit' } })).body;
      const start = (await eventsAfter(undefined)).nextCursor;
      // Transaction 1 writes its event first but commits last.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let inserted: () => void = () => {};
      const firstInserted = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      const slow = t.hub.database.transaction(async (tx) => {
        await t.hub.directory.createUser(
          org.id,
          { email: 'slow@late.example.com' },
          { actor: { type: 'system' }, tx },
        );
        inserted();
        await held;
      });
      await firstInserted;
      await t.hub.directory.createUser(
        org.id,
        { email: 'fast@late.example.com' },
        { actor: { type: 'system' } },
      );
      // The committed event is available at once; the open transaction's is not yet.
      const during = await eventsAfter(start, `&organization=${org.id}`);
      expect(during.data.map((event) => event.data.user.email)).toEqual(['fast@late.example.com']);
      release();
      await slow;
      // Following from the cursor already handed out still finds the late one.
      const after = await eventsAfter(during.nextCursor, `&organization=${org.id}`);
      expect(after.data.map((event) => event.data.user.email)).toEqual(['slow@late.example.com']);
    },
  );

  it.runIf(databaseKind() === 'postgres')(
    'is not stalled by a long transaction in another database on the same server',
    async () => {
      const other = new pg.Client({ connectionString: inject('postgresAdminUrl') });
      await other.connect();
      try {
        await other.query('begin');
        await other.query('select pg_current_xact_id()'); // holds a transaction id, cluster-wide
        const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Unstalled' } })).body;
        const events = await eventsAfter(undefined, `&organization=${org.id}`);
        expect(events.data.map((event) => event.type)).toEqual(['organization.created']);
      } finally {
        await other.query('rollback');
        await other.end();
      }
    },
  );

  it('feeds consumers exactly once, committing their writes with the cursor', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Consumed' } })).body;
    const seen: string[] = [];
    // Start the consumer at the end of the log so far.
    while ((await t.hub.events.consumeBatch('test-consumer', async () => {})) > 0) {}
    for (const email of ['c1@consumed.example.com', 'c2@consumed.example.com']) {
      await t.api('POST', `/api/v1/organizations/${org.id}/users`, { body: { email } });
    }
    // A failing handler rolls back: the cursor does not move, the events come again.
    await expect(
      t.hub.events.consumeBatch('test-consumer', async () => {
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    const handle = async (_tx: unknown, events: readonly { type: string; data: any }[]) => {
      for (const event of events) seen.push(event.data.user?.email ?? event.type);
    };
    while ((await t.hub.events.consumeBatch('test-consumer', handle, { types: ['user.*'] })) > 0) {}
    expect(seen).toEqual(['c1@consumed.example.com', 'c2@consumed.example.com']);
    expect(await t.hub.events.consumeBatch('test-consumer', handle)).toBe(0);
    expect(await t.hub.events.consumerPosition('test-consumer')).toMatch(/^\d+$/);
  });
});
