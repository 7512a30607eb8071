/**
 * Pull directories (kind `hris` or `directory`): an HR system or directory the hub reads people
 * from through a connector. Their rows live in the directory module's `directories` table; this
 * service validates the connector config and credentials against the connector's manifest, seals
 * the credentials (AES-GCM, bound to the row and column), tests connections, and previews mappings.
 */
import type { z } from 'zod';
import type {
  ConnectionCheck,
  FieldMapping,
  HrClient,
  HrClientEnvironment,
  SourceFieldInfo,
} from '../../connectors/hris-contract.ts';
import { HrConnectorError } from '../../connectors/hris-contract.ts';
import { mergeMapping } from '../../connectors/hris-mapping.ts';
import { type AnyHrConnector, hrConnector, hrProviders } from '../../connectors/hris-registry.ts';
import type { Database } from '../../platform/db/client.ts';
import { InvalidInput, UpstreamError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoriesService, DirectoryRow } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import { sameValue } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import {
  type CreateHrisDirectoryInput,
  createHrisDirectoryBody,
  type FieldMappingInput,
  type HrisDirectorySettings,
  type HrisDirectoryView,
  type HrisSyncState,
  hrisDirectorySettingsSchema,
  type UpdateHrisDirectoryInput,
  updateHrisDirectoryBody,
} from './contracts.ts';

/** A pull directory ready to read: its row, parsed settings, connector and a client. */
export interface OpenedDirectory {
  row: DirectoryRow;
  settings: HrisDirectorySettings;
  connector: AnyHrConnector;
  mapping: FieldMapping;
  client: HrClient;
}

const PULL_KINDS = ['hris', 'directory'] as const;

export function credentialsContext(directoryId: string): string {
  return `directory:${directoryId}:credentials`;
}

export class HrisDirectoryService {
  readonly #database: Database;
  readonly #directories: DirectoriesService;
  readonly #orgs: OrganizationService;
  readonly #events: EventLog;
  readonly #secrets: SecretBox;
  readonly #env: HrClientEnvironment;

  constructor(deps: {
    database: Database;
    directories: DirectoriesService;
    orgs: OrganizationService;
    events: EventLog;
    secrets: SecretBox;
    env?: HrClientEnvironment;
  }) {
    this.#database = deps.database;
    this.#directories = deps.directories;
    this.#orgs = deps.orgs;
    this.#events = deps.events;
    this.#secrets = deps.secrets;
    this.#env = deps.env ?? {};
  }

