import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, databaseKind, type TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => {
  await t?.close();
});

describe('transactions', () => {
  it('keep other callers out of an open transaction', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Tx Co' } })).body;
    let release: () => void = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const open = t.hub.database.transaction(async (tx) => {
      await t.hub.directory.createUser(
        org.id,
        { email: 'pending@tx.example.com' },
        { actor: { type: 'system' }, tx },
      );
      entered();
      await hold;
      throw new Error('abandon');
    });
    await inside;
    // Another caller, outside the transaction, never sees its uncommitted row.
    const outside = t.hub.directory.findUserByEmail(org.id, 'pending@tx.example.com');
    release();
    await expect(open).rejects.toThrow('abandon');
    expect(await outside).toBeUndefined();
    expect(await t.hub.directory.findUserByEmail(org.id, 'pending@tx.example.com')).toBeUndefined();
  });

  it.runIf(databaseKind() === 'embedded')(
    'route a stray query made inside a transaction into it instead of deadlocking the single connection',
    async () => {
      const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Stray Co' } })).body;
      const seen = await t.hub.database.transaction(async (tx) => {
        await t.hub.directory.createUser(
          org.id,
          { email: 'stray@tx.example.com' },
          { actor: { type: 'system' }, tx },
        );
        // No tx passed: on one connection this would wait for itself forever.
        return t.hub.directory.findUserByEmail(org.id, 'stray@tx.example.com');
      });
      expect(seen?.email).toBe('stray@tx.example.com');
      await expect(
        t.hub.database.transaction(async () =>
          t.hub.database.transaction(async (tx) => tx.execute(sql`select 1`)),
        ),
      ).rejects.toThrow(/transaction was opened inside another on the embedded database/);
      // The database is still usable afterwards.
      expect((await t.api('GET', `/api/v1/organizations/${org.id}`)).status).toBe(200);
    },
  );
});
