/**
 * SCIM server: what an IdP's provisioning cycle does, over HTTP keep-alive at concurrency 10.
 *
 * Sizes below are PostgreSQL's defaults; the embedded database runs a fifth of each (PGlite is one
 * WASM connection: it is for small deployments and development).
 *
 * - user creates (Entra's POST /Users body), BENCH_SCIM_CREATES (default 10,000);
 * - `userName eq` lookups (Entra's and Okta's first call for every user) against
 *   BENCH_SCIM_STORED (default 100,000) stored users of the directory: the users beyond the
 *   creates are bulk-loaded with SQL (no events), BENCH_SCIM_LOOKUPS (default 5,000);
 * - PATCH updates (Entra `aadOptscim062020` path-less replace of several attributes),
 *   BENCH_SCIM_PATCHES (default 2,000);
 * - group member adds: one PATCH adding 1,000 members, BENCH_SCIM_GROUPS times (default 5).
 */
import { defineScenario, round, runLoad, summarize } from '../harness.ts';

/** Sizes; the embedded database (PGlite, one WASM connection) runs a fifth of them by default. */
function sizes(target: string) {
  const scale = target === 'embedded' ? 5 : 1;
  return {
    CREATES: Number(process.env.BENCH_SCIM_CREATES ?? 10_000 / scale),
    STORED: Number(process.env.BENCH_SCIM_STORED ?? 100_000 / scale),
    LOOKUPS: Number(process.env.BENCH_SCIM_LOOKUPS ?? 5_000 / scale),
    PATCHES: Number(process.env.BENCH_SCIM_PATCHES ?? 2_000 / scale),
    GROUPS: Number(process.env.BENCH_SCIM_GROUPS ?? (target === 'embedded' ? 2 : 5)),
  };
}
const MEMBERS = 1_000;
const CONCURRENCY = 10;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function entraUser(i: number, prefix: string) {
  const userName = `${prefix}${i}@bench.example.com`;
  return {
    schemas: [CORE, ENTERPRISE],
    externalId: `${prefix}-ext-${i}`,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
    roles: [],
    [ENTERPRISE]: { department: `Dept ${i % 20}`, employeeNumber: String(100000 + i) },
  };
}

