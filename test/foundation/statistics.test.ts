import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/db/client.ts';
import { StatisticsKeeper, VacuumKeeper } from '../../src/platform/db/statistics.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await createTestHub();
  const db = t.hub.database.db;
  await db.execute(sql`create table if not exists statistics_probe (id int primary key, note text)`);
  await db.execute(sql`create table if not exists statistics_large (id int primary key)`);
  await db.execute(sql`insert into statistics_large select n from generate_series(1, 20000) n`);
  await db.execute(sql`analyze statistics_large`);
});
afterAll(async () => {
  await t?.hub.database.db.execute(sql`drop table if exists statistics_probe, statistics_large`);
  await t?.close();
});

async function estimate(table: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    t.hub.database.db,
    sql`select reltuples::float8 as n from pg_class where oid = ${table}::regclass`,
  );
  return Number(row?.n);
}

async function insertProbe(from: number, to: number): Promise<void> {
  await t.hub.database.db.execute(
    sql`insert into statistics_probe select n, 'row ' || n from generate_series(${from}::int, ${to}::int) n`,
  );
}

describe('StatisticsKeeper', () => {
  it('re-analyzes a table a job grows from nothing each time it has doubled', async () => {
    const keeper = new StatisticsKeeper(t.hub.database.db, ['statistics_probe']);
    await insertProbe(1, 600);
    await keeper.grew({ statistics_probe: 600 });
    expect(keeper.analyses).toBe(0); // too few rows to plan badly

    await insertProbe(601, 1500);
    await keeper.grew({ statistics_probe: 900 });
    expect(keeper.analyses).toBe(1);
    expect(await estimate('statistics_probe')).toBe(1500);

    await insertProbe(1501, 2500);
    await keeper.grew({ statistics_probe: 1000 });
    expect(keeper.analyses).toBe(1); // 1,000 more on 1,500: not yet doubled

    await insertProbe(2501, 3000);
    await keeper.grew({ statistics_probe: 500 });
    expect(keeper.analyses).toBe(2);
    expect(await estimate('statistics_probe')).toBe(3000);
  });

  it('leaves a large, analyzed table alone while a job adds a small share to it', async () => {
    const keeper = new StatisticsKeeper(t.hub.database.db, ['statistics_large', 'statistics_probe']);
    await keeper.grew({ statistics_large: 5000, statistics_probe: 0 });
    expect(keeper.analyses).toBe(0);
    await keeper.grew({ statistics_large: 16000 });
    expect(keeper.analyses).toBe(1);
  });

  it("scopes growth to one organization's rows, which a large table's statistics do not show", async () => {
    await t.hub.database.db.execute(
      sql`create table if not exists statistics_scoped (organization_id text, id int, primary key (organization_id, id))`,
    );
    await t.hub.database.db.execute(
      sql`insert into statistics_scoped select 'org_big', n from generate_series(1, 20000) n`,
    );
    await t.hub.database.db.execute(sql`analyze statistics_scoped`);
    const keeper = await StatisticsKeeper.forOrganization(
      t.hub.database.db,
      ['statistics_scoped'],
      'org_new',
    );
    await keeper.grew({ statistics_scoped: 1200 });
    expect(keeper.analyses).toBe(1); // a new organization doubled, though the table grew 6%
    await t.hub.database.db.execute(sql`drop table statistics_scoped`);
  });

  it('refuses anything but a plain table name', () => {
    expect(() => new StatisticsKeeper(t.hub.database.db, ['users; drop table users'])).toThrow(
      /Not a table name/,
    );
  });
});

describe('VacuumKeeper', () => {
  it('vacuums a table after enough changes when no autovacuum runs, and never throws', async () => {
    const [setting] = await queryRows<{ on: boolean }>(
      t.hub.database.db,
      sql`select current_setting('autovacuum') = 'on' as on`,
    );
    const errors: unknown[] = [];
    const keeper = new VacuumKeeper(t.hub.database, 'statistics_large', {
      threshold: 1000,
      onError: (error) => errors.push(error),
    });
    await t.hub.database.db.execute(sql`update statistics_large set id = id where id <= 1500`);
    await keeper.changed(600);
    expect(keeper.vacuums).toBe(0);
    await keeper.changed(900);
    expect(errors).toEqual([]);
    expect(keeper.vacuums).toBe(setting?.on ? 0 : 1);

    const broken = new VacuumKeeper(t.hub.database, 'no_such_table', {
      threshold: 1,
      onError: (error) => errors.push(error),
    });
    await broken.changed(5);
    expect(errors).toHaveLength(setting?.on ? 0 : 1);
  });
});
