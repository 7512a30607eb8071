/**
 * Microsoft Graph delta figures, shared by the `hris-graph` scenario and the Graph part of
 * `hris-sync`: `people` users served by the Graph fake in its own process (so the hub's peak RSS
 * is the hub's), synced into a fresh organization of the given hub:
 *
 * - full sync: a fresh users/delta round (999 a page) plus groups with transitive members;
 * - unchanged delta: the stored delta links return nothing; rows written must be zero;
 * - 1% changed delta: that many people changed (their title), read whole and applied.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/platform/db/client.ts';
import { type BenchContext, type BenchHub, round } from './harness.ts';

interface FakeInfo {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

function startFake(employees: number): Promise<{ child: ChildProcess; info: FakeInfo }> {
  const child = fork(
    fileURLToPath(new URL('./fakes/graph-process.ts', import.meta.url)),
    [String(employees)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (message) => resolve({ child, info: message as FakeInfo }));
  });
}

function ask<T>(child: ChildProcess, message: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

/** Rows a sync changed for the organization since `since` (users, HR records, events). */
async function rowsWritten(bench: BenchHub, orgId: string, since: Date): Promise<number> {
  const [row] = await queryRows<{ users: number; records: number; events: number }>(
    bench.hub.database.db,
    sql`select
      (select count(*)::int from users where organization_id = ${orgId} and updated_at >= ${since}) as users,
      (select count(*)::int from hris_records where organization_id = ${orgId} and changed_at >= ${since}) as records,
      (select count(*)::int from events where organization_id = ${orgId} and occurred_at >= ${since}) as events`,
  );
  return row ? row.users + row.records + row.events : -1;
}

export async function graphDeltaFigures(
  context: BenchContext,
  bench: BenchHub,
  people: number,
  prefix = '',
): Promise<void> {
  const { child, info } = await startFake(people);
  try {
    const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
      name: 'Graph Bench Corp',
    });
    const orgId = org.body.id;
    const directory = await bench.request<{ id: string }>(
      'POST',
      `/api/v1/organizations/${orgId}/hris/directories`,
      {
        name: 'Entra ID',
        kind: 'directory',
        provider: 'microsoft_graph',
        config: { tenantId: info.tenantId, authorityUrl: info.url, graphUrl: info.url },
        credentials: { clientId: info.clientId, clientSecret: info.clientSecret },
        joiners: 'create',
        schedule: { intervalMinutes: null },
      },
    );
    const sync = (mode: 'full' | 'incremental') =>
      bench.hub.hris.sync.run(orgId, directory.body.id, { trigger: 'manual', mode, pageSize: 999 });

    context.log(`${prefix}Graph full sync of ${people} people`);
    let started = performance.now();
    const full = await sync('full');
    const fullMs = performance.now() - started;
    if (full.status !== 'succeeded')
      throw new Error(`Graph full sync ${full.status}: ${full.error?.message}`);
    context.record(`${prefix}full sync (Graph delta)`, {
      unit: 'person',
      count: full.stats.read,
      throughput: round(full.stats.read / (fullMs / 1000)),
      extra: { seconds: round(fullMs / 1000, 1), created: full.stats.created, pages: full.stats.pages },
    });

    let since = new Date();
    started = performance.now();
    const unchanged = await sync('incremental');
    const unchangedMs = performance.now() - started;
    context.record(`${prefix}unchanged delta`, {
      unit: 'run',
      count: 1,
      throughput: round(1000 / unchangedMs),
      extra: {
        seconds: round(unchangedMs / 1000, 3),
        read: unchanged.stats.read,
        rowsWritten: await rowsWritten(bench, orgId, since),
        status: unchanged.status,
      },
    });

    const changed = Math.max(1, Math.floor(people / 100));
    await ask(child, { change: changed });
    since = new Date();
    started = performance.now();
    const delta = await sync('incremental');
    const deltaMs = performance.now() - started;
    context.record(`${prefix}1% changed delta`, {
      unit: 'person',
      count: delta.stats.read,
      throughput: round(delta.stats.read / (deltaMs / 1000)),
      extra: {
        seconds: round(deltaMs / 1000, 2),
        updated: delta.stats.updated,
        rowsWritten: await rowsWritten(bench, orgId, since),
      },
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ close: true });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null) child.kill();
  }
}
