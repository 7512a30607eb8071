/**
 * The import job across processes and failures: a web-only hub stores the file, a worker-only hub
 * on the same database previews and applies it; an apply that stopped half-way resumes after the
 * last committed row; unapplied files expire; a file the reader refuses is logged with the reader's
 * cause, at upload and in the job.
 */
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ImportService, type UploadPart } from '../../src/modules/imports/index.ts';
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
import { workbookWithSheet } from './workbooks.ts';

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

it("logs a file the reader refuses with the reader's cause, at upload and in the job", async () => {
  const org = await createOrganization(web);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const { config, database, directory, orgs, scim, events, jobs } = web.hub;
  const service = new ImportService({ config, database, directory, orgs, scim, events, jobs, logger });
  const sheet = (rows: string) =>
    `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
  const cell = (row: number, text: string) =>
    `<row r="${row}"><c r="A${row}" t="inlineStr"><is><t>${text}</t></is></c></row>`;
  const actor = { type: 'api_key' as const, id: 'test' };
  const parts = (file: Buffer): AsyncIterable<UploadPart> =>
    (async function* () {
      yield { type: 'file', fieldname: 'file', filename: 'roster.xlsx', file: Readable.from([file]) };
    })();

  // Unreadable at once: refused at upload.
  await expect(
    service.upload(org.id, parts(workbookWithSheet(sheet('<row r="1"><c r="A1">'))), actor),
  ).rejects.toMatchObject({
    code: 'import_xlsx_unreadable',
  });
  expect(lines.find((line) => line.msg === 'import file refused')).toMatchObject({
    level: 40,
    stage: 'upload',
    organizationId: org.id,
    code: 'import_xlsx_unreadable',
    cause: expect.stringMatching(
      /^WorkbookFormatError: xl\/worksheets\/sheet1\.xml is not well-formed XML .* <- Error: /,
    ),
  });

  // Readable at upload (the header and a row: the first pieces of a 1.1 MB sheet), broken at its
  // end: the job fails it, once, and says why.
  const rows = Array.from({ length: 14_000 }, (_, index) => cell(index + 2, `p${index}@example.com`)).join(
    '',
  );
  const file = workbookWithSheet(
    sheet(`${cell(1, 'Email')}${rows}<row r="14002"><c r="A14002" t="s"><v>9</v></c></row>`),
  );
  const response = await upload(web, org.id, { filename: 'roster.xlsx', content: file });
  expect(response.status, response.text).toBe(202);
  const failed = await waitForImport(web, org.id, response.body.id);
  expect(failed).toMatchObject({
    status: 'failed',
    error: { code: 'import_xlsx_unreadable', field: 'file' },
  });
  // Run it again here (no job is queued for it), to read the job's log line.
  await web.hub.database.db.execute(sql`update imports set status = 'queued' where id = ${failed.id}`);
  await service.runJob({ data: { organizationId: org.id, importId: failed.id }, retryCount: 0 });
  expect(lines.find((line) => line.stage === 'job')).toMatchObject({
    level: 40,
    msg: 'import file refused',
    importId: failed.id,
    code: 'import_xlsx_unreadable',
    cause: expect.stringContaining('refers to shared string 9'),
  });
  expect((await waitForImport(web, org.id, failed.id)).status).toBe('failed');
});
