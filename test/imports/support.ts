/**
 * Import test helpers: multipart uploads as a browser or curl sends them, waiting for the job,
 * reading rows and events, and spreadsheets built with ExcelJS.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type ExcelJS from 'exceljs';
import { expect } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import { excelJsStreamedWorkbook } from './workbooks.ts';

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
 * An .xlsx workbook with the given sheets (rows of cell values), as bytes, written by ExcelJS's
 * streaming writer with a shared strings table (see workbooks.ts for the other writers).
 */
export async function workbook(sheets: Record<string, ExcelJS.CellValue[][]>): Promise<Buffer> {
  return excelJsStreamedWorkbook(sheets, { sharedStrings: true });
}
