/**
 * HR sync at scale: BENCH_HRIS_EMPLOYEES (default 100,000) people served by the Personio fake
 * (test/fakes/personio, Personio's 100-per-page cap, its published rate limits turned off so the
 * figures measure the hub, not Personio's quota), synced into a fresh organization that creates a
 * user per person.
 *
 * Figures: the first full sync (users, HR records, user.created events), an unchanged full resync
 * (target: 0 rows written), an unchanged incremental resync, and an incremental sync after 1% of
 * the people changed. "Rows written" counts users, HR records and events changed by a sync; the
 * run's own bookkeeping (its run row, the directory's sync state) is reported apart. The fake runs
 * in a child process (bench/personio-fake-process.ts), so peak RSS is the hub's.
 *
 * Then the same for Microsoft Graph delta queries (bench/hris-graph-delta.ts, the Graph fake in its
 * own process): full sync, unchanged delta (rows written), 1% changed delta; BENCH_HRIS_GRAPH=0
 * skips it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/platform/db/client.ts';
import { type BenchHub, defineScenario, round } from '../harness.ts';
import { graphDeltaFigures } from '../hris-graph-delta.ts';

const EMPLOYEES = Number(process.env.BENCH_HRIS_EMPLOYEES ?? 100_000);

/** The Personio fake in a child process (bench/personio-fake-process.ts), driven over IPC. */
async function startFakeProcess() {
  const child: ChildProcess = fork(fileURLToPath(new URL('../personio-fake-process.ts', import.meta.url)), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = () =>
    new Promise<{ config: Record<string, unknown>; credentials: Record<string, unknown> }>(
      (resolve, reject) => {
        child.once('message', (message) => resolve(message as never));
        child.once('exit', (code) => reject(new Error(`Personio fake exited (${code})`)));
      },
    );
  const ready = await reply();
  return {
    config: ready.config,
    credentials: ready.credentials,
    async send(command: Record<string, unknown>) {
      const done = reply();
      child.send(command);
      await done;
    },
    close() {
      child.send({ type: 'close' });
    },
  };
}

async function footprint(bench: BenchHub, orgId: string, since: Date) {
  const [row] = await queryRows<{ users: number; records: number; events: number; runs: number }>(
    bench.hub.database.db,
    sql`select
      (select count(*)::int from users where organization_id = ${orgId} and updated_at >= ${since}) as users,
      (select count(*)::int from hris_records where organization_id = ${orgId} and changed_at >= ${since}) as records,
      (select count(*)::int from events where organization_id = ${orgId} and occurred_at >= ${since}) as events,
      (select count(*)::int from hris_sync_runs where organization_id = ${orgId}) as runs`,
  );
  return row as { users: number; records: number; events: number; runs: number };
}

export default defineScenario({
  name: 'hris-sync',
  description: `HR sync: ${EMPLOYEES} employees from the Personio fake; full sync, unchanged resyncs (rows written), 1% change`,
  async run(context) {
    const bench = await context.startHub({ workers: false });
    const fake = await startFakeProcess();
    try {
      await fake.send({ type: 'seed', count: EMPLOYEES });
      const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', { name: 'Bench HR' });
      const orgId = org.body.id;
      const directory = await bench.request<{ id: string }>(
        'POST',
        `/api/v1/organizations/${orgId}/hris/directories`,
        {
          name: 'Personio',
          provider: 'personio',
          config: fake.config,
          credentials: fake.credentials,
          joiners: 'create',
          schedule: { intervalMinutes: null },
          mapping: { fields: { level: 'dynamic_24407' }, custom: { shirtSize: 'dynamic_24407' } },
        },
      );
      const sync = (mode: 'full' | 'incremental') =>
        bench.hub.hris.sync.run(orgId, directory.body.id, { trigger: 'manual', mode });

      const t0 = performance.now();
      const full = await sync('full');
      const fullMs = performance.now() - t0;
      if (full.status !== 'succeeded') throw new Error(`full sync failed: ${full.error?.message}`);
      context.record('full sync', {
        unit: 'employee',
        count: full.stats.read,
        throughput: round(full.stats.read / (fullMs / 1000)),
        extra: {
          seconds: round(fullMs / 1000, 1),
          pages: full.stats.pages,
          usersCreated: full.stats.usersCreated,
        },
      });
      context.log(`full sync: ${round(fullMs / 1000, 1)} s, ${full.stats.usersCreated} users`);

      const since = new Date();
      const t1 = performance.now();
      const resync = await sync('full');
      const resyncMs = performance.now() - t1;
      const written = await footprint(bench, orgId, since);
      context.record('unchanged full resync', {
        unit: 'employee',
        count: resync.stats.read,
        throughput: round(resync.stats.read / (resyncMs / 1000)),
        extra: {
          seconds: round(resyncMs / 1000, 1),
          rowsWritten: written.users + written.records + written.events,
          unchanged: resync.stats.unchanged,
        },
      });
      context.log(
        `unchanged full resync: ${round(resyncMs / 1000, 1)} s, rows written ${written.users + written.records + written.events}`,
      );

      const since2 = new Date();
      const t2 = performance.now();
      const incremental = await sync('incremental');
      const incrementalMs = performance.now() - t2;
      const written2 = await footprint(bench, orgId, since2);
      context.record('unchanged incremental resync', {
        unit: 'run',
        count: 1,
        throughput: round(1000 / incrementalMs),
        extra: {
          seconds: round(incrementalMs / 1000, 2),
          read: incremental.stats.read,
          rowsWritten: written2.users + written2.records + written2.events,
        },
      });

      const changed = Math.max(1, Math.floor(EMPLOYEES / 100));
      await fake.send({
        type: 'touch',
        ids: [
          ...new Set(
            Array.from({ length: changed }, (_, index) => String(((index + 1) * 97) % EMPLOYEES || 1)),
          ),
        ],
      });
      const since3 = new Date();
      const t3 = performance.now();
      const delta = await sync('incremental');
      const deltaMs = performance.now() - t3;
      const written3 = await footprint(bench, orgId, since3);
      context.record('1% changed, incremental', {
        unit: 'employee',
        count: delta.stats.read,
        throughput: round(delta.stats.read / (deltaMs / 1000)),
        extra: {
          seconds: round(deltaMs / 1000, 2),
          updated: delta.stats.updated,
          users: written3.users,
          events: written3.events,
        },
      });
      context.note(
        'rows written = users + hris_records + events changed by the run; each run also writes its own run row and the directory sync state',
      );
      context.note("the Personio fake runs in a child process: peak RSS and CPU are the hub's alone");
      // Graph delta (issue 8): the same number of people from the Graph fake, in its own process.
      if (process.env.BENCH_HRIS_GRAPH !== '0') await graphDeltaFigures(context, bench, EMPLOYEES, 'graph: ');
    } finally {
      fake.close();
      await bench.close();
    }
  },
});
