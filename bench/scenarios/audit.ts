/**
 * Audit log and organization overview on a large event log: the queries the console runs on every
 * overview page and audit search, with the log of many organizations around them.
 *
 * The log is bulk-loaded with SQL (BENCH_AUDIT_EVENTS events, default 1,000,000 on PostgreSQL and
 * 200,000 embedded) over BENCH_AUDIT_ORGS organizations (default 20) and 90 days: logins (half),
 * failed logins, user updates by an API key, membership changes, provisioning results with a
 * latency. Then, over HTTP at concurrency 4:
 *
 * - GET /organizations/{org}/overview?days=30 (every figure of the page);
 * - GET /audit?organization= first page, with a type filter, by actor across organizations, and
 *   20 pages deep;
 * - GET /audit.csv of one organization's last 7 days (rows per second);
 * and the query plans of the overview's per-day count and the audit page (which index they use).
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/platform/db/client.ts';
import { defineScenario, round, runLoad, summarize } from '../harness.ts';

const CONCURRENCY = 4;

function sizes(target: string) {
  return {
    EVENTS: Number(process.env.BENCH_AUDIT_EVENTS ?? (target === 'embedded' ? 200_000 : 1_000_000)),
    ORGS: Number(process.env.BENCH_AUDIT_ORGS ?? 20),
    REQUESTS: Number(process.env.BENCH_AUDIT_REQUESTS ?? (target === 'embedded' ? 100 : 400)),
  };
}

export default defineScenario({
  name: 'audit',
  description:
    'Audit log pages, CSV export and the organization overview on a bulk-loaded event log (PostgreSQL: 1,000,000 events; embedded: 200,000; 20 organizations, 90 days); concurrency 4',
  async run(context) {
    const { EVENTS, ORGS, REQUESTS } = sizes(context.target);
    const bench = await context.startHub({ workers: false });
    try {
      const orgs: string[] = [];
      for (let i = 0; i < ORGS; i++) {
        const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
          name: `Audit Bench ${i}`,
        });
        orgs.push(org.body.id);
      }
      const db = bench.hub.database.db;
      const loadStarted = performance.now();
      const perOrg = Math.floor(EVENTS / ORGS);
      for (const orgId of orgs) {
        // Positions follow the existing log; occurred_at spreads over 90 days, oldest first.
        await db.execute(sql`
          insert into events (position, organization_id, type, actor, subject_type, subject_id, data, occurred_at)
          select base.last + g,
                 ${orgId},
                 case when g % 20 < 10 then 'login.succeeded'
                      when g % 20 < 12 then 'login.failed'
                      when g % 20 < 16 then 'user.updated'
                      when g % 20 < 19 then 'group.member_added'
                      when g % 40 = 19 then 'provisioning.failed'
                      else 'provisioning.succeeded' end,
                 case when g % 20 < 12 then jsonb_build_object('type', 'sso', 'id', 'conn_bench', 'ip', '198.51.100.7')
                      else jsonb_build_object('type', 'api_key', 'id', 'key_bench', 'name', 'bench', 'ip', '203.0.113.9') end,
                 'user', 'usr_' || (g % 2000),
                 case when g % 20 in (10, 11) then jsonb_build_object('code', (array['mapping_no_email', 'signature_invalid', 'flow_expired'])[1 + g % 3])
                      when g % 20 = 19 then jsonb_build_object('latencyMs', 50 + g % 900, 'code', 'rate_limited')
                      when g % 20 between 12 and 15 then jsonb_build_object('changes', jsonb_build_object('title', jsonb_build_object('from', 'a', 'to', 'b')))
                      else '{}'::jsonb end,
                 now() - interval '90 days' + (g::float8 / ${perOrg}) * interval '90 days'
          from generate_series(1, ${perOrg}) g,
               (select coalesce(max(position), 0) as last from events) base`);
      }
      await db.execute(sql`analyze events`);
      const loadMs = performance.now() - loadStarted;
      context.record('bulk load (SQL)', {
        unit: 'event',
        count: perOrg * ORGS,
        throughput: round(((perOrg * ORGS) / loadMs) * 1000),
      });
      context.log(`loaded ${perOrg * ORGS} events in ${Math.round(loadMs)} ms`);

      const get = (path: string) => bench.request('GET', path);
      // Warm-up.
      for (const orgId of orgs.slice(0, 2)) {
        await get(`/api/v1/organizations/${orgId}/overview`);
        await get(`/api/v1/audit?organization=${orgId}`);
      }

      const load = async (name: string, path: (i: number) => string, total = REQUESTS) => {
        const run = await runLoad({
          total,
          concurrency: CONCURRENCY,
          task: async (i) => void (await get(path(i))),
        });
        context.record(name, summarize(run.latencies, run.durationMs));
      };
      await load('overview (30 days)', (i) => `/api/v1/organizations/${orgs[i % ORGS]}/overview?days=30`);
      await load('overview (90 days)', (i) => `/api/v1/organizations/${orgs[i % ORGS]}/overview?days=90`);
      await load('audit first page (org)', (i) => `/api/v1/audit?organization=${orgs[i % ORGS]}&limit=50`);
      await load(
        'audit page (org + type)',
        (i) => `/api/v1/audit?organization=${orgs[i % ORGS]}&types=login.failed&limit=50`,
      );
      await load('audit page (actor, all orgs)', () => '/api/v1/audit?actor=key_bench&limit=50');

      // Paging 20 pages deep, one client.
      const paging: number[] = [];
      const pagingStarted = performance.now();
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const t0 = performance.now();
        const response: { body: { nextCursor: string | null } } = await bench.request(
          'GET',
          `/api/v1/audit?organization=${orgs[0]}&limit=100${after ? `&after=${after}` : ''}`,
        );
        paging.push(performance.now() - t0);
        after = response.body.nextCursor;
      }
      context.record(
        'audit paging (100/page, 20 pages)',
        summarize(paging, performance.now() - pagingStarted),
      );

      // CSV: one organization's last 7 days.
      const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const csvStarted = performance.now();
      const csv = await bench.client.request({
        method: 'GET',
        path: `/api/v1/audit.csv?organization=${orgs[0]}&since=${encodeURIComponent(since)}`,
        headers: { authorization: `Bearer ${bench.adminKey}` },
      });
      const text = await csv.body.text();
      const csvMs = performance.now() - csvStarted;
      const rows = text.split('\r\n').length - 2;
      context.record('audit.csv (7 days of one org)', {
        unit: 'row',
        count: rows,
        throughput: round((rows / csvMs) * 1000),
        extra: { ms: round(csvMs), bytes: text.length },
      });

      // Which index each query uses.
      const plan = async (statement: ReturnType<typeof sql>) => {
        const rowsOfPlan = await queryRows<Record<string, unknown>>(db, sql`explain ${statement}`);
        return rowsOfPlan.map((row) => String(Object.values(row)[0])).join('\n');
      };
      const daily = await plan(sql`select day, type, sum(n), count(subject_id) from (
          select date_trunc('day', occurred_at at time zone 'UTC') as day, type, subject_id, count(*) as n
          from events where organization_id = ${orgs[0]} and type = any(array['login.succeeded','login.failed'])
            and occurred_at >= now() - interval '30 days' group by 1, 2, 3) s group by 1, 2`);
      const page =
        await plan(sql`select * from events e where e.position is not null and e.organization_id = ${orgs[0]}
        order by e.position desc nulls last limit 51`);
      const actor =
        await plan(sql`select * from events e where e.position is not null and (e.actor ->> 'id') = 'key_bench'
        order by e.position desc nulls last limit 51`);
      const indexOf = (text: string) =>
        /using (\w+)/i.exec(text)?.[1] ?? (/Index/.test(text) ? 'index' : 'sequential scan');
      context.note(`overview per-day count uses ${indexOf(daily)}`);
      context.note(`audit page by organization uses ${indexOf(page)}`);
      context.note(`audit page by actor uses ${indexOf(actor)}`);
      context.log(`plans:\n${daily}\n---\n${page}\n---\n${actor}`);
    } finally {
      await bench.close();
    }
  },
});
