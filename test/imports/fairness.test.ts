/**
 * One tenant's big import holds neither another tenant's import nor the hub: another
 * organization's small file is applied while the big one is still running (PostgreSQL: the big
 * one is held deterministically by a row it must wait for), and the embedded hub answers
 * `/healthz` over HTTP while a 20,000-row import runs (its event-loop lag is measured in the
 * bench, not here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, databaseKind, type TestHub } from '../support/hub.ts';
import { createOrganization, upload, waitForImport } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub({ workers: true, listen: true });
});
afterAll(async () => t?.close());

async function importOf(orgId: string, importId: string) {
  const response = await t.api('GET', `/api/v1/organizations/${orgId}/imports/${importId}`);
  expect(response.status, response.text).toBe(200);
  return response.body as { status: string; progress: { rowsDone: number; totalRows: number | null } };
}

/** Polls until `done` holds (every 50 ms, at most `seconds`), then returns the last state. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, seconds = 120): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const roster = (prefix: string, rows: number) =>
  `Email,Nombre\n${Array.from({ length: rows }, (_, index) => `${prefix}${index}@example.com,N${index}`).join('\n')}\n`;

describe('one tenant does not hold another', () => {
  it.runIf(databaseKind() === 'postgres')(
    "applies another organization's small file while a big apply is held, then the big one",
    async () => {
      const big = await createOrganization(t);
      const small = await createOrganization(t);
      const preview = await upload(t, big.id, {
        filename: 'big.csv',
        content: `Email\ngate@example.com\n${roster('b', 50).split('\n').slice(1).join('\n')}`,
      });
      expect(preview.status, preview.text).toBe(202);
      expect((await waitForImport(t, big.id, preview.body.id)).status).toBe('previewed');

      // Hold the big apply: an uncommitted user with its first row's email makes its first insert
      // wait on the unique key until this transaction ends (rolled back: the import creates it).
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding = () => {};
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const gate = t.hub.database
        .transaction(async (tx) => {
          await t.hub.directory.createUsers(big.id, [{ email: 'gate@example.com' }], {
            actor: { type: 'system' },
            source: 'api',
            tx,
          });
          holding();
          await released;
          throw new Error('rolled back');
        })
        .catch(() => {});
      await held;
      try {
        const apply = await t.api('POST', `/api/v1/organizations/${big.id}/imports/${preview.body.id}/apply`);
        expect(apply.status, apply.text).toBe(202);
        await until(
          () => importOf(big.id, preview.body.id),
          (state) => state.status === 'applying',
        );

        const other = await upload(
          t,
          small.id,
          { filename: 'small.csv', content: roster('s', 30) },
          { dryRun: 'false' },
        );
        expect(other.status, other.text).toBe(202);
        const otherDone = await until(
          () => importOf(small.id, other.body.id),
          (state) => ['applied', 'failed'].includes(state.status),
        );
        expect(otherDone).toMatchObject({ status: 'applied', progress: { rowsDone: 30 } });
        expect((await importOf(big.id, preview.body.id)).status).toBe('applying');
      } finally {
        release();
        await gate;
      }
      const bigDone = await waitForImport(t, big.id, preview.body.id);
      expect(bigDone).toMatchObject({ status: 'applied', counts: { created: 51 } });
    },
    180_000,
  );

  it.runIf(databaseKind() === 'embedded')(
    'answers /healthz over HTTP while a 20,000-row import runs',
    async () => {
      const org = await createOrganization(t);
      const response = await upload(t, org.id, { filename: 'grande.csv', content: roster('g', 20_000) });
      expect(response.status, response.text).toBe(202);
      const running = await until(
        () => importOf(org.id, response.body.id),
        (state) =>
          state.status !== 'queued' && (state.progress.rowsDone >= 1000 || state.status === 'previewed'),
      );
      expect(running.status, 'the import must be under way, not finished, when /healthz is asked').toBe(
        'previewing',
      );
      const health = await fetch(`${t.url}/healthz`);
      expect(health.status).toBe(200);
      const after = await importOf(org.id, response.body.id);
      expect(after.status, '/healthz must be answered before the import ends').toBe('previewing');
      expect(after.progress.rowsDone).toBeLessThan(20_000);
      expect(await waitForImport(t, org.id, response.body.id)).toMatchObject({
        status: 'previewed',
        counts: { created: 20_000 },
      });
    },
    300_000,
  );
});
