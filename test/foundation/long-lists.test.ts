/**
 * Lists longer than a statement's 65,535 parameters (a directory group of 100,000 members, a
 * page of source ids): each is bound as one parameter, so the protocol's count never wraps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteMemberships,
  insertMemberships,
  knownUserIds,
} from '../../src/modules/directory/repository.ts';
import { recordHashes, recordsBySourceIds } from '../../src/modules/hris/repository.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => {
  await t?.close();
});

const many = (prefix: string, count = 70_000) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('lists past the parameter limit', () => {
  it('find, add and remove group members by 70,000 ids', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Long Lists' } })).body;
    const ada = await t.hub.directory.createUser(
      org.id,
      { email: 'ada@long.example.com' },
      { actor: { type: 'system' } },
    );
    const group = await t.hub.directory.createGroup(
      org.id,
      { name: 'Everyone' },
      { actor: { type: 'system' } },
    );
    const ids = [...many('usr_missing_'), ada.id];
    const db = t.hub.database.db;
    expect(await knownUserIds(db, org.id, ids)).toEqual(new Set([ada.id]));
    expect(await insertMemberships(db, org.id, group.id, [ada.id], 'test')).toEqual([ada.id]);
    expect(await insertMemberships(db, org.id, group.id, [ada.id], 'test')).toEqual([]);
    expect(await deleteMemberships(db, org.id, group.id, ids)).toEqual([ada.id]);
  });

  it('look up 70,000 HR source ids at once', async () => {
    const db = t.hub.database.db;
    expect(await recordHashes(db, 'org_none', 'dir_none', many('p'))).toEqual([]);
    expect(await recordsBySourceIds(db, 'org_none', 'dir_none', many('p'))).toEqual([]);
  });
});
