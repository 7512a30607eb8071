import { afterEach, describe, expect, it } from 'vitest';
import { JobQueue } from '../../src/platform/jobs/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('job queue', () => {
  it('queues inside a transaction: a rolled-back change queues nothing', async () => {
    t = await createTestHub();
    const jobs = new JobQueue(t.hub.database, t.hub.logger);
    jobs.defineQueue({ name: 'test.tx' });
    await jobs.start({ runWorkers: false });
    try {
      const committed = await t.hub.database.transaction((tx) => jobs.send('test.tx', { n: 1 }, { tx }));
      await expect(
        t.hub.database.transaction(async (tx) => {
          await jobs.send('test.tx', { n: 2 }, { tx });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      const fetched = await jobs.boss.fetch<{ n: number }>('test.tx', { batchSize: 10 });
      expect(fetched.map((job) => job.data.n)).toEqual([1]);
      expect(fetched[0]?.id).toBe(committed);
    } finally {
      await jobs.stop(1000);
    }
  });

  it('runs handlers only in worker roles, retries failures and dead-letters', async () => {
    t = await createTestHub();
    const web = new JobQueue(t.hub.database, t.hub.logger);
    const worker = new JobQueue(t.hub.database, t.hub.logger);
    const handled: number[] = [];
    let attempts = 0;
    for (const queue of [web, worker]) {
      queue.defineQueue({ name: 'test.work', retryLimit: 1, retryDelay: 1, retryBackoff: false });
      queue.work<{ n: number }>('test.work', {
        pollingIntervalSeconds: 0.5,
        handler: async (job) => {
          if (job.data.n === 13) {
            attempts++;
            throw new Error('unlucky');
          }
          handled.push(job.data.n);
        },
      });
    }
    await web.start({ runWorkers: false });
    try {
      await web.send('test.work', { n: 1 });
      await web.send('test.work', { n: 13 });
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(handled).toEqual([]); // the web process only enqueues
      await worker.start({ runWorkers: true });
      await waitFor(
        async () => handled.length,
        (count) => count === 1,
      );
      expect(handled).toEqual([1]);
      const dead = await waitFor(
        () => worker.boss.fetch<{ n: number }>('test.work.dead'),
        (jobs) => jobs.length > 0,
      );
      expect(dead.map((job) => job.data.n)).toEqual([13]);
      expect(attempts).toBe(2);
    } finally {
      await worker.stop(1000);
      await web.stop(1000);
    }
  });

  it('on stop, finishes in-flight jobs within the timeout and releases the rest for retry', async () => {
    t = await createTestHub();
    const jobs = new JobQueue(t.hub.database, t.hub.logger);
    const finished: string[] = [];
    const started: string[] = [];
    jobs.defineQueue({ name: 'test.graceful', retryLimit: 3, retryDelay: 1 });
    jobs.work<{ name: string; ms: number }>('test.graceful', {
      concurrency: 2,
      pollingIntervalSeconds: 0.5,
      handler: async (job) => {
        started.push(job.data.name);
        await new Promise((resolve) => setTimeout(resolve, job.data.ms));
        if (!job.signal?.aborted) finished.push(job.data.name);
      },
    });
    await jobs.start({ runWorkers: true });
    const quickId = await jobs.send('test.graceful', { name: 'quick', ms: 300 });
    const slowId = await jobs.send('test.graceful', { name: 'slow', ms: 8000 });
    await waitFor(
      async () => started.length,
      (count) => count === 2,
    );
    await jobs.stop(1500);
    expect(finished).toEqual(['quick']);

    const inspector = new JobQueue(t.hub.database, t.hub.logger);
    await inspector.start({ runWorkers: false });
    try {
      const quick = await inspector.boss.getJobById('test.graceful', quickId as string);
      const slow = await inspector.boss.getJobById('test.graceful', slowId as string);
      expect(quick?.state).toBe('completed');
      // Released: back in line for another worker, not lost and not stuck as active.
      expect(slow?.state).toBe('retry');
    } finally {
      await inspector.stop(1000);
    }
  });

  it('keeps cron schedules in the database, once per queue', async () => {
    t = await createTestHub({ workers: true });
    const schedules = await t.hub.jobs.boss.getSchedules();
    expect(schedules.map((schedule) => [schedule.name, schedule.cron])).toContainEqual([
      'sso.metadata-refresh',
      '17 */6 * * *',
    ]);
    await t.hub.jobs.schedule('sso.metadata-refresh', '17 */6 * * *');
    expect(
      (await t.hub.jobs.boss.getSchedules()).filter((schedule) => schedule.name === 'sso.metadata-refresh'),
    ).toHaveLength(1);
  });
});
