import { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import { z } from 'zod';
import { UnsupportedMediaType } from '../../../platform/errors.ts';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  importRowSchema,
  importSchema,
  ROW_OUTCOMES,
  savedMappingSchema,
  saveMappingBody,
} from '../contracts.ts';
import type { ImportService, UploadPart } from '../service.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const importParams = orgParams.extend({ id: z.string().min(1).describe('Import id (imp_...).') });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};
const tags = ['Imports'];

/**
 * Import routes, in their own plugin: only they accept multipart/form-data (streamed, never
 * buffered whole; at most one file of IMPORT_MAX_BYTES and a few small fields).
 */
export async function importRoutes(
  app: App,
  deps: { imports: ImportService; requireScope: ScopeGuard; maxBytes: number },
) {
  const { imports, requireScope } = deps;
  await app.register(fastifyMultipart, {
    limits: { fileSize: deps.maxBytes + 1, files: 2, fields: 20, fieldSize: 64 * 1024, parts: 25 },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/imports',
    schema: {
      tags,
      summary: 'Upload a roster (CSV or .xlsx) to preview or apply',
      description: [
        'multipart/form-data with the file in field `file` and options as text fields:',
        '`dryRun` (default true: preview only), `fullRoster`, `sheet`, `mapping` (JSON: header -> field),',
        '`saveMapping`, `keepUnmapped`, `group`, `createGroups`, `required` (comma-separated fields).',
        'Answers 202 with the import queued; poll it for progress, then read its rows or report.',
      ].join(' '),
      params: orgParams,
      response: { 202: importSchema, ...errors, 413: problemSchema, 415: problemSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['import.created', 'import.mapping_saved'] },
    handler: async (request, reply) => {
      if (!request.isMultipart()) {
        throw new UnsupportedMediaType({
          code: 'import_multipart_required',
          detail: 'An import upload is multipart/form-data.',
          fix: 'Send the file in a multipart field named "file" (curl -F file=@roster.xlsx).',
        });
      }
      const parts = (async function* (): AsyncGenerator<UploadPart> {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            yield {
              type: 'file',
              fieldname: part.fieldname,
              filename: part.filename,
              file: part.file as Readable,
            };
          } else {
            yield { type: 'field', fieldname: part.fieldname, value: part.value };
          }
        }
      })();
      const created = await imports.upload(request.params.org, parts, request.actor);
      return reply.status(202).send(created);
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/imports',
    schema: {
      tags,
      summary: "List an organization's imports, newest first",
      params: orgParams,
      querystring: z.object(paginationQuery),
      response: { 200: pageOf(importSchema, 'ImportPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => imports.list(request.params.org, request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/imports/:id',
    schema: {
      tags,
      summary: 'Get an import: status, progress (rows done / total), mapping and counts',
      params: importParams,
      response: { 200: importSchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => imports.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/imports/:id/rows',
    schema: {
      tags,
      summary: 'Row-by-row outcomes (the preview, then the result of the apply)',
      params: importParams,
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Rows per page (1-1000).'),
        after: z.string().max(20).optional().describe('The `nextCursor` of the previous page.'),
        outcome: z.enum(ROW_OUTCOMES).optional().describe('Only rows with this outcome.'),
      }),
      response: { 200: pageOf(importRowSchema, 'ImportRowPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => imports.rows(request.params.org, request.params.id, request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/imports/:id/report.csv',
    schema: {
      tags,
      summary: 'The report as CSV: counts, then every row with its outcome and reasons',
      description:
        'Cells starting with = + - @, a tab or a carriage return are prefixed with a quote so spreadsheets show them as text.',
      params: importParams,
    },
    onRequest: requireScope('read'),
    handler: async (request, reply) => {
      const lines = imports.report(request.params.org, request.params.id);
      // Read the first line before answering, so a missing import is a 404, not a broken stream.
      const first = await lines.next();
      const body = Readable.from(
        (async function* () {
          if (!first.done) yield first.value;
          yield* lines;
        })(),
      );
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${request.params.id}.csv"`)
        .send(body);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/imports/:id/apply',
    schema: {
      tags,
      summary: 'Apply a previewed import (as a job; poll the import for progress)',
      params: importParams,
      response: { 202: importSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['import.apply_requested', 'import.applied'] },
    handler: async (request, reply) =>
      reply.status(202).send(await imports.apply(request.params.org, request.params.id, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/import-mapping',
    schema: {
      tags,
      summary: "The organization's saved column mapping",
      params: orgParams,
      response: { 200: savedMappingSchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => imports.getMapping(request.params.org),
  });

  app.route({
    method: 'PUT',
    url: '/api/v1/organizations/:org/import-mapping',
    schema: {
      tags,
      summary: 'Save the column mapping used for the next files',
      description: 'Headers are stored folded (case, accents and punctuation ignored).',
      params: orgParams,
      body: saveMappingBody,
      response: { 200: savedMappingSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['import.mapping_saved'] },
    handler: async (request) => imports.saveMapping(request.params.org, request.body, request.actor),
  });
}
