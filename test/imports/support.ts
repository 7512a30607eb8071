/**
 * Import test helpers: multipart uploads as a browser or curl sends them, waiting for the job,
 * reading rows and events, and spreadsheets built with ExcelJS.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import unzipper from 'unzipper';
import { expect } from 'vitest';
import type { TestHub } from '../support/hub.ts';

let counter = 0;

/** An organization, optionally with a verified domain (verified in the database: DNS is not under test). */
export async function createOrganization(t: TestHub, options: { domain?: string } = {}) {
  const response = await t.api('POST', '/api/v1/organizations', {
    body: {
      name: `Import Org ${++counter} ${process.pid}`,
      ...(options.domain ? { domains: [options.domain] } : {}),
    },
  });
  expect(response.status, response.text).toBe(201);
  if (options.domain) {
    await t.hub.database.db.execute(
      sql`update organization_domains set verified = true, verified_at = now() where domain = ${options.domain}`,
    );
  }
  return { id: response.body.id as string, slug: response.body.slug as string };
}

/** A multipart/form-data body with a file in `file` and text fields. */
export function multipart(
  file: { filename: string; content: Buffer | string; type?: string } | undefined,
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----switchboard${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

export async function upload(
  t: TestHub,
  orgId: string,
  file: { filename: string; content: Buffer | string } | undefined,
  fields: Record<string, string> = {},
) {
  const body = multipart(file, fields);
  return t.api('POST', `/api/v1/organizations/${orgId}/imports`, body);
}

const TERMINAL = ['previewed', 'applied', 'failed'];

/** Waits for the import's job (the hub runs workers) to reach a terminal status. */
export async function waitForImport(t: TestHub, orgId: string, importId: string): Promise<any> {
  for (;;) {
    const response = await t.api('GET', `/api/v1/organizations/${orgId}/imports/${importId}`);
    expect(response.status, response.text).toBe(200);
    if (TERMINAL.includes(response.body.status)) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Uploads and waits for the preview (or the apply, with dryRun=false). */
export async function importFile(
  t: TestHub,
  orgId: string,
  file: { filename: string; content: Buffer | string },
  fields: Record<string, string> = {},
) {
  const response = await upload(t, orgId, file, fields);
  expect(response.status, response.text).toBe(202);
  return waitForImport(t, orgId, response.body.id);
}

export async function applyImport(t: TestHub, orgId: string, importId: string) {
  const response = await t.api('POST', `/api/v1/organizations/${orgId}/imports/${importId}/apply`);
  expect(response.status, response.text).toBe(202);
  return waitForImport(t, orgId, importId);
}

export async function rowsOf(t: TestHub, orgId: string, importId: string, outcome?: string): Promise<any[]> {
  const rows: any[] = [];
  let after: string | null = null;
  do {
    const query = new URLSearchParams({
      limit: '1000',
      ...(outcome ? { outcome } : {}),
      ...(after ? { after } : {}),
    });
    const response = await t.api('GET', `/api/v1/organizations/${orgId}/imports/${importId}/rows?${query}`);
    expect(response.status, response.text).toBe(200);
    rows.push(...response.body.data);
    after = response.body.nextCursor;
  } while (after);
  return rows;
}

export async function usersOf(t: TestHub, orgId: string): Promise<any[]> {
  const response = await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=200`);
  expect(response.status, response.text).toBe(200);
  return response.body.data;
}

export async function eventsOf(t: TestHub, organizationId: string): Promise<any[]> {
  const client = (t.hub.database.pool ?? t.hub.database.pglite) as {
    query(text: string, values: unknown[]): Promise<{ rows: any[] }>;
  };
  const { rows } = await client.query(
    'select id, type, actor, subject_type, subject_id, data from events where organization_id = $1 order by id',
    [organizationId],
  );
  return rows.map((row) => ({
    id: String(row.id),
    type: row.type as string,
    actor: row.actor,
    subject: { type: row.subject_type, id: row.subject_id },
    data: row.data,
  }));
}

/**
 * An .xlsx workbook with the given sheets (rows of cell values), as bytes. Written by ExcelJS's
 * streaming writer, whose ZIP entries come in one order every time; `Workbook.xlsx.writeBuffer`
 * orders them differently from run to run, and one of its orders (shared strings before the
 * sheets, the workbook part after them) is one ExcelJS's own streaming reader cannot read
 * ("Cannot read properties of undefined (reading 'sheets')": seen once in CI).
 */
export async function workbook(sheets: Record<string, ExcelJS.CellValue[][]>): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: true });
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    for (const row of rows) sheet.addRow(row).commit();
    sheet.commit();
  }
  await book.commit();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * The same workbook with its ZIP entries stored in another order: `first` names the entries to put
 * first, in that order; the rest follow in their original order. Entries are deflated, as Excel's are.
 */
export async function reorderedWorkbook(file: Buffer, first: readonly string[]): Promise<Buffer> {
  const directory = await unzipper.Open.buffer(file);
  const entries = await Promise.all(
    directory.files.map(async (entry) => ({ path: entry.path, data: await entry.buffer() })),
  );
  const rank = (path: string) => (first.includes(path) ? first.indexOf(path) : first.length);
  entries.sort((a, b) => rank(a.path) - rank(b.path));
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { path, data: raw } of entries) {
    const name = Buffer.from(path);
    const sum = crc32(raw);
    const data = deflateRawSync(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(sum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(sum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
