/**
 * Spreadsheet imports: a roster of BENCH_IMPORT_ROWS people (default 100,000) as .xlsx and as CSV,
 * uploaded over HTTP (streamed from disk), then a dry run and an apply of each, through the job
 * queue as in production. Each format goes to its own organization, so both applies create every
 * user (and write one `user.created` and one `group.member_added` event per row). Then the CSV is
 * imported again: every row unchanged, no events.
 *
 * Figures: rows per second of each phase and the wall time; peak RSS of the whole process (the
 * hub runs in it) per phase; how responsive the hub stays meanwhile (event-loop lag, the slowest
 * `/healthz` answer, polled every 250 ms); and, during the .xlsx apply, how long a 30-row import of
 * another organization takes and whether it finished before the big one. Targets (issue 7): apply
 * in under 60 s, peak RSS under 400 MB.
 * The embedded database (PGlite: one WASM connection, for small deployments) runs 20,000 rows
 * unless BENCH_IMPORT_ROWS_EMBEDDED says otherwise.
 */
import { spawnSync } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type BenchHub, defineScenario, round } from '../harness.ts';

const FIXTURES = fileURLToPath(new URL('../import-fixtures.ts', import.meta.url));

/** PostgreSQL: BENCH_IMPORT_ROWS (default 100,000). Embedded: BENCH_IMPORT_ROWS_EMBEDDED (default 20,000). */
function rowsFor(target: string): number {
  if (target === 'embedded') return Number(process.env.BENCH_IMPORT_ROWS_EMBEDDED ?? 20_000);
  return Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
}

/** Samples RSS (and the V8 heap, to tell live data from garbage not yet collected) while a phase runs. */
function rssSampler() {
  let peak = process.memoryUsage().rss;
  let heapPeak = process.memoryUsage().heapUsed;
  let externalPeak = process.memoryUsage().external;
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    heapPeak = Math.max(heapPeak, usage.heapUsed);
    externalPeak = Math.max(externalPeak, usage.external);
  }, 50);
  return {
    stop(): number {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      if (process.env.BENCH_IMPORT_HEAP) {
        (globalThis as { gc?: () => void }).gc?.();
        console.log(
          `    heap peak ${Math.round(heapPeak / 2 ** 20)} MB, external peak ${Math.round(externalPeak / 2 ** 20)} MB, heap after the phase ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB`,
        );
      }
      return Math.round(peak / 2 ** 20);
    },
  };
}

/** Event-loop lag and the slowest `/healthz` answer while a phase runs. */
function responsiveness(bench: BenchHub) {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let healthzMax = 0;
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const started = performance.now();
      await bench.request('GET', '/healthz');
      healthzMax = Math.max(healthzMax, performance.now() - started);
      await sleep(250);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await polling;
      lag.disable();
      return {
        eventLoopLagMaxMs: round(lag.max / 1e6),
        eventLoopLagP99Ms: round(lag.percentile(99) / 1e6),
        healthzMaxMs: round(healthzMax),
      };
    },
  };
}

/** A 30-row CSV imported (applied) into its own organization; seconds until it is done. */
async function smallImport(bench: BenchHub, dir: string): Promise<{ seconds: number; finishedAt: number }> {
  const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
    name: `Import Bench small ${Date.now()}`,
  });
  const path = join(dir, 'small.csv');
  await writeFile(
    path,
    `Email;Nombre\n${Array.from({ length: 30 }, (_, i) => `small${i}@bench.example.com;S${i}`).join('\n')}\n`,
  );
  const started = performance.now();
  const uploaded = await uploadFile(bench, org.body.id, path, { dryRun: 'false' });
  await waitFor(bench, org.body.id, uploaded.id);
  return { seconds: round((performance.now() - started) / 1000), finishedAt: Date.now() };
}

interface ImportState {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Record<string, number>;
  error: unknown;
}

/** Seconds from the job's start to its end, as the import records them. */
function jobSeconds(state: ImportState): number {
  if (!state.startedAt || !state.finishedAt) return Number.NaN;
  return round((Date.parse(state.finishedAt) - Date.parse(state.startedAt)) / 1000);
}