export default defineScenario({
  name: 'scim',
  description: `SCIM: user creates, userName lookups against a large directory, PATCH updates, ${MEMBERS}-member group adds; concurrency ${CONCURRENCY} (PostgreSQL: 10,000 / 100,000 stored / 5,000 / 2,000 / 5 groups; embedded: a fifth)`,
  async run(context) {
    const { CREATES, STORED, LOOKUPS, PATCHES, GROUPS } = sizes(context.target);
    const bench = await context.startHub({ workers: false });
    try {
      const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
        name: 'SCIM Bench Corp',
      });
      const directory = await bench.request<{ directory: { id: string }; token: string }>(
        'POST',
        `/api/v1/organizations/${org.body.id}/directories`,
        { name: 'Entra', provider: 'entra' },
      );
      const base = `/scim/v2/${directory.body.directory.id}`;
      const token = directory.body.token;
      const scim = async <T = any>(
        method: string,
        path: string,
        body?: unknown,
        expect = [200, 201, 204],
      ) => {
        const response = await bench.client.request({
          method: method as 'GET',
          path: `${base}${path}`,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.body.text();
        if (!expect.includes(response.statusCode)) {
          throw new Error(`${method} ${path} answered ${response.statusCode}: ${text.slice(0, 300)}`);
        }
        return (text ? JSON.parse(text) : undefined) as T;
      };

      // Warm-up: JIT, prepared statements on every pooled connection.
      for (let i = 0; i < 200; i++) await scim('POST', '/Users', entraUser(i, 'warmup'));

      const ids: string[] = new Array(CREATES);
      const creates = await runLoad({
        total: CREATES,
        concurrency: CONCURRENCY,
        task: async (i) => {
          ids[i] = (await scim<{ id: string }>('POST', '/Users', entraUser(i, 'user'))).id;
        },
      });
      context.record('user create (POST /Users)', summarize(creates.latencies, creates.durationMs));
      context.log(`created ${CREATES} users in ${Math.round(creates.durationMs)} ms`);

      const bulk = Math.max(0, STORED - CREATES - 200);
      const loadStarted = performance.now();
      await bulkLoad(bench.hub, org.body.id, directory.body.directory.id, bulk);
      const loadMs = performance.now() - loadStarted;
      context.log(`bulk-loaded ${bulk} users in ${Math.round(loadMs)} ms`);
      context.record('bulk load (SQL, no events)', {
        unit: 'row',
        count: bulk,
        throughput: round((bulk / loadMs) * 1000),
        extra: { storedUsers: STORED },
      });

      const lookups = await runLoad({
        total: LOOKUPS,
        concurrency: CONCURRENCY,
        task: async (i) => {
          // Half hit created users, half bulk-loaded ones; names in other case, as IdPs may send.
          const name =
            i % 2 === 0
              ? `USER${(i * 7919) % CREATES}@bench.example.com`
              : `Bulk${(i * 104729) % Math.max(bulk, 1)}@Bench.Example.com`;
          const found = await scim<{ totalResults: number }>(
            'GET',
            `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`,
          );
          if (found.totalResults !== 1 && (i % 2 === 0 || bulk > 0))
            throw new Error(`lookup of ${name} found ${found.totalResults}`);
        },
      });
      context.record('userName eq lookup', summarize(lookups.latencies, lookups.durationMs));
      // The same lookups one at a time: the latency an IdP's sequential calls see, without queueing.
      const single = await runLoad({
        total: Math.min(LOOKUPS, 1000),
        concurrency: 1,
        task: async (i) => {
          const name = `user${(i * 7919) % CREATES}@bench.example.com`;
          await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
        },
      });
      context.record('userName eq lookup, concurrency 1', summarize(single.latencies, single.durationMs));
      context.log(`${LOOKUPS} lookups in ${Math.round(lookups.durationMs)} ms`);

      const patches = await runLoad({
        total: PATCHES,
        concurrency: CONCURRENCY,
        task: async (i) => {
          await scim('PATCH', `/Users/${ids[i % CREATES]}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [
              {
                op: 'replace',
                value: {
                  displayName: `Renamed ${i}`,
                  'name.givenName': `Renamed${i}`,
                  [`${ENTERPRISE}:department`]: `Dept ${(i + 7) % 20}`,
                  'emails[type eq "work"].value': `user${i % CREATES}@bench.example.com`,
                },
              },
            ],
          });
        },
      });
      context.record('PATCH update (path-less replace)', summarize(patches.latencies, patches.durationMs));

      const groupLatencies: number[] = [];
      const groupsStarted = performance.now();
      for (let g = 0; g < GROUPS; g++) {
        const group = await scim<{ id: string }>('POST', '/Groups', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
          displayName: `Bench Group ${g}`,
          members: [],
        });
        const members = Array.from({ length: MEMBERS }, (_, k) => ({
          value: ids[(g * MEMBERS + k) % CREATES],
        }));
        const t0 = performance.now();
        await scim('PATCH', `/Groups/${group.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Add', path: 'members', value: members }],
        });
        groupLatencies.push(performance.now() - t0);
      }
      const groupSummary = summarize(groupLatencies, performance.now() - groupsStarted);
      context.record(`group add of ${MEMBERS} members (one PATCH)`, {
        ...groupSummary,
        extra: {
          membersPerSecond: round((MEMBERS * GROUPS) / (groupLatencies.reduce((a, b) => a + b, 0) / 1000)),
        },
      });
      context.log(
        `${CREATES} creates, ${STORED} stored, ${LOOKUPS} lookups, ${PATCHES} patches, ${GROUPS} groups`,
      );
    } finally {
      await bench.close();
    }
  },
});

/**
 * Loads `count` users of the directory with set-based SQL (users and their SCIM resources), in
 * chunks: the figure that matters is the lookup against a large directory, not the load.
 */
async function bulkLoad(
  hub: import('../../src/hub.ts').Hub,
  organizationId: string,
  directoryId: string,
  count: number,
) {
  const chunk = 10_000;
  const client = (hub.database.pool ?? hub.database.pglite) as {
    query(text: string, values?: unknown[]): Promise<unknown>;
  };
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk) - 1;
    // Fresh statistics first, or the foreign-key checks may be planned for an empty users table.
    await client.query('analyze users');
    await client.query(
      `with n as (select g as i, 'usr_bulk' || lpad(g::text, 20, '0') as id from generate_series($3::int, $4::int) g),
            u as (insert into users (organization_id, id, email, given_name, family_name, display_name, source)
                  select $1, n.id, 'bulk' || n.i || '@bench.example.com', 'Bulk', 'User ' || n.i, 'Bulk User ' || n.i, 'scim'
                  from n returning id)
       insert into scim_users (organization_id, directory_id, user_id, user_name, external_id, display_name, active,
                               email_values, resource)
       select $1, $2, n.id, 'bulk' || n.i || '@bench.example.com', 'bulk-ext-' || n.i, 'Bulk User ' || n.i, true,
              array['bulk' || n.i || '@bench.example.com'],
              jsonb_build_object('userName', 'bulk' || n.i || '@bench.example.com', 'active', true,
                                 'emails', jsonb_build_array(jsonb_build_object('value', 'bulk' || n.i || '@bench.example.com', 'type', 'work', 'primary', true)))
       from n`,
      [organizationId, directoryId, start, end],
    );
  }
  await client.query('analyze users');
  await client.query('analyze scim_users');
}
