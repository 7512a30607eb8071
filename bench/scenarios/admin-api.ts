/**
 * Admin API: user creation and user search over HTTP with keep-alive, concurrency 10.
 * Sizes: BENCH_ADMIN_USERS (default 5000 creates), BENCH_ADMIN_SEARCHES (default 2000).
 */
import { defineScenario, runLoad, summarize } from '../harness.ts';

const USERS = Number(process.env.BENCH_ADMIN_USERS ?? 5000);
const SEARCHES = Number(process.env.BENCH_ADMIN_SEARCHES ?? 2000);
const CONCURRENCY = 10;
const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Ken',
  'Radia',
  'Leslie',
];

export default defineScenario({
  name: 'admin-api',
  description: `admin API: ${USERS} user creates, then ${SEARCHES} searches (email prefix and name), concurrency ${CONCURRENCY}`,
  async run(context) {
    const bench = await context.startHub({ workers: false });
    try {
      const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
        name: 'Bench Corp',
      });
      const orgId = org.body.id;
      // Warm-up: JIT and connection pools.
      for (let i = 0; i < 50; i++) {
        await bench.request('POST', `/api/v1/organizations/${orgId}/users`, {
          email: `warmup${i}@bench.example.com`,
        });
      }
      const creates = await runLoad({
        total: USERS,
        concurrency: CONCURRENCY,
        task: async (i) => {
          await bench.request('POST', `/api/v1/organizations/${orgId}/users`, {
            email: `user${i}@bench.example.com`,
            givenName: FIRST_NAMES[i % FIRST_NAMES.length],
            familyName: `Person${i}`,
            profile: { department: `Dept ${i % 20}`, title: 'Engineer' },
          });
        },
      });
      context.record('user create', summarize(creates.latencies, creates.durationMs));
      const searches = await runLoad({
        total: SEARCHES,
        concurrency: CONCURRENCY,
        task: async (i) => {
          const q = i % 2 === 0 ? `user${i % USERS}` : FIRST_NAMES[i % FIRST_NAMES.length];
          await bench.request(
            'GET',
            `/api/v1/organizations/${orgId}/users?q=${encodeURIComponent(String(q))}&limit=20`,
          );
        },
      });
      context.record('user search', summarize(searches.latencies, searches.durationMs));
      context.log(`${USERS} users created, ${SEARCHES} searches`);
    } finally {
      await bench.close();
    }
  },
});
