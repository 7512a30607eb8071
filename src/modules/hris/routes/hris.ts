/** Admin API of HR and directory pulls: connectors, directories, mapping preview, syncs, runs, records, settings. */
import { z } from 'zod';
import { hrConnectors } from '../../../connectors/hris-registry.ts';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  connectionCheckSchema,
  createHrisDirectoryBody,
  fieldMappingInput,
  hrisDirectorySchema,
  hrisSettingsBody,
  hrisSettingsSchema,
  linkRecordBody,
  previewBody,
  previewSchema,
  recordSchema,
  sourceFieldSchema,
  syncRequestBody,
  syncRunSchema,
  updateHrisDirectoryBody,
} from '../contracts.ts';
import type { HrisModule } from '../index.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const directoryParams = orgParams.extend({ id: z.string().min(1).describe('Directory id (dir_...).') });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  502: problemSchema,
};
const tags = ['HR and directory sync'];
const base = '/api/v1/organizations/:org/hris';

const connectorSchema = z
  .object({
    provider: z.string(),
    displayName: z.string(),
    kinds: z.array(z.string()),
    auth: z.object({ mode: z.string() }),
    baseUrl: z.string(),
    pagination: z.object({ style: z.string(), maxPageSize: z.number() }),
    rateLimit: z.object({ throttleStatuses: z.array(z.number()), notes: z.string() }),
    incremental: z.object({
      supported: z.boolean(),
      style: z.string().optional(),
      signalsDeletions: z.boolean(),
    }),
    config: z.record(z.string(), z.unknown()).describe('JSON Schema of the connector settings.'),
    credentials: z.record(z.string(), z.unknown()).describe('JSON Schema of the connector secrets.'),
    defaultMapping: fieldMappingInput,
  })
  .meta({ id: 'HrisConnector' });

