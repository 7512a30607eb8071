/**
 * Provisioning: people × (Thinkific account + 2 course enrollments + 1 LMS group) through the
 * orchestrator (rule created → backfill → sync jobs on pg-boss → connector core → Thinkific fake).
 *
 * 1. Rate-limited: the fake allows R requests/second (token bucket, 429 + RateLimit-Reset beyond
 *    it) and the destination is told the same limit. Reports the requests/second achieved as a
 *    fraction of R (target ≥ 0.95), the 429s after the first, and the total time.
 * 2. Unlimited: no limit at the fake or the destination: sync jobs per second through the queue.
 *
 * Sizes (environment): BENCH_PROVISIONING_USERS (default 1,000 on PostgreSQL, 500 embedded; the
 * issue's 5,000 at a sensible R takes ~8 minutes per target), BENCH_PROVISIONING_RATE (R, default
 * 50 requests/second), BENCH_PROVISIONING_UNLIMITED_USERS (default: the same as USERS).
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/platform/db/client.ts';
import { FakeThinkific } from '../../test/fakes/thinkific/server.ts';
import { type BenchContext, type BenchHub, defineScenario, round } from '../harness.ts';

const WORKERS = 16;

async function createPeople(bench: BenchHub, organizationId: string, count: number, group: string) {
  const actor = { actor: { type: 'system' as const, name: 'bench' }, source: 'import' };
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const user = await bench.hub.directory.createUser(
      organizationId,
      { email: `learner${index}@bench.example.com`, givenName: `Learner${index}`, familyName: 'Bench' },
      actor,
    );
    ids.push(user.id);
  }
  const created = await bench.hub.directory.createGroup(organizationId, { name: group }, actor);
  for (let index = 0; index < ids.length; index += 500) {
    await bench.hub.directory.addMembers(created.id, ids.slice(index, index + 500), actor);
  }
}

async function run(
  context: BenchContext,
  options: { users: number; rate: number | null; label: string },
): Promise<void> {
  const fake = await new FakeThinkific({
    rateLimit: options.rate ? { requests: options.rate, perSeconds: 1 } : null,
    resetStyle: 'epoch',
  }).start();
  const bench = await context.startHub({
    env: { PROVISIONING_WORKER_CONCURRENCY: String(WORKERS), PROVISIONING_RECONCILE_CRON: '' },
  });
  try {
    const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
      name: `Bench ${options.label}`,
    });
    const organizationId = org.body.id;
    const destination = await bench.request<{ id: string }>(
      'POST',
      `/api/v1/organizations/${organizationId}/destinations`,
      {
        kind: 'thinkific',
        name: 'Academy',
        settings: { baseUrl: fake.url, subdomain: fake.subdomain },
        credentials: { apiKey: fake.apiKey },
        rateLimit: options.rate
          ? { requests: options.rate, perSeconds: 1 }
          : { requests: 100_000, perSeconds: 1 },
        concurrency: 16,
      },
    );
    context.log(`${options.label}: creating ${options.users} people`);
    await createPeople(bench, organizationId, options.users, 'Learners');
    // Let the consumer pass the directory events (no rule yet: nothing to do) before timing.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const started = performance.now();
    await bench.request('POST', `/api/v1/organizations/${organizationId}/provisioning/rules`, {
      name: 'Learners',
      condition: { group: 'Learners' },
      effects: [
        {
          destinationId: destination.body.id,
          enrollments: [{ id: 101 }, { id: 102 }],
          groups: ['Bench Cohort'],
        },
      ],
    });
    const deadline = Date.now() + 60 * 60 * 1000;
    let synced = 0;
    let lastLog = Date.now();
    while (synced < options.users) {
      if (Date.now() > deadline) throw new Error(`${options.label}: only ${synced}/${options.users} synced`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      const rows = await queryRows<{ count: number }>(
        bench.hub.database.db,
        sql`select count(*)::int as count from provisioning_states
             where destination_id = ${destination.body.id} and status = 'synced'`,
      );
      synced = rows[0]?.count ?? 0;
      if (Date.now() - lastLog > 15_000) {
        context.log(`${options.label}: ${synced}/${options.users} synced, ${fake.log.length} requests`);
        lastLog = Date.now();
      }
    }
    const totalMs = performance.now() - started;
    const accepted = fake.log.filter((entry) => entry.status !== 429);
    const rejected = fake.log.length - accepted.length;
    const first = accepted[0]?.at ?? 0;
    const last = accepted.at(-1)?.at ?? first;
    const spanSeconds = Math.max(0.001, (last - first) / 1000);
    const achieved = accepted.length / spanSeconds;
    const duplicates = fake.enrollments.length - options.users * 2;
    if (
      fake.users.length !== options.users ||
      duplicates !== 0 ||
      fake.groupNamesOf('learner0@bench.example.com').length !== 1
    ) {
      throw new Error(
        `${options.label}: ${fake.users.length} users, ${fake.enrollments.length} enrollments in the fake`,
      );
    }
    const extra: Record<string, number | string> = {
      users: options.users,
      requests: accepted.length,
      requestsPerUser: round(accepted.length / options.users),
      totalSeconds: round(totalMs / 1000),
      responses429: rejected,
      responses429AfterFirst: Math.max(0, rejected - 1),
    };
    if (options.rate) {
      extra.limit = options.rate;
      extra.achievedRequestsPerSecond = round(achieved);
      extra.fractionOfLimit = round(achieved / options.rate, 3);
    }
    context.record(options.label, {
      unit: 'user (sync job)',
      count: options.users,
      throughput: round((options.users / totalMs) * 1000),
      extra,
    });
    context.log(
      `${options.label}: ${options.users} users in ${round(totalMs / 1000)} s, ${round(achieved)} req/s` +
        (options.rate ? ` (${round(achieved / options.rate, 3)} of ${options.rate}), ${rejected} × 429` : ''),
    );
  } finally {
    await bench.close();
    await fake.stop();
  }
}

export default defineScenario({
  name: 'provisioning',
  description:
    'Provisioning people × (account + 2 enrollments + 1 group) into the Thinkific fake: at a limit of R requests/s (achieved fraction of R, 429s) and unlimited (sync jobs/s)',
  async run(context) {
    const users = Number(
      process.env.BENCH_PROVISIONING_USERS ?? (context.target === 'embedded' ? 500 : 1000),
    );
    const rate = Number(process.env.BENCH_PROVISIONING_RATE ?? 50);
    const unlimited = Number(process.env.BENCH_PROVISIONING_UNLIMITED_USERS ?? users);
    await run(context, { users, rate, label: `limited to ${rate} req/s` });
    await run(context, { users: unlimited, rate: null, label: 'unlimited' });
    context.note(
      `Sync job per person: find user (by email, then by external id: 2 requests), create user, 2 enrollments, 1 group add = 6 requests; ${WORKERS} workers, destination concurrency 16. When the fraction of R is low, compare with the unlimited run: the hub's own capacity (shared 2-core machine) was below R.`,
    );
  },
});
