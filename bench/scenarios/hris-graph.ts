/**
 * HR sync from Microsoft Graph (delta queries): BENCH_HRIS_GRAPH_USERS people (default 100,000 on
 * PostgreSQL, a fifth on the embedded database) from the Graph fake, running in its own process so
 * the hub's peak RSS is the hub's.
 *
 * - full sync: a fresh users/delta round (999 a page) plus groups with transitive members;
 * - unchanged delta: the stored delta links return nothing; rows written must be zero;
 * - small delta: 100 changed people (their title), read whole and applied.
 *
 * Targets (issue 8, on PostgreSQL): full sync under 60 s, unchanged resync under 15 s, peak RSS
 * under 400 MB.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/platform/db/client.ts';
import { defineScenario, round } from '../harness.ts';

interface FakeInfo {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

function startFake(employees: number): Promise<{ child: ChildProcess; info: FakeInfo }> {
  const child = fork(
    fileURLToPath(new URL('../fakes/graph-process.ts', import.meta.url)),
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

function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message as object);
  });
}

export default defineScenario({
  name: 'hris-graph',
  description:
    'Microsoft Graph directory sync: full (users/delta + groups), unchanged delta (rows written), 100-change delta; PostgreSQL 100,000 people, embedded a fifth',
  async run(context) {
    const people = Number(
      process.env.BENCH_HRIS_GRAPH_USERS ?? (context.target === 'embedded' ? 20_000 : 100_000),
    );
    const { child, info } = await startFake(people);
    const bench = await context.startHub({ workers: false });
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
        },
      );
      const directoryId = directory.body.id;
      const sync = (mode: 'full' | 'incremental') =>
        bench.hub.hris.sync.run(orgId, directoryId, { trigger: 'manual', mode, pageSize: 999 });
      const footprint = async () => {
        const [row] = await queryRows<Record<string, unknown>>(
          bench.hub.database.db,
          sql`select
            (select count(*)::int from events where organization_id = ${orgId}) as events,
            (select coalesce(sum(version), 0)::bigint::text from users where organization_id = ${orgId}) as user_versions,
            (select coalesce(max(changed_at)::text, '') from hris_records where organization_id = ${orgId}) as records_changed`,
        );
        return row as { events: number; user_versions: string; records_changed: string };
      };

      context.log(`full sync of ${people} people`);
      let started = performance.now();
      const full = await sync('full');
      const fullMs = performance.now() - started;
      if (full.status !== 'succeeded')
        throw new Error(`full sync ${full.status}: ${JSON.stringify(full.error)}`);
      context.record('full sync', {
        unit: 'person',
        count: full.stats.read,
        throughput: round(full.stats.read / (fullMs / 1000)),
        extra: { seconds: round(fullMs / 1000), created: full.stats.created, pages: full.stats.pages },
      });

      const before = await footprint();
      started = performance.now();
      const unchanged = await sync('incremental');
      const unchangedMs = performance.now() - started;
      const after = await footprint();
      const rowsWritten =
        after.events -
        before.events +
        (after.user_versions === before.user_versions ? 0 : 1) +
        (after.records_changed === before.records_changed ? 0 : 1);
      context.record('unchanged delta', {
        unit: 'run',
        count: 1,
        throughput: round(1000 / unchangedMs),
        extra: {
          seconds: round(unchangedMs / 1000, 3),
          read: unchanged.stats.read,
          rowsWritten,
          status: unchanged.status,
        },
      });

      await ask(child, { change: 100 });
      started = performance.now();
      const small = await sync('incremental');
      const smallMs = performance.now() - started;
      context.record('100-change delta', {
        unit: 'person',
        count: small.stats.read,
        throughput: round(small.stats.read / (smallMs / 1000)),
        extra: { seconds: round(smallMs / 1000, 3), updated: small.stats.updated },
      });
      context.note('the Graph fake runs in a child process; peak RSS is the hub process only');
    } finally {
      await bench.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ close: true });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill();
    }
  },
});
