/**
 * Admin console: what the console adds per request over an API key (session lookup by cookie,
 * CSRF check on writes), console sign-ins with a one-time link, and the app shell under its
 * security headers. Over HTTP with keep-alive, concurrency 10.
 * Sizes: BENCH_CONSOLE_READS (default 3000), BENCH_CONSOLE_WRITES (default 1000), BENCH_CONSOLE_SIGNINS (300).
 */
import { existsSync } from 'node:fs';
import { CONSOLE_DIST } from '../../src/modules/console/index.ts';
import { defineScenario, runLoad, summarize } from '../harness.ts';

const READS = Number(process.env.BENCH_CONSOLE_READS ?? 3000);
const WRITES = Number(process.env.BENCH_CONSOLE_WRITES ?? 1000);
const SIGNINS = Number(process.env.BENCH_CONSOLE_SIGNINS ?? 300);
const CONCURRENCY = 10;

export default defineScenario({
  name: 'console',
  description: `console: ${READS} reads by API key and by session cookie, ${WRITES} writes each, ${SIGNINS} login-link sign-ins, the app shell; concurrency ${CONCURRENCY}`,
  async run(context) {
    const bench = await context.startHub({ workers: false });
    try {
      const signIn = async () => {
        const { url } = await bench.hub.console.service.createLoginLink({ type: 'cli', name: 'bench' });
        const response = await bench.client.request({
          method: 'POST',
          path: '/admin/auth/link',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: new URL(url).hash.slice(1) }),
        });
        const body = (await response.body.json()) as { csrfToken: string };
        if (response.statusCode !== 200) throw new Error(`sign-in answered ${response.statusCode}`);
        const cookie = String(response.headers['set-cookie']).split(';')[0] as string;
        return { cookie, csrf: body.csrfToken };
      };
      const session = await signIn();
      const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
        name: 'Bench Corp',
      });
      const path = `/api/v1/organizations/${org.body.id}`;
      const asSession = { authorization: '', cookie: session.cookie };
      for (let i = 0; i < 100; i++) {
        await bench.request('GET', path);
        await bench.request('GET', path, undefined, { headers: asSession });
      }

      const keyReads = await runLoad({
        total: READS,
        concurrency: CONCURRENCY,
        task: async () => {
          await bench.request('GET', path);
        },
      });
      context.record('read, API key', summarize(keyReads.latencies, keyReads.durationMs));
      const sessionReads = await runLoad({
        total: READS,
        concurrency: CONCURRENCY,
        task: async () => {
          await bench.request('GET', path, undefined, { headers: asSession });
        },
      });
      context.record('read, console session', summarize(sessionReads.latencies, sessionReads.durationMs));

      const keyWrites = await runLoad({
        total: WRITES,
        concurrency: CONCURRENCY,
        task: async (i) => {
          await bench.request('POST', `${path}/users`, { email: `key${i}@bench.example.com` });
        },
      });
      context.record('user create, API key', summarize(keyWrites.latencies, keyWrites.durationMs));
      const sessionWrites = await runLoad({
        total: WRITES,
        concurrency: CONCURRENCY,
        task: async (i) => {
          await bench.request(
            'POST',
            `${path}/users`,
            { email: `console${i}@bench.example.com` },
            { headers: { ...asSession, 'x-csrf-token': session.csrf } },
          );
        },
      });
      context.record(
        'user create, console session',
        summarize(sessionWrites.latencies, sessionWrites.durationMs),
      );

      const signIns = await runLoad({
        total: SIGNINS,
        concurrency: CONCURRENCY,
        task: async () => void (await signIn()),
      });
      context.record(
        'login-link sign-in (create + use)',
        summarize(signIns.latencies, signIns.durationMs, 'sign-in'),
      );

      if (existsSync(`${CONSOLE_DIST}/index.html`)) {
        const shells = await runLoad({
          total: READS,
          concurrency: CONCURRENCY,
          task: async () => {
            const response = await bench.client.request({ method: 'GET', path: '/admin/organizations' });
            await response.body.text();
            if (response.statusCode !== 200) throw new Error(`shell answered ${response.statusCode}`);
          },
        });
        context.record('app shell (/admin/*)', summarize(shells.latencies, shells.durationMs));
      } else {
        context.note('web/dist missing: app shell not measured (npm run build)');
      }
      const ratio = (sessionReads.durationMs / keyReads.durationMs).toFixed(2);
      context.note(`console session reads took ${ratio}x the time of API-key reads`);
      context.log(`session/API-key read time ratio ${ratio}`);
    } finally {
      await bench.close();
    }
  },
});