async function waitFor(bench: BenchHub, orgId: string, id: string): Promise<ImportState> {
  for (;;) {
    const state = await bench.request<ImportState>('GET', `/api/v1/organizations/${orgId}/imports/${id}`);
    if (['previewed', 'applied', 'failed'].includes(state.body.status)) {
      if (state.body.status === 'failed')
        throw new Error(`import failed: ${JSON.stringify(state.body.error)}`);
      return state.body;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function uploadFile(
  bench: BenchHub,
  orgId: string,
  path: string,
  fields: Record<string, string>,
): Promise<ImportState> {
  const form = new FormData();
  form.set('file', await openAsBlob(path), path.split('/').at(-1));
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  const response = await fetch(`${bench.url}/api/v1/organizations/${orgId}/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bench.adminKey}` },
    body: form,
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`upload answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as ImportState;
}

export default defineScenario({
  name: 'import',
  description:
    'Imports: a 100,000-row roster (embedded: 20,000) as .xlsx and as CSV (semicolons, BOM), upload + dry run + apply through the job queue, then an unchanged re-import; rows/s and peak RSS',
  async run(context) {
    const rows = rowsFor(context.target);
    const dir = await mkdtemp(join(tmpdir(), 'switchboard-bench-import-'));
    try {
      const xlsxPath = join(dir, 'participantes.xlsx');
      const csvPath = join(dir, 'participantes.csv');
      // In a child process: generating the files must not inflate this process's RSS.
      const generated = spawnSync(process.execPath, [FIXTURES, dir, String(rows)], { stdio: 'inherit' });
      if (generated.status !== 0) throw new Error('generating the import fixtures failed');
      context.log(
        `files: xlsx ${round((await stat(xlsxPath)).size / 2 ** 20)} MB, csv ${round((await stat(csvPath)).size / 2 ** 20)} MB, ${rows} rows each`,
      );
      const bench = await context.startHub({ env: { IMPORT_MAX_ROWS: String(Math.max(rows, 200_000)) } });
      const baseline = Math.round(process.memoryUsage().rss / 2 ** 20);
      context.note(
        `machine load average when the run started: ${loadavg()
          .map((value) => value.toFixed(1))
          .join(' / ')} (1/5/15 min) on ${cpus().length} CPUs`,
      );
      context.log(`RSS with the hub started: ${baseline} MB`);
      context.note(`RSS of the process with the hub started, before any import: ${baseline} MB`);
      try {
        for (const [format, path] of [
          ['xlsx', xlsxPath],
          ['csv', csvPath],
        ] as const) {
          const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
            name: `Import Bench ${format}`,
          });
          const orgId = org.body.id;
          const fields = { createGroups: 'true', sheet: format === 'xlsx' ? 'Participantes' : '' };
          if (!fields.sheet) delete (fields as Record<string, string>).sheet;

          let rss = rssSampler();
          let responsive = responsiveness(bench);
          let started = performance.now();
          const uploaded = await uploadFile(bench, orgId, path, fields);
          const uploadMs = performance.now() - started;
          const preview = await waitFor(bench, orgId, uploaded.id);
          const previewMs = performance.now() - started;
          let peak = rss.stop();
          let responsive_figures = await responsive.stop();
          if (preview.counts.created !== rows) throw new Error(`preview: ${JSON.stringify(preview.counts)}`);
          context.record(`${format} dry run (upload + count + preview)`, {
            unit: 'row',
            count: rows,
            throughput: round((rows / previewMs) * 1000),
            extra: {
              seconds: round(previewMs / 1000),
              uploadSeconds: round(uploadMs / 1000),
              peakRssMb: peak,
              ...responsive_figures,
            },
          });
          context.log(
            `${format} dry run: ${round(previewMs / 1000)} s (job ${jobSeconds(preview)} s), peak RSS ${peak} MB, ${JSON.stringify(responsive_figures)}`,
          );

          rss = rssSampler();
          responsive = responsiveness(bench);
          started = performance.now();
          await bench.request(
            'POST',
            `/api/v1/organizations/${orgId}/imports/${uploaded.id}/apply`,
            undefined,
            {
              expect: [202],
            },
          );
          // Another organization's small file, uploaded once the big apply is under way.
          const small = format === 'xlsx' ? sleep(1000).then(() => smallImport(bench, dir)) : undefined;
          const applied = await waitFor(bench, orgId, uploaded.id);
          const applyMs = performance.now() - started;
          const bigFinishedAt = Date.now();
          peak = rss.stop();
          responsive_figures = await responsive.stop();
          const other = small ? await small : undefined;
          if (applied.counts.created !== rows) throw new Error(`apply: ${JSON.stringify(applied.counts)}`);
          context.record(`${format} apply (creates, ${rows} users)`, {
            unit: 'row',
            count: rows,
            throughput: round((rows / applyMs) * 1000),
            extra: {
              seconds: round(applyMs / 1000),
              peakRssMb: peak,
              target: 'under 60 s, under 400 MB',
              ...responsive_figures,
              ...(other
                ? {
                    otherOrganization30RowsSeconds: other.seconds,
                    otherOrganizationFinished:
                      other.finishedAt < bigFinishedAt ? 'before the big apply' : 'after the big apply',
                  }
                : {}),
            },
          });
          context.log(
            `${format} apply: ${round(applyMs / 1000)} s (job ${jobSeconds(applied)} s), peak RSS ${peak} MB, ${JSON.stringify(responsive_figures)}${other ? `, other organization's 30 rows: ${other.seconds} s, ${other.finishedAt < bigFinishedAt ? 'before' : 'after'} the big apply` : ''}`,
          );

          if (format === 'csv') {
            rss = rssSampler();
            started = performance.now();
            const again = await uploadFile(bench, orgId, path, { ...fields, dryRun: 'false' });
            const unchanged = await waitFor(bench, orgId, again.id);
            const againMs = performance.now() - started;
            peak = rss.stop();
            if (unchanged.counts.unchanged !== rows)
              throw new Error(`re-import: ${JSON.stringify(unchanged.counts)}`);
            context.record('csv re-import (all unchanged, no events)', {
              unit: 'row',
              count: rows,
              throughput: round((rows / againMs) * 1000),
              extra: { seconds: round(againMs / 1000), peakRssMb: peak },
            });
            context.log(`csv re-import: ${round(againMs / 1000)} s`);
          }
        }
      } finally {
        await bench.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