export function hrisRoutes(app: App, deps: { hris: HrisModule; requireScope: ScopeGuard }) {
  const { hris, requireScope } = deps;

  app.route({
    method: 'GET',
    url: '/api/v1/hris/connectors',
    schema: {
      tags,
      summary: 'List HR and directory connectors',
      description:
        'What each connector needs (settings, secrets), how it pages and throttles, and its default field mapping.',
      response: { 200: z.object({ data: z.array(connectorSchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async () => ({
      data: hrConnectors().map(({ manifest }) => ({
        provider: manifest.provider,
        displayName: manifest.displayName,
        kinds: [...manifest.kinds],
        auth: { mode: manifest.auth.mode },
        baseUrl: manifest.baseUrl,
        pagination: { style: manifest.pagination.style, maxPageSize: manifest.pagination.maxPageSize },
        rateLimit: {
          throttleStatuses: [...manifest.rateLimit.throttleStatuses],
          notes: manifest.rateLimit.notes,
        },
        incremental: manifest.incremental,
        config: z.toJSONSchema(manifest.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
          string,
          unknown
        >,
        credentials: z.toJSONSchema(manifest.credentialsSchema, {
          io: 'input',
          unrepresentable: 'any',
        }) as Record<string, unknown>,
        defaultMapping: manifest.defaultMapping as z.output<typeof fieldMappingInput>,
      })),
    }),
  });

  app.route({
    method: 'POST',
    url: `${base}/directories`,
    schema: {
      tags,
      summary: 'Connect an HR system or directory',
      description:
        'Creates a pull directory: the connector, its settings, its secrets (encrypted at rest, never returned), the field mapping overrides, the schedule and the joiner/leaver policies. Test it with POST .../test, preview the mapping, then sync.',
      params: orgParams,
      body: createHrisDirectoryBody,
      response: { 201: hrisDirectorySchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await hris.directories.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: `${base}/directories`,
    schema: {
      tags,
      summary: "List an organization's HR and directory pulls",
      params: orgParams,
      response: { 200: z.object({ data: z.array(hrisDirectorySchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await hris.directories.list(request.params.org) }),
  });

  app.route({
    method: 'GET',
    url: `${base}/directories/:id`,
    schema: {
      tags,
      summary: 'Get an HR or directory pull (with its last sync and error)',
      params: directoryParams,
      response: { 200: hrisDirectorySchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => hris.directories.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: `${base}/directories/:id`,
    schema: {
      tags,
      summary: 'Change an HR or directory pull',
      description:
        'Settings, secrets (replaced), mapping overrides (replaced), schedule, policies, name, status.',
      params: directoryParams,
      body: updateHrisDirectoryBody,
      response: { 200: hrisDirectorySchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.updated'] },
    handler: async (request) =>
      hris.directories.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: `${base}/directories/:id`,
    schema: {
      tags,
      summary: 'Delete an HR or directory pull',
      description:
        'Removes the connector, its stored secrets, its records and its sync history. The users it matched or created stay, with their status, groups and HR attributes; their HR profile no longer names this directory as its source, and its external id is removed from them. Refused (409 sync_running) while a sync is running.',
      params: directoryParams,
      response: {
        200: z
          .object({
            recordsRemoved: z.number().int().describe('HR records deleted with the directory.'),
            usersDetached: z.number().int().describe('Users kept, no longer linked to this directory.'),
          })
          .meta({ id: 'HrisDirectoryDeleted' }),
        ...errors,
      },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.deleted'] },
    handler: async (request) => hris.deleteDirectory(request.params.org, request.params.id, request.actor),
  });

  app.route({
    method: 'POST',
    url: `${base}/directories/:id/test`,
    schema: {
      tags,
      summary: 'Test the connection',
      description: 'Signs in to the source and reads one record. Answers 200 either way; `ok` says which.',
      params: directoryParams,
      response: { 200: connectionCheckSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'a read-only check of the source; changes nothing' } },
    handler: async (request) => hris.directories.testConnection(request.params.org, request.params.id),
  });

  app.route({
    method: 'GET',
    url: `${base}/directories/:id/source-fields`,
    schema: {
      tags,
      summary: 'List the fields the source offers (for mapping)',
      params: directoryParams,
      response: { 200: z.object({ data: z.array(sourceFieldSchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({
      data: await hris.directories.sourceFields(request.params.org, request.params.id),
    }),
  });

  app.route({
    method: 'POST',
    url: `${base}/directories/:id/mapping/preview`,
    schema: {
      tags,
      summary: 'Preview a field mapping on real records',
      description:
        'Reads the first few records from the source and maps them with the given mapping (or the saved one). Saves nothing; save the mapping with PATCH.',
      params: directoryParams,
      body: previewBody,
      response: { 200: previewSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'a read-only preview; saves nothing' } },
    handler: async (request) =>
      hris.directories.preview(
        request.params.org,
        request.params.id,
        request.body.mapping,
        request.body.limit,
      ),
  });

  app.route({
    method: 'POST',
    url: `${base}/directories/:id/sync`,
    schema: {
      tags,
      summary: 'Sync now',
      description:
        'Queues a sync (`auto`: incremental when possible). A failed sync resumes from its checkpoint. Follow it under .../runs.',
      params: directoryParams,
      body: syncRequestBody.nullish(),
      response: {
        202: z.object({ jobId: z.string().nullable(), directoryId: z.string(), mode: z.string() }),
        ...errors,
      },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['hris.sync_requested'] },
    handler: async (request, reply) =>
      reply
        .status(202)
        .send(
          await hris.requestSync(
            request.params.org,
            request.params.id,
            request.body?.mode ?? 'auto',
            request.actor,
          ),
        ),
  });

  app.route({
    method: 'GET',
    url: `${base}/directories/:id/runs`,
    schema: {
      tags,
      summary: 'List sync runs (newest first) with their statistics and errors',
      params: directoryParams,
      querystring: z.object({
        limit: paginationQuery.limit,
        after: z.string().max(200).optional().describe('The `nextCursor` of the previous page.'),
      }),
      response: { 200: pageOf(syncRunSchema, 'HrisSyncRunPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) =>
      hris.listRuns(request.params.org, request.params.id, {
        limit: request.query.limit,
        ...(request.query.after ? { before: request.query.after } : {}),
      }),
  });

  app.route({
    method: 'GET',
    url: `${base}/runs/:runId`,
    schema: {
      tags,
      summary: 'Get a sync run',
      params: orgParams.extend({ runId: z.string().min(1) }),
      response: { 200: syncRunSchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => hris.getRun(request.params.org, request.params.runId),
  });

  app.route({
    method: 'GET',
    url: `${base}/directories/:id/records`,
    schema: {
      tags,
      summary: 'List HR records (filter `match=unmatched|ambiguous` for the ones to review)',
      params: directoryParams,
      querystring: z.object({
        ...paginationQuery,
        match: z.enum(['matched', 'created', 'unmatched', 'ambiguous']).optional(),
      }),
      response: { 200: pageOf(recordSchema, 'HrisRecordPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) =>
      hris.listRecords(request.params.org, request.params.id, {
        limit: request.query.limit,
        ...(request.query.after ? { after: request.query.after } : {}),
        ...(request.query.match ? { match: request.query.match } : {}),
      }),
  });

  app.route({
    method: 'POST',
    url: `${base}/directories/:id/records/:sourceId/link`,
    schema: {
      tags,
      summary: 'Link an unmatched or ambiguous record to a user',
      description:
        'An admin decision replacing the automatic match; the next sync writes the HR profile to that user.',
      params: directoryParams.extend({ sourceId: z.string().min(1).max(200) }),
      body: linkRecordBody,
      response: {
        200: z.object({ sourceId: z.string(), userId: z.string(), matchStatus: z.literal('matched') }),
        ...errors,
      },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['hris.record_linked'] },
    handler: async (request) =>
      hris.linkRecord(
        request.params.org,
        request.params.id,
        request.params.sourceId,
        request.body.userId,
        request.actor,
      ),
  });

  app.route({
    method: 'GET',
    url: `${base}/settings`,
    schema: {
      tags,
      summary: "The organization's HR policies (matching, context allow-list, level bands)",
      params: orgParams,
      response: { 200: hrisSettingsSchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => hris.settings.get(request.params.org),
  });

  app.route({
    method: 'PATCH',
    url: `${base}/settings`,
    schema: {
      tags,
      summary: "Change the organization's HR policies",
      params: orgParams,
      body: hrisSettingsBody,
      response: { 200: hrisSettingsSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['hris.settings_updated'] },
    handler: async (request) => hris.settings.update(request.params.org, request.body, request.actor),
  });
}
