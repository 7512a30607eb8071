/**
 * Benchmark harness. A scenario (bench/scenarios/<name>.ts) default-exports `defineScenario({...})`;
 * `npm run bench [name...]` runs it once per database target (embedded always; PostgreSQL when
 * BENCH_POSTGRES_URL or TEST_POSTGRES_URL is set, or a server answers at 127.0.0.1:5432), prints a
 * table and writes bench/results/<name>.json.
 *
 * Figures are medians and percentiles of many operations over real HTTP with keep-alive; quote
 * them with the machine's noise in mind.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { Pool } from 'undici';
import { buildApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { closeHub, createHub, type Hub, type Role, startBackgroundWork } from '../src/hub.ts';
import type { App } from '../src/platform/http/types.ts';
import { createLogger } from '../src/platform/logging.ts';

export type Target = 'embedded' | 'postgres';

export interface Metric {
  /** What one operation is (`request`, `login`, `row`). */
  unit: string;
  count: number;
  /** Operations per second over the whole run. */
  throughput: number;
  /** Latency percentiles in milliseconds (absent for pure throughput figures). */
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
  /** Anything else worth recording (ratios, totals). */
  extra?: Record<string, number | string>;
}

export interface TargetResult {
  target: Target;
  metrics: Record<string, Metric>;
  rssPeakMb: number;
  /** The process's RSS before the scenario started (Node, the hub's code, the TypeScript loader). */
  rssStartMb?: number;
  /** The V8 heap and memory outside it when RSS peaked: what the peak was made of. */
  atPeakMb?: { heapTotal: number; heapUsed: number; external: number };
  notes?: string[];
}

export interface BenchContext {
  target: Target;
  /** Starts a hub on a fresh database for this target, listening on a random port. */
  startHub(options?: { env?: Record<string, string>; role?: Role; workers?: boolean }): Promise<BenchHub>;
  /** Records a figure for the table and the JSON file. */
  record(name: string, metric: Metric): void;
  note(text: string): void;
  log(message: string): void;
}

export interface Scenario {
  name: string;
  description: string;
  run(context: BenchContext): Promise<void>;
}

export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}

export interface BenchHub {
  hub: Hub;
  app: App;
  config: Config;
  url: string;
  adminKey: string;
  /** Keep-alive HTTP client to the hub. */
  client: Pool;
  /** JSON request through the keep-alive client; throws on a status it did not expect. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: { expect?: number[]; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** Runs `task(i)` for i in [0, total) with `concurrency` in flight; returns each latency (ms). */
export async function runLoad(options: {
  total: number;
  concurrency: number;
  task: (index: number) => Promise<void>;
}) {
  const latencies = new Float64Array(options.total);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (true) {
      const index = next++;
      if (index >= options.total) return;
      const t0 = performance.now();
      await options.task(index);
      latencies[index] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.total) }, worker));
  const durationMs = performance.now() - started;
  return { latencies: Array.from(latencies), durationMs };
}

/** Percentiles and throughput of a load run. */
export function summarize(latencies: readonly number[], durationMs: number, unit = 'request'): Metric {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    unit,
    count: sorted.length,
    throughput: round((sorted.length / durationMs) * 1000),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(sorted.at(-1) ?? 0),
  };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The PostgreSQL admin URL to benchmark against, if any. */
export async function postgresAdminUrl(): Promise<string | undefined> {
  const explicit = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL;
  if (explicit) return explicit;
  const candidate = 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: candidate, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return candidate;
  } catch {
    return undefined;
  }
}

export async function createBenchHub(
  target: Target,
  adminUrl: string | undefined,
  options: { env?: Record<string, string>; role?: Role; workers?: boolean } = {},
): Promise<BenchHub> {
  let pglite: PGlite | undefined;
  let dropDatabase = async () => {};
  const env: Record<string, string> = {
    SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...options.env,
  };
  if (target === 'postgres') {
    if (!adminUrl) throw new Error('no PostgreSQL server to benchmark against');
    const name = `sb_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    env.DATABASE_POOL_SIZE ??= '20';
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    };
  } else {
    pglite = await PGlite.create();
  }
  const config = loadConfig(env);
  const hub = await createHub(config, {
    logger: createLogger(config.LOG_LEVEL),
    ...(pglite ? { pglite } : {}),
  });
  const role = options.role ?? 'all';
  const app = await buildApp(hub, { role });
  await startBackgroundWork(hub, options.workers === false ? 'web' : role);
  // A scenario whose URLs must be right before start (SSO redirect URIs) passes PORT and PUBLIC_URL.
  await app.listen({ port: Number(options.env?.PORT ?? 0), host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const adminKey = (
    await hub.apiKeys.create({ name: 'bench', scopes: ['admin'], via: 'bench' }, { type: 'system' })
  ).key;
  const client = new Pool(url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    hub,
    app,
    config,
    url,
    adminKey,
    client,
    async request(method, path, body, requestOptions = {}) {
      const response = await client.request({
        method: method as 'GET',
        path,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...requestOptions.headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.body.text();
      const expected = requestOptions.expect ?? [200, 201, 204];
      if (!expected.includes(response.statusCode)) {
        throw new Error(`${method} ${path} answered ${response.statusCode}: ${text.slice(0, 300)}`);
      }
      return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as never };
    },
    async close() {
      await client.close();
      await app.close();
      await closeHub(hub, 2000);
      if (pglite && !pglite.closed) await pglite.close();
      await dropDatabase();
    },
  };
}
