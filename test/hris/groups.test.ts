/**
 * Groups from directory sources (the engine's side of Google Workspace and Graph): a source group
 * becomes a Switchboard group with group.* events; its members from this source follow the
 * source's list or delta; members added by an admin stay; a deleted source group is deleted.
 * The connector here is a stand-in that serves pages from memory.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EmployeePage, SourceGroup } from '../../src/connectors/hris-contract.ts';
import { defineHrConnector } from '../../src/connectors/hris-contract.ts';
import { mapSourceRecord } from '../../src/connectors/hris-mapping.ts';
import { registerHrConnector } from '../../src/connectors/hris-registry.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, eventTypes, syncNow, writeFootprint } from './support.ts';

const source: { people: Array<{ id: string; email: string }>; groups: SourceGroup[] } = {
  people: [],
  groups: [],
};

registerHrConnector(
  defineHrConnector({
    manifest: {
      provider: 'memory_directory',
      displayName: 'In-memory directory',
      kinds: ['directory'],
      auth: { mode: 'api_key_bearer', refreshOn: [] },
      baseUrl: 'memory:',
      pagination: { style: 'none', maxPageSize: 1000, defaultPageSize: 1000 },
      rateLimit: { throttleStatuses: [429], minRetryMs: 0, maxRetries: 0, maxRetryAfterMs: 0, notes: '' },
      incremental: { supported: false, signalsDeletions: false },
      capabilities: { groups: true, jobHistory: false, customFields: false },
      configSchema: z.object({}).strict(),
      credentialsSchema: z.object({ token: z.string() }).strict(),
      defaultMapping: { fields: { workEmail: 'email', employeeNumber: 'id' }, custom: {}, values: {} },
    },
    createClient: () => ({
      testConnection: async () => ({ ok: true, detail: 'memory' }),
      listSourceFields: async () => [{ key: 'email', label: 'Email' }],
      async *readEmployees(): AsyncGenerator<EmployeePage> {
        yield {
          records: source.people.map((person) => ({
            sourceId: person.id,
            fields: { id: person.id, email: person.email },
          })),
          checkpoint: 'people',
        };
        yield { records: [], groups: source.groups, checkpoint: null };
      },
    }),
    mapToCanonical: mapSourceRecord,
  }),
);

let t: TestHub;
let orgId: string;
let directoryId: string;

const groupNamed = async (name: string) =>
  (await t.api('GET', `/api/v1/organizations/${orgId}/groups?q=${encodeURIComponent(name)}`)).body.data.find(
    (group: { name: string }) => group.name === name,
  );
const membersOf = async (groupId: string) =>
  (await t.api('GET', `/api/v1/groups/${groupId}/members?limit=100`)).body.data
    .map((user: { email: string }) => user.email)
    .sort();

beforeAll(async () => {
  t = await createTestHub();
  orgId = await createOrganization(t, 'Groups Corp');
  source.people = [1, 2, 3].map((n) => ({ id: `u${n}`, email: `member${n}@groups.test` }));
  source.groups = [{ sourceId: 'g1', name: 'Engineering', memberIds: ['u1', 'u2'] }];
  directoryId = (
    await createPullDirectory(t, orgId, {
      name: 'Directory',
      kind: 'directory',
      provider: 'memory_directory',
      credentials: { token: 'x' },
      joiners: 'create',
    })
  ).id;
});

afterAll(async () => {
  await t.close();
});

describe('groups from a directory source', () => {
  it('creates the group with its members (group.created, group.member_added)', async () => {
    const run = await syncNow(t, orgId, directoryId);
    expect(run.status).toBe('succeeded');
    const group = await groupNamed('Engineering');
    expect(group).toMatchObject({ source: 'hris', externalIds: { [`dir:${directoryId}`]: 'g1' } });
    expect(await membersOf(group.id)).toEqual(['member1@groups.test', 'member2@groups.test']);
    const types = await eventTypes(t, orgId);
    expect(types).toContain('group.created');
    expect(types.filter((type) => type === 'group.member_added')).toHaveLength(2);
  });

  it('follows the source list, keeps members an admin added, and writes nothing when unchanged', async () => {
    const group = await groupNamed('Engineering');
    const third = (await t.api('GET', `/api/v1/organizations/${orgId}/users?q=member3`)).body.data[0];
    const admin = await t.api('POST', `/api/v1/organizations/${orgId}/users`, {
      body: { email: 'admin.pick@groups.test' },
    });
    await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [admin.body.id] } });
    source.groups = [{ sourceId: 'g1', name: 'Engineering', memberIds: ['u2', 'u3'] }];
    await syncNow(t, orgId, directoryId);
    expect(await membersOf(group.id)).toEqual([
      'admin.pick@groups.test',
      'member2@groups.test',
      'member3@groups.test',
    ]);
    expect(third.email).toBe('member3@groups.test');
    const before = await writeFootprint(t, orgId);
    await syncNow(t, orgId, directoryId);
    expect(await writeFootprint(t, orgId)).toEqual(before);
  });

  it('applies member deltas and renames, and deletes the group when the source deletes it', async () => {
    source.groups = [
      { sourceId: 'g1', name: 'Engineering & Data', membersDelta: { added: ['u1'], removed: ['u3'] } },
    ];
    await syncNow(t, orgId, directoryId);
    const renamed = await groupNamed('Engineering & Data');
    expect(await membersOf(renamed.id)).toEqual([
      'admin.pick@groups.test',
      'member1@groups.test',
      'member2@groups.test',
    ]);
    source.groups = [{ sourceId: 'g1', name: 'Engineering & Data', removed: true }];
    await syncNow(t, orgId, directoryId);
    expect(await groupNamed('Engineering & Data')).toBeUndefined();
    expect(await eventTypes(t, orgId)).toContain('group.deleted');
  });
});
