/**
 * `npm run bench [scenario...]`: runs benchmark scenarios from bench/scenarios on each database
 * target, prints a table and writes bench/results/<scenario>.json.
 *
 * Options (environment): BENCH_TARGETS=embedded,postgres to choose targets; BENCH_POSTGRES_URL
 * (or TEST_POSTGRES_URL) for the PostgreSQL server; BENCH_MEMORY_LOG=<seconds> to print the
 * process's memory that often; BENCH_HEAP_MB=<n> to run the hub with V8's old generation capped
 * at n MB (`--max-old-space-size`, as an operator would set it in NODE_OPTIONS); scenario-specific
 * sizes are documented in each scenario.
 *
 * Each scenario runs on each target in a process of its own, so that its peak RSS is its own: a
 * process keeps the memory an earlier run grew into (the embedded database's, say), and the peak
 * of a later run read in the same process was the earlier run's.
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type BenchContext,
  createBenchHub,
  type Metric,
  postgresAdminUrl,
  type Scenario,
  type Target,
  type TargetResult,
} from './harness.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const scenariosDir = join(here, 'scenarios');
const resultsDir = join(here, 'results');

/** Set in the child process that runs one scenario on one target. */
const CHILD = process.env.BENCH_CHILD_TARGET as Target | undefined;

async function main() {
  if (CHILD) return runChild(CHILD);
  const available = readdirSync(scenariosDir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => basename(file, '.ts'))
    .sort();
  const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = requested.filter((name) => !available.includes(name));
  if (unknown.length) {
    console.error(`Unknown scenario: ${unknown.join(', ')}. Available: ${available.join(', ')}`);
    process.exit(2);
  }
  const names = requested.length ? requested : available;
  const adminUrl = await postgresAdminUrl();
  const wanted = (process.env.BENCH_TARGETS ?? 'embedded,postgres').split(',').map((value) => value.trim());
  const targets = (['embedded', 'postgres'] as const).filter(
    (target) => wanted.includes(target) && (target === 'embedded' || adminUrl),
  );
  if (!adminUrl) console.log('No PostgreSQL server found: benchmarking the embedded database only.');
  mkdirSync(resultsDir, { recursive: true });

  for (const name of names) {
    const scenario = await loadScenario(name);
    console.log(`\n# ${scenario.name}: ${scenario.description}`);
    const results: TargetResult[] = [];
    for (const target of targets) {
      results.push(await runInChild(name, target));
    }
    printTable(results);
    // A run with the heap capped is a variant: it gets its own file, next to the default run's.
    const heapMb = Number(process.env.BENCH_HEAP_MB ?? 0);
    const file = join(resultsDir, `${scenario.name}${heapMb > 0 ? `.heap-${heapMb}mb` : ''}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          scenario: scenario.name,
          description: scenario.description,
          ranAt: new Date().toISOString(),
          node: process.version,
          ...(heapMb > 0 ? { nodeFlags: [`--max-old-space-size=${heapMb}`] } : {}),
          machine: {
            cpus: cpus().length,
            cpuModel: cpus()[0]?.model,
            memoryGb: Math.round(totalmem() / 2 ** 30),
          },
          results,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${file}`);
  }
  process.exit(0);
}

async function loadScenario(name: string): Promise<Scenario> {
  return (await import(pathToFileURL(join(scenariosDir, `${name}.ts`)).href)).default as Scenario;
}

/** Runs one scenario on one target in a fresh process (this file, with BENCH_CHILD_TARGET set). */
async function runInChild(name: string, target: Target): Promise<TargetResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const resultFile = join(dir, 'result.json');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const heapMb = Number(process.env.BENCH_HEAP_MB ?? 0);
      const child = fork(fileURLToPath(import.meta.url), [name], {
        env: { ...process.env, BENCH_CHILD_TARGET: target, BENCH_RESULT_FILE: resultFile },
        execArgv: [...process.execArgv, ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [])],
        stdio: 'inherit',
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`scenario ${name} on ${target} failed (exit code ${code})`);
    return JSON.parse(readFileSync(resultFile, 'utf8')) as TargetResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runChild(target: Target): Promise<void> {
  // The heap cap is the hub's: processes the scenario forks (its fakes) start without it.
  process.execArgv = process.execArgv.filter((arg) => !arg.startsWith('--max-old-space-size'));
  const [name] = process.argv.slice(2);
  const resultFile = process.env.BENCH_RESULT_FILE;
  if (!name || !resultFile) throw new Error('a bench child needs a scenario and BENCH_RESULT_FILE');
  const result = await runTarget(await loadScenario(name), target, await postgresAdminUrl());
  writeFileSync(resultFile, JSON.stringify(result));
  process.exit(0);
}

async function runTarget(
  scenario: Scenario,
  target: Target,
  adminUrl: string | undefined,
): Promise<TargetResult> {
  const metrics: Record<string, Metric> = {};
  const notes: string[] = [];
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  let peak = process.memoryUsage();
  const start = peak.rss;
  // BENCH_MEMORY_LOG=<seconds> prints the process's memory that often: where a peak comes from.
  const logEvery = Number(process.env.BENCH_MEMORY_LOG ?? 0) * 10;
  let ticks = 0;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) peak = now;
    if (logEvery > 0 && ++ticks % logEvery === 0)
      console.log(
        `  [${target}] memory: rss ${mb(now.rss)} MB, heap ${mb(now.heapUsed)} used of ${mb(now.heapTotal)}, external ${mb(now.external)}`,
      );
  }, 100);
  const context: BenchContext = {
    target,
    startHub: (options) => createBenchHub(target, adminUrl, options),
    record(name, metric) {
      metrics[name] = metric;
    },
    note(text) {
      notes.push(text);
    },
    log(message) {
      console.log(`  [${target}] ${message}`);
    },
  };
  try {
    await scenario.run(context);
  } finally {
    clearInterval(sampler);
  }
  return {
    target,
    metrics,
    rssPeakMb: mb(peak.rss),
    rssStartMb: mb(start),
    atPeakMb: { heapTotal: mb(peak.heapTotal), heapUsed: mb(peak.heapUsed), external: mb(peak.external) },
    ...(notes.length ? { notes } : {}),
  };
}

function printTable(results: TargetResult[]) {
  const rows: string[][] = [['target', 'metric', 'count', 'per second', 'p50 ms', 'p99 ms', 'extra']];
  for (const result of results) {
    for (const [name, metric] of Object.entries(result.metrics)) {
      rows.push([
        result.target,
        name,
        String(metric.count),
        String(metric.throughput),
        metric.p50 === undefined ? '' : String(metric.p50),
        metric.p99 === undefined ? '' : String(metric.p99),
        Object.entries(metric.extra ?? {})
          .map(([key, value]) => `${key}=${value}`)
          .join(' '),
      ]);
    }
    const at = result.atPeakMb;
    rows.push([
      result.target,
      'peak RSS',
      '',
      '',
      '',
      '',
      `${result.rssPeakMb} MB (at start ${result.rssStartMb} MB${at ? `; at peak: heap ${at.heapUsed} used of ${at.heapTotal}, external ${at.external}` : ''})`,
    ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
  for (const result of results)
    for (const note of result.notes ?? []) console.log(`  [${result.target}] note: ${note}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
