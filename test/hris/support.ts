/** Shared setup of the HR sync tests: a hub, an organization, a fake HR system, a pull directory. */
import { sql } from 'drizzle-orm';
import type { SyncRunView } from '../../src/modules/hris/index.ts';
import { queryRows } from '../../src/platform/db/client.ts';
import { instantEnv } from '../connectors/hris-contract.ts';
import type { TestHub } from '../support/hub.ts';

export async function createOrganization(t: TestHub, name = 'Acme HR'): Promise<string> {
  const res = await t.api('POST', '/api/v1/organizations', { body: { name } });
  if (res.status !== 201) throw new Error(`organization: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function createPullDirectory(
  t: TestHub,
  orgId: string,
  body: Record<string, unknown>,
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await t.api('POST', `/api/v1/organizations/${orgId}/hris/directories`, { body });
  if (res.status !== 201) throw new Error(`directory: ${res.status} ${res.text}`);
  return res.body;
}

/** Runs a sync in-process with instant waits (no test sleeps on Retry-After). */
export function syncNow(
  t: TestHub,
  orgId: string,
  directoryId: string,
  options: { mode?: 'auto' | 'full' | 'incremental'; pageSize?: number; waits?: number[] } = {},
): Promise<SyncRunView> {
  return t.hub.hris.sync.run(orgId, directoryId, {
    trigger: 'manual',
    mode: options.mode ?? 'auto',
    env: instantEnv(options.waits ?? []),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
}

/** Rows in the tables a sync writes, and the newest change time of each: "did anything get written?". */
export async function writeFootprint(t: TestHub, orgId: string) {
  const [row] = await queryRows<Record<string, unknown>>(
    t.hub.database.db,
    sql`
    select
      (select count(*)::int from events where organization_id = ${orgId}) as events,
      (select coalesce(max(version), 0)::int + count(*)::int from users where organization_id = ${orgId}) as user_versions,
      (select coalesce(max(updated_at)::text, '') from users where organization_id = ${orgId}) as users_updated,
      (select coalesce(max(changed_at)::text, '') from hris_records where organization_id = ${orgId}) as records_changed,
      (select count(*)::int from hris_records where organization_id = ${orgId}) as records`,
  );
  return row;
}

export async function eventTypes(t: TestHub, orgId: string, after = 0): Promise<string[]> {
  const rows = await queryRows<{ type: string }>(
    t.hub.database.db,
    sql`select type from events where organization_id = ${orgId} order by id`,
  );
  return rows.slice(after).map((row) => row.type);
}
