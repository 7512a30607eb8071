/** All SQL of imports. Every query filters by organization first. */
import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../../platform/db/client.ts';
import { importFileChunks, importMappings, importRows, imports } from './schema.ts';

export type ImportRow = typeof imports.$inferSelect;
export type ImportRowOutcome = typeof importRows.$inferSelect;
export type NewImportRowOutcome = typeof importRows.$inferInsert;

export async function insertImport(executor: Executor, row: typeof imports.$inferInsert): Promise<ImportRow> {
  const [inserted] = await executor.insert(imports).values(row).returning();
  return inserted as ImportRow;
}

export async function findImport(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ImportRow | undefined> {
  const query = executor
    .select()
    .from(imports)
    .where(and(eq(imports.organizationId, organizationId), eq(imports.id, id)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function updateImport(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof imports.$inferInsert>,
): Promise<ImportRow> {
  const [row] = await executor
    .update(imports)
    .set(changes)
    .where(and(eq(imports.organizationId, organizationId), eq(imports.id, id)))
    .returning();
  return row as ImportRow;
}

export async function deleteImport(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor.delete(imports).where(and(eq(imports.organizationId, organizationId), eq(imports.id, id)));
}

export async function listImports(
  executor: Executor,
  query: { organizationId: string; after?: string; limit: number },
): Promise<ImportRow[]> {
  const filters = [eq(imports.organizationId, query.organizationId)];
  // Ids are time-ordered: newest first, paged by id.
  if (query.after) filters.push(lt(imports.id, query.after));
  return executor
    .select()
    .from(imports)
    .where(and(...filters))
    .orderBy(desc(imports.id))
    .limit(query.limit);
}

/** Another import of the organization waiting for or running an apply, if any. */
export async function findApplyInProgress(
  executor: Executor,
  organizationId: string,
  exceptId: string,
): Promise<ImportRow | undefined> {
  const [row] = await executor
    .select()
    .from(imports)
    .where(
      and(
        eq(imports.organizationId, organizationId),
        eq(imports.mode, 'apply'),
        inArray(imports.status, ['queued', 'applying']),
        sql`${imports.id} <> ${exceptId}`,
      ),
    )
    .limit(1);
  return row;
}

// The stored file

export async function insertFileChunk(
  executor: Executor,
  organizationId: string,
  importId: string,
  seq: number,
  data: Buffer,
): Promise<void> {
  await executor.insert(importFileChunks).values({ organizationId, importId, seq, data });
}

export async function readFileChunk(
  executor: Executor,
  organizationId: string,
  importId: string,
  seq: number,
): Promise<Buffer | undefined> {
  const [row] = await executor
    .select({ data: importFileChunks.data })
    .from(importFileChunks)
    .where(
      and(
        eq(importFileChunks.organizationId, organizationId),
        eq(importFileChunks.importId, importId),
        eq(importFileChunks.seq, seq),
      ),
    );
  return row?.data;
}

export async function deleteFileChunks(
  executor: Executor,
  organizationId: string,
  importId: string,
): Promise<void> {
  await executor
    .delete(importFileChunks)
    .where(and(eq(importFileChunks.organizationId, organizationId), eq(importFileChunks.importId, importId)));
}

/** Imports whose file is still stored and that were created before `before` without being applied. */
export async function findStaleFiles(executor: Executor, before: Date): Promise<ImportRow[]> {
  return executor
    .select()
    .from(imports)
    .where(
      and(
        isNull(imports.fileDeletedAt),
        lt(imports.createdAt, before),
        inArray(imports.status, ['previewed', 'failed', 'uploading']),
      ),
    )
    .limit(100);
}

// Row outcomes

/** Inserts row outcomes, one JSON parameter per thousand rows. */
export async function insertRowOutcomes(
  executor: Executor,
  rows: readonly NewImportRowOutcome[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += 1000) {
    const payload = JSON.stringify(
      rows.slice(start, start + 1000).map((row) => ({
        organization_id: row.organizationId,
        import_id: row.importId,
        seq: row.seq,
        row_number: row.rowNumber ?? null,
        outcome: row.outcome,
        email: row.email ?? null,
        user_id: row.userId ?? null,
        reasons: row.reasons ?? [],
        warnings: row.warnings ?? [],
        changes: row.changes ?? [],
      })),
    );
    await executor.execute(
      sql`insert into import_rows (organization_id, import_id, seq, row_number, outcome, email, user_id, reasons,
                                   warnings, changes)
          select v.organization_id, v.import_id, v.seq, v.row_number, v.outcome, v.email, v.user_id, v.reasons,
                 v.warnings, v.changes
          from jsonb_to_recordset(${payload}::jsonb) as v(organization_id text, import_id text, seq int,
            row_number int, outcome text, email text, user_id text, reasons jsonb, warnings jsonb, changes jsonb)`,
    );
  }
}

export async function deleteRowOutcomes(
  executor: Executor,
  organizationId: string,
  importId: string,
): Promise<void> {
  await executor
    .delete(importRows)
    .where(and(eq(importRows.organizationId, organizationId), eq(importRows.importId, importId)));
}

export async function listRowOutcomes(
  executor: Executor,
  query: { organizationId: string; importId: string; outcome?: string; afterSeq?: number; limit: number },
): Promise<ImportRowOutcome[]> {
  const filters = [
    eq(importRows.organizationId, query.organizationId),
    eq(importRows.importId, query.importId),
  ];
  if (query.outcome) filters.push(eq(importRows.outcome, query.outcome));
  if (query.afterSeq !== undefined) filters.push(gt(importRows.seq, query.afterSeq));
  return executor
    .select()
    .from(importRows)
    .where(and(...filters))
    .orderBy(asc(importRows.seq))
    .limit(query.limit);
}

export async function countOutcomes(
  executor: Executor,
  organizationId: string,
  importId: string,
): Promise<Record<string, number>> {
  const rows = await queryRows<{ outcome: string; n: number }>(
    executor,
    sql`select outcome, count(*)::int as n from import_rows
        where organization_id = ${organizationId} and import_id = ${importId} group by outcome`,
  );
  return Object.fromEntries(rows.map((row) => [row.outcome, Number(row.n)]));
}

export async function maxOutcomeSeq(
  executor: Executor,
  organizationId: string,
  importId: string,
): Promise<number> {
  const [row] = await queryRows<{ seq: number | null }>(
    executor,
    sql`select max(seq)::int as seq from import_rows where organization_id = ${organizationId} and import_id = ${importId}`,
  );
  return Number(row?.seq ?? 0);
}

// Saved mappings

export async function findMapping(
  executor: Executor,
  organizationId: string,
): Promise<typeof importMappings.$inferSelect | undefined> {
  const [row] = await executor
    .select()
    .from(importMappings)
    .where(eq(importMappings.organizationId, organizationId));
  return row;
}

export async function saveMapping(
  executor: Executor,
  organizationId: string,
  columns: Record<string, string>,
  keepUnmapped: boolean,
): Promise<typeof importMappings.$inferSelect> {
  const [row] = await executor
    .insert(importMappings)
    .values({ organizationId, columns, keepUnmapped })
    .onConflictDoUpdate({
      target: importMappings.organizationId,
      set: { columns, keepUnmapped, updatedAt: sql`now()` },
    })
    .returning();
  return row as typeof importMappings.$inferSelect;
}
