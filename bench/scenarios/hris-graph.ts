/**
 * HR sync from Microsoft Graph (delta queries) alone: BENCH_HRIS_GRAPH_USERS people (default
 * 100,000 on PostgreSQL, a fifth on the embedded database); see bench/hris-graph-delta.ts for the
 * figures. `hris-sync` runs the same figures after its Personio ones.
 *
 * Targets (issue 8, on PostgreSQL): full sync under 60 s, unchanged resync under 15 s, peak RSS
 * under 400 MB.
 */

import { defineScenario } from '../harness.ts';
import { graphDeltaFigures } from '../hris-graph-delta.ts';

export default defineScenario({
  name: 'hris-graph',
  description:
    'Microsoft Graph directory sync: full (users/delta + groups), unchanged delta (rows written), 1% changed delta; PostgreSQL 100,000 people, embedded a fifth',
  async run(context) {
    const people = Number(
      process.env.BENCH_HRIS_GRAPH_USERS ?? (context.target === 'embedded' ? 20_000 : 100_000),
    );
    const bench = await context.startHub({ workers: false });
    try {
      await graphDeltaFigures(context, bench, people);
      context.note('the Graph fake runs in a child process; peak RSS is the hub process only');
    } finally {
      await bench.close();
    }
  },
});
