/**
 * The import job across processes and failures: a web-only hub stores the file, a worker-only hub
 * on the same database previews and applies it; an apply that stopped half-way resumes after the
 * last committed row; unapplied files expire.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  applyImport,
  createOrganization,
  importFile,
  rowsOf,
  upload,
  usersOf,
  waitForImport,
} from './support.ts';

let web: TestHub;
let worker: TestHub;
beforeAll(async () => {
  web = await createTestHub({ role: 'web' });
  worker = await createTestHub({ role: 'worker', workers: true, sameDatabaseAs: web });
});
afterAll(async () => {
  await worker?.close();
  await web?.close();
});

it('a worker process reads the file a web process stored, and applies it', async () => {
  const org = await createOrganization(web);
  const csv = 'Email,Nombre\nuno@example.com,Uno\ndos@example.com,Dos\n';
  const preview = await importFile(web, org.id, { filename: 'r.csv', content: csv });
  expect(preview).toMatchObject({ status: 'previewed', counts: { created: 2 } });
  const applied = await applyImport(web, org.id, preview.id);
  expect(applied).toMatchObject({ status: 'applied', counts: { created: 2 } });
  expect((await usersOf(web, org.id)).map((user) => user.email).sort()).toEqual([
    'dos@example.com',
    'uno@example.com',
  ]);
});

it('an interrupted apply resumes after the last committed row', async () => {
  const org = await createOrganization(web);
  const csv = `Email\n${Array.from({ length: 6 }, (_, i) => `p${i}@example.com`).join('\n')}\n`;
  const preview = await importFile(web, org.id, { filename: 'r.csv', content: csv });
  // As a worker that died after committing rows 2 to 4 leaves it (their changes are in the store).
  await web.hub.database.db.execute(
    sql`update imports set status = 'failed', mode = 'apply', applied_through_row = 4 where id = ${preview.id}`,
  );
  await web.hub.database.db.execute(sql`delete from import_rows where import_id = ${preview.id} and seq > 4`);
  const resumed = await applyImport(web, org.id, preview.id);
  expect(resumed).toMatchObject({ status: 'applied', progress: { rowsDone: 6, totalRows: 6 } });
  const rows = await rowsOf(web, org.id, preview.id);
  // Rows 2-4 keep their recorded outcomes; rows 5-7 are applied now.
  expect(rows.map((row) => row.rowNumber)).toEqual([2, 3, 4, 5, 6, 7]);
  expect((await usersOf(web, org.id)).map((user) => user.email).sort()).toEqual([
    'p3@example.com',
    'p4@example.com',
    'p5@example.com',
  ]);
});

it('deletes the file of an import never applied after IMPORT_FILE_RETENTION_DAYS; it can no longer be applied', async () => {
  const org = await createOrganization(web);
  const response = await upload(web, org.id, { filename: 'r.csv', content: 'Email\nold@example.com\n' });
  const preview = await waitForImport(web, org.id, response.body.id);
  expect(await web.hub.imports.deleteExpiredFiles(new Date())).toBe(0);
  const later = new Date(Date.now() + (web.config.IMPORT_FILE_RETENTION_DAYS + 1) * 86_400_000);
  expect(await web.hub.imports.deleteExpiredFiles(later)).toBeGreaterThanOrEqual(1);
  const apply = await web.api('POST', `/api/v1/organizations/${org.id}/imports/${preview.id}/apply`);
  expect(apply.status).toBe(409);
  expect(apply.body.code).toBe('import_file_expired');
  // The preview rows stay readable.
  expect(await rowsOf(web, org.id, preview.id)).toHaveLength(1);
});
