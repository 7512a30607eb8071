/**
 * Limits and bad input: size and row limits, files that are not what their name says, empty
 * files, no email column, malformed options. Each is a problem+json naming the field and the fix,
 * and a refused upload leaves nothing stored.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, multipart, upload, waitForImport, workbook } from './support.ts';
import { sharedStringsBomb } from './workbooks.ts';

let t: TestHub;
let orgId: string;
beforeAll(async () => {
  t = await createTestHub({
    workers: true,
    env: { IMPORT_MAX_BYTES: '16384', IMPORT_MAX_ROWS: '5', IMPORT_MAX_UNCOMPRESSED_BYTES: '1048576' },
  });
  orgId = (await createOrganization(t)).id;
});
afterAll(async () => t?.close());

async function storedImports(): Promise<number> {
  const rows = await t.hub.database.db.execute(
    sql`select count(*)::int as n from imports where organization_id = ${orgId}`,
  );
  const list = (Array.isArray(rows) ? rows : (rows as { rows: Array<{ n: number }> }).rows) as Array<{
    n: number;
  }>;
  return Number(list[0]?.n);
}

async function storedChunks(): Promise<number> {
  const rows = await t.hub.database.db.execute(
    sql`select count(*)::int as n from import_file_chunks where organization_id = ${orgId}`,
  );
  const list = (Array.isArray(rows) ? rows : (rows as { rows: Array<{ n: number }> }).rows) as Array<{
    n: number;
  }>;
  return Number(list[0]?.n);
}

describe('limits', () => {
  it('refuses a file over IMPORT_MAX_BYTES with 413 and stores nothing', async () => {
    const before = await storedImports();
    const big = `Email\n${Array.from({ length: 1200 }, (_, i) => `person${i}@example.com`).join('\n')}\n`;
    const response = await upload(t, orgId, { filename: 'big.csv', content: big });
    expect(response.status).toBe(413);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body).toMatchObject({ code: 'import_file_too_large', field: 'file' });
    expect(response.body.fix).toContain('IMPORT_MAX_BYTES');
    expect(await storedImports()).toBe(before);
    expect(await storedChunks()).toBe(0);
  });

  it('refuses a workbook whose shared strings inflate past IMPORT_MAX_UNCOMPRESSED_BYTES, naming the part and the limit', async () => {
    const before = await storedImports();
    const bomb = sharedStringsBomb({ mebibytes: 4 });
    expect(bomb.length).toBeLessThan(16384);
    const response = await upload(t, orgId, { filename: 'roster.xlsx', content: bomb });
    expect(response.status, response.text).toBe(413);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body).toMatchObject({
      code: 'import_file_too_large_uncompressed',
      field: 'file',
      part: 'xl/sharedStrings.xml',
      limit: 1048576,
    });
    expect(response.body.detail).toContain(
      'xl/sharedStrings.xml inflates to more than 1048576 bytes (1 MiB)',
    );
    expect(response.body.fix).toContain('IMPORT_MAX_UNCOMPRESSED_BYTES');
    expect(await storedImports()).toBe(before);
  });

  it('fails an import over IMPORT_MAX_ROWS before changing anything', async () => {
    const csv = `Email\n${Array.from({ length: 6 }, (_, i) => `p${i}@example.com`).join('\n')}\n`;
    const response = await upload(t, orgId, { filename: 'rows.csv', content: csv }, { dryRun: 'false' });
    expect(response.status).toBe(202);
    const result = await waitForImport(t, orgId, response.body.id);
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'import_too_many_rows', field: 'file' },
    });
    expect(result.error.detail).toContain('5');
    const users = await t.api('GET', `/api/v1/organizations/${orgId}/users`);
    expect(users.body.data).toEqual([]);
    const exactly = await upload(t, orgId, {
      filename: 'five.csv',
      content: `Email\n${Array.from({ length: 5 }, (_, i) => `q${i}@example.com`).join('\n')}\n`,
    });
    expect((await waitForImport(t, orgId, exactly.body.id)).status).toBe('previewed');
  });
});

describe('file types', () => {
  const cases: Array<[string, string, Buffer, number, string]> = [
    [
      'a legacy .xls workbook',
      'roster.xls',
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]),
      415,
      'import_file_type_unsupported',
    ],
    [
      'a PNG named .csv',
      'roster.csv',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      415,
      'import_file_type_unsupported',
    ],
    ['a PDF named .xlsx', 'roster.xlsx', Buffer.from('%PDF-1.7\n'), 415, 'import_file_type_unsupported'],
    [
      'text named .xlsx',
      'roster.xlsx',
      Buffer.from('Email\na@example.com\n'),
      415,
      'import_file_type_mismatch',
    ],
    ['a binary file', 'roster.dat', Buffer.from([1, 2, 0, 3, 4, 0, 5]), 415, 'import_file_type_unsupported'],
    ['an empty file', 'roster.csv', Buffer.alloc(0), 400, 'import_file_empty'],
    ['blank lines only', 'roster.csv', Buffer.from('\n\n  \n'), 400, 'import_file_empty'],
    ['a header without people', 'roster.csv', Buffer.from('Email,Name\n'), 400, 'import_file_no_rows'],
    [
      'no email column',
      'roster.csv',
      Buffer.from('Name,Department\nAda,R&D\n'),
      400,
      'import_no_email_column',
    ],
    ['a ZIP that is not a workbook', 'roster.xlsx', zipWithOneFile(), 400, 'import_xlsx_no_sheets'],
  ];
  for (const [what, filename, content, status, code] of cases) {
    it(`refuses ${what} (${code}) and stores nothing`, async () => {
      const before = await storedImports();
      const response = await upload(t, orgId, { filename, content });
      expect(response.status, response.text).toBe(status);
      expect(response.body).toMatchObject({ code });
      expect(response.body.fix).toBeTruthy();
      expect(await storedImports()).toBe(before);
    });
  }

  it('refuses an .xlsx workbook named .csv', async () => {
    const file = await workbook({ Sheet1: [['Email'], ['a@example.com']] });
    const response = await upload(t, orgId, { filename: 'roster.csv', content: file });
    expect(response.status).toBe(415);
    expect(response.body).toMatchObject({ code: 'import_file_type_mismatch', field: 'file' });
  });

  it('rejects a formula without a cached value and an error cell, row by row', async () => {
    const file = await workbook({
      Sheet1: [
        ['Email', 'Name'],
        ['a@example.com', { formula: 'CONCAT("A","B")' }],
        ['b@example.com', { error: '#N/A' }],
        ['c@example.com', 'Cee'],
      ],
    });
    const response = await upload(t, orgId, { filename: 'f.xlsx', content: file });
    const result = await waitForImport(t, orgId, response.body.id);
    expect(result.counts).toEqual({ created: 1, rejected: 2 });
    const rows = await t.api(
      'GET',
      `/api/v1/organizations/${orgId}/imports/${result.id}/rows?outcome=rejected`,
    );
    expect(rows.body.data.map((row: any) => row.reasons[0].code)).toEqual([
      'formula_without_value',
      'cell_error',
    ]);
  });
});

describe('requests', () => {
  it('requires multipart with one file in the field "file"', async () => {
    const json = await t.api('POST', `/api/v1/organizations/${orgId}/imports`, { body: { file: 'x' } });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('import_multipart_required');
    const none = await t.api(
      'POST',
      `/api/v1/organizations/${orgId}/imports`,
      multipart(undefined, { dryRun: 'true' }),
    );
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ code: 'import_file_missing', field: 'file' });
  });

  it('names the option that is wrong', async () => {
    const file = { filename: 'a.csv', content: 'Email\na@example.com\n' };
    const unknown = await upload(t, orgId, file, { dryrun: 'false' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'import_invalid_option' });
    const badBool = await upload(t, orgId, file, { fullRoster: 'maybe' });
    expect(badBool.body).toMatchObject({ code: 'import_invalid_option', field: 'fullRoster' });
    const badJson = await upload(t, orgId, file, { mapping: '{not json' });
    expect(badJson.body).toMatchObject({ code: 'import_invalid_option', field: 'mapping' });
    const group = await upload(t, orgId, file, { group: 'Nope' });
    expect(group.body).toMatchObject({ code: 'unknown_group', field: 'group' });
    const required = await upload(t, orgId, file, { required: 'given_name' });
    expect(required.body).toMatchObject({ code: 'import_required_column_missing', field: 'required' });
  });

  it('refuses read keys, other organizations and applying twice', async () => {
    const file = { filename: 'a.csv', content: 'Email\nz@example.com\n' };
    const body = multipart(file);
    const read = await t.api('POST', `/api/v1/organizations/${orgId}/imports`, { ...body, key: t.readKey });
    expect(read.status).toBe(403);
    const created = await upload(t, orgId, file);
    const done = await waitForImport(t, orgId, created.body.id);
    const other = await createOrganization(t);
    const foreign = await t.api('GET', `/api/v1/organizations/${other.id}/imports/${done.id}`);
    expect(foreign.status).toBe(404);
    const foreignReport = await t.api(
      'GET',
      `/api/v1/organizations/${other.id}/imports/${done.id}/report.csv`,
    );
    expect(foreignReport.status).toBe(404);
    expect(foreignReport.body.code).toBe('import_not_found');
    const applied = await t.api('POST', `/api/v1/organizations/${orgId}/imports/${done.id}/apply`);
    expect(applied.status).toBe(202);
    await waitForImport(t, orgId, done.id);
    const again = await t.api('POST', `/api/v1/organizations/${orgId}/imports/${done.id}/apply`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('import_not_applicable');
    // Applied: the stored file is gone, the report stays.
    expect(await storedChunksOf(done.id)).toBe(0);
    const report = await t.api('GET', `/api/v1/organizations/${orgId}/imports/${done.id}/report.csv`);
    expect(report.text).toContain('z@example.com,created');
  });
});

async function storedChunksOf(importId: string): Promise<number> {
  const rows = await t.hub.database.db.execute(
    sql`select count(*)::int as n from import_file_chunks where import_id = ${importId}`,
  );
  const list = (Array.isArray(rows) ? rows : (rows as { rows: Array<{ n: number }> }).rows) as Array<{
    n: number;
  }>;
  return Number(list[0]?.n);
}

/** A ZIP archive holding one text file (stored, no compression): a ZIP that is not a workbook. */
function zipWithOneFile(): Buffer {
  const name = Buffer.from('notes.txt');
  const data = Buffer.from('hello');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