  async create(
    organizationIdOrSlug: string,
    input: CreateHrisDirectoryInput,
    actor: Actor,
  ): Promise<HrisDirectoryView> {
    const parsed = createHrisDirectoryBody.parse(input);
    const connector = requireConnector(parsed.provider);
    if (!connector.manifest.kinds.includes(parsed.kind)) {
      throw new InvalidInput({
        code: 'connector_kind_mismatch',
        detail: `The ${connector.manifest.displayName} connector serves directories of kind ${connector.manifest.kinds.join(' or ')}, not ${parsed.kind}.`,
        field: 'kind',
        fix: `Set kind to ${connector.manifest.kinds[0]}.`,
      });
    }
    const config = parseSection(connector.manifest.configSchema, parsed.config, 'config');
    const credentials = parseSection(connector.manifest.credentialsSchema, parsed.credentials, 'credentials');
    const settings = hrisDirectorySettingsSchema.parse({
      config,
      ...(parsed.mapping ? { mapping: parsed.mapping } : {}),
      ...(parsed.schedule ? { schedule: parsed.schedule } : {}),
      ...(parsed.joiners ? { joiners: parsed.joiners } : {}),
      ...(parsed.leavers ? { leavers: parsed.leavers } : {}),
      ...(parsed.maxDeletionRatio !== undefined ? { maxDeletionRatio: parsed.maxDeletionRatio } : {}),
    });
    return this.#database.transaction(async (tx) => {
      const org = await this.#orgs.require(organizationIdOrSlug, tx);
      const id = newId('directory');
      const row = await this.#directories.insertPullDirectory(tx, {
        organizationId: org.id,
        id,
        kind: parsed.kind,
        provider: connector.manifest.provider,
        name: parsed.name,
        settings: settings as unknown as Record<string, unknown>,
        credentials: this.#secrets.seal(JSON.stringify(credentials), credentialsContext(id)),
      });
      const view = this.toView(row);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'directory.created',
        actor,
        subjectType: 'directory',
        subjectId: id,
        data: { directory: view },
      });
      return view;
    });
  }

  async list(organizationIdOrSlug: string): Promise<HrisDirectoryView[]> {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const rows = await this.#directories.directoryRows(PULL_KINDS, org.id);
    return rows.map((row) => this.toView(row));
  }

  async get(organizationIdOrSlug: string, id: string): Promise<HrisDirectoryView> {
    return this.toView(await this.row(organizationIdOrSlug, id));
  }

  /** The pull directory row; a SCIM directory's id is refused as not found here. */
  async row(organizationIdOrSlug: string, id: string): Promise<DirectoryRow> {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const row = await this.#directories.directoryRow(this.#database.db, org.id, id);
    if (!(PULL_KINDS as readonly string[]).includes(row.kind)) throw notPull(id, row.kind);
    return row;
  }

  async update(
    organizationIdOrSlug: string,
    id: string,
    input: UpdateHrisDirectoryInput,
    actor: Actor,
  ): Promise<HrisDirectoryView> {
    const parsed = updateHrisDirectoryBody.parse(input);
    return this.#database.transaction(async (tx) => {
      const org = await this.#orgs.require(organizationIdOrSlug, tx);
      const before = await this.#directories.directoryRow(tx, org.id, id, true);
      if (!(PULL_KINDS as readonly string[]).includes(before.kind)) throw notPull(id, before.kind);
      const connector = requireConnector(before.provider);
      const current = parseSettings(before);
      const next: HrisDirectorySettings = {
        ...current,
        ...(parsed.config
          ? { config: parseSection(connector.manifest.configSchema, parsed.config, 'config') }
          : {}),
        ...(parsed.mapping ? { mapping: parsed.mapping } : {}),
        ...(parsed.schedule ? { schedule: parsed.schedule } : {}),
        ...(parsed.joiners ? { joiners: parsed.joiners } : {}),
        ...(parsed.leavers ? { leavers: parsed.leavers } : {}),
        ...(parsed.maxDeletionRatio !== undefined ? { maxDeletionRatio: parsed.maxDeletionRatio } : {}),
      };
      const changes: Parameters<DirectoriesService['updatePullDirectory']>[3] = {};
      const changed: string[] = [];
      if (parsed.name !== undefined && parsed.name !== before.name) {
        changes.name = parsed.name;
        changed.push('name');
      }
      if (parsed.status !== undefined && parsed.status !== before.status) {
        changes.status = parsed.status;
        changed.push('status');
      }
      // Values, not serialisations: the stored settings come back from jsonb in another key order.
      if (!sameValue(next, current)) {
        changes.settings = next as unknown as Record<string, unknown>;
        for (const key of Object.keys(next) as Array<keyof HrisDirectorySettings>) {
          if (!sameValue(next[key], current[key])) changed.push(key);
        }
      }
      if (parsed.credentials) {
        const credentials = parseSection(
          connector.manifest.credentialsSchema,
          parsed.credentials,
          'credentials',
        );
        changes.credentials = this.#secrets.seal(JSON.stringify(credentials), credentialsContext(id));
        changed.push('credentials');
      }
      if (!changed.length) return this.toView(before);
      const after = await this.#directories.updatePullDirectory(tx, org.id, id, changes);
      const view = this.toView(after);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'directory.updated',
        actor,
        subjectType: 'directory',
        subjectId: id,
        data: { directory: view, changed },
      });
      return view;
    });
  }

  /** Connector, settings, mapping and a client for a directory row (credentials opened here only). */
  open(row: DirectoryRow, env: HrClientEnvironment = {}): OpenedDirectory {
    const connector = requireConnector(row.provider);
    const settings = parseSettings(row);
    if (!row.credentials) {
      throw new InvalidInput({
        code: 'directory_credentials_missing',
        detail: `Directory ${row.id} has no stored credentials.`,
        field: 'credentials',
        fix: `Set them with PATCH /api/v1/organizations/{org}/hris/directories/${row.id}.`,
      });
    }
    const credentials = connector.manifest.credentialsSchema.parse(
      JSON.parse(this.#secrets.open(row.credentials, credentialsContext(row.id))),
    );
    const config = connector.manifest.configSchema.parse(settings.config);
    return {
      row,
      settings,
      connector,
      mapping: mergeMapping(connector.manifest.defaultMapping, settings.mapping),
      client: connector.createClient({ config, credentials, env: { ...this.#env, ...env } }),
    };
  }

  async testConnection(organizationIdOrSlug: string, id: string): Promise<ConnectionCheck> {
    const opened = this.open(await this.row(organizationIdOrSlug, id));
    return opened.client.testConnection();
  }

  async sourceFields(organizationIdOrSlug: string, id: string): Promise<SourceFieldInfo[]> {
    const opened = this.open(await this.row(organizationIdOrSlug, id));
    return upstream(() => opened.client.listSourceFields());
  }

  /** Reads the first few records and maps them with `mapping` (or the saved one); saves nothing. */
  async preview(
    organizationIdOrSlug: string,
    id: string,
    mapping: FieldMappingInput | undefined,
    limit: number,
  ) {
    const opened = this.open(await this.row(organizationIdOrSlug, id));
    const effective = mapping
      ? mergeMapping(opened.connector.manifest.defaultMapping, mapping)
      : opened.mapping;
    return upstream(async () => {
      const records = [];
      const fields = [...Object.values(effective.fields), ...Object.values(effective.custom)].filter(
        (key): key is string => Boolean(key),
      );
      for await (const page of opened.client.readEmployees({
        mode: 'full',
        pageSize: Math.max(limit, 1),
        fields,
      })) {
        records.push(...page.records);
        if (records.length >= limit) break;
      }
      const used = new Set([
        ...Object.values(effective.fields).filter((key): key is string => Boolean(key)),
        ...Object.values(effective.custom),
      ]);
      const unmapped = new Set<string>();
      const shown = records.slice(0, limit).map((record) => {
        for (const key of Object.keys(record.fields)) if (!used.has(key)) unmapped.add(key);
        const mapped = opened.connector.mapToCanonical(record, effective);
        return {
          sourceId: record.sourceId,
          source: record.fields,
          mapped: {
            fields: mapped.fields as Record<string, string | string[] | null>,
            custom: mapped.custom,
          },
        };
      });
      return { records: shown, unmappedSourceFields: [...unmapped].sort() };
    });
  }

  toView(row: DirectoryRow): HrisDirectoryView {
    const settings = parseSettings(row);
    const connector = hrConnector(row.provider);
    const state = (row.syncState ?? {}) as HrisSyncState;
    const keys = connector ? credentialKeys(connector) : [];
    return {
      id: row.id,
      organizationId: row.organizationId,
      kind: row.kind as HrisDirectoryView['kind'],
      provider: row.provider,
      name: row.name,
      status: row.status as HrisDirectoryView['status'],
      config: settings.config,
      credentials: { set: Boolean(row.credentials), keys: row.credentials ? keys : [] },
      mapping: settings.mapping,
      effectiveMapping: connector
        ? (mergeMapping(connector.manifest.defaultMapping, settings.mapping) as FieldMappingInput)
        : settings.mapping,
      schedule: settings.schedule,
      joiners: settings.joiners,
      leavers: settings.leavers,
      maxDeletionRatio: settings.maxDeletionRatio,
      sync: {
        lastRunAt: state.lastRunAt ?? null,
        lastSuccessAt: state.lastSuccessAt ?? null,
        lastFullSyncAt: state.lastFullSyncAt ?? null,
        incremental: Boolean(connector?.manifest.incremental.supported && state.since),
        lastError: state.lastError ?? null,
      },
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

export function parseSettings(row: DirectoryRow): HrisDirectorySettings {
  return hrisDirectorySettingsSchema.parse(row.settings ?? {});
}

function requireConnector(provider: string): AnyHrConnector {
  const connector = hrConnector(provider);
  if (!connector) {
    throw new InvalidInput({
      code: 'unknown_connector',
      detail: `There is no HR or directory connector "${provider}".`,
      field: 'provider',
      fix: `Use one of: ${hrProviders().join(', ')}.`,
    });
  }
  return connector;
}

function credentialKeys(connector: AnyHrConnector): string[] {
  const shape = (connector.manifest.credentialsSchema as unknown as { shape?: Record<string, unknown> })
    .shape;
  return shape ? Object.keys(shape) : [];
}

/** Parses a connector section; the first problem names its field (`config.baseUrl`) and the fix. */
function parseSection<T>(schema: z.ZodType<T>, value: unknown, section: 'config' | 'credentials'): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [section, ...(issue?.path ?? []).map(String)].join('.');
  throw new InvalidInput({
    code: `invalid_${section}`,
    detail: `${field}: ${issue?.message ?? 'is invalid'}`,
    field,
    fix:
      section === 'credentials'
        ? `Send the connector's credentials (${describeKeys(schema)}); see GET /api/v1/hris/connectors.`
        : `Correct ${field}; see GET /api/v1/hris/connectors for the connector's settings.`,
    extra: {
      errors: result.error.issues.map((item) => ({
        field: [section, ...item.path.map(String)].join('.'),
        message: item.message,
      })),
    },
  });
}

function describeKeys(schema: z.ZodType): string {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape).join(', ') : 'see the connector';
}

function notPull(id: string, kind: string) {
  return new InvalidInput({
    code: 'not_a_pull_directory',
    detail: `Directory ${id} is a ${kind} directory, not an HR or directory pull.`,
    field: 'id',
    fix: 'Use /api/v1/organizations/{org}/directories for SCIM directories.',
  });
}

/** A vendor failure during an admin call becomes a 502 naming the vendor's answer. */
async function upstream<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HrConnectorError) {
      throw new UpstreamError({
        code: `hris_${error.kind}`,
        detail: error.message,
        fix:
          error.kind === 'invalid_credentials' || error.kind === 'forbidden'
            ? 'Check the credentials and the API user’s permissions in the HR system, then update the directory.'
            : 'Check the connection (POST .../test) and try again.',
      });
    }
    throw error;
  }
}
