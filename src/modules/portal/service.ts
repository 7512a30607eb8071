/**
 * Setup links and what a client's IT admin may do through one. Staff create a link for one
 * organization and one intent; the link's holder needs no account. Every action goes through the
 * owning module's public service (sso, directories, orgs) with a `setup_link` actor, so it is
 * validated and audited exactly as if staff had made it, and it only ever touches the link's own
 * organization and the resource the link is bound to: nothing on a setup page takes an
 * organization, connection or directory id from the browser.
 */
import type { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, NotFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { hashToken, newToken } from '../../platform/secret-box.ts';
import type { DirectoriesService, DirectoryProvider, DirectoryView } from '../directory/index.ts';
import type { Actor, EventLog } from '../events/index.ts';
import type { DomainView, Organization, OrganizationService } from '../orgs/index.ts';
import {
  type ConnectionService,
  type ConnectionView,
  connectionUrls,
  createConnectionBody,
  type Preset,
  type SsoModule,
  type TraceView,
  updateConnectionBody,
} from '../sso/index.ts';
import type { CreateSetupLinkInput, SetupIntent, SetupLinkView } from './contracts.ts';
import {
  findSetupLink,
  findSetupLinkByTokenHash,
  insertSetupLink,
  listSetupLinks,
  touchSetupLink,
  updateSetupLink,
} from './repository.ts';
import type { SetupLinkRow } from './schema.ts';

/** Continuation type of test logins started from a setup page. */
export const SETUP_TEST_CONTINUATION = 'setup_link_test';
const TOKEN_PREFIX = 'setup';
const TOKEN_PATTERN = /^setup_[A-Za-z0-9_-]{43}$/;
/** One `setup_link.opened` event per visit: page loads closer together than this are one visit. */
const OPENED_QUIET_SECONDS = 30 * 60;

export type ResolvedLink =
  | { state: 'unknown' }
  | { state: 'expired' | 'revoked' | 'unavailable'; link: SetupLinkRow }
  | { state: 'active'; link: SetupLinkRow; organization: Organization };

export interface SsoSetupState {
  connection: ConnectionView | null;
  urls: ReturnType<typeof connectionUrls>;
}

export class SetupLinkService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #connections: ConnectionService;
  readonly #sso: SsoModule;
  readonly #directories: DirectoriesService;
  readonly #config: Config;

  constructor(deps: {
    database: Database;
    events: EventLog;
    orgs: OrganizationService;
    sso: SsoModule;
    directories: DirectoriesService;
    config: Config;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#sso = deps.sso;
    this.#connections = deps.sso.connections;
    this.#directories = deps.directories;
    this.#config = deps.config;
  }

  // Staff side (admin API)

  async create(
    orgIdOrSlug: string,
    input: CreateSetupLinkInput,
    actor: Actor,
  ): Promise<{ link: SetupLinkView; url: string }> {
    const org = await this.#orgs.require(orgIdOrSlug);
    if (input.connectionId && input.intent !== 'sso') throw onlyFor('connectionId', 'sso');
    if (input.directoryId && input.intent !== 'scim') throw onlyFor('directoryId', 'scim');
    let connectionId: string | null = null;
    if (input.intent === 'sso') {
      if (input.connectionId) {
        const connection = await this.#connections.get(org.id, input.connectionId);
        if (connection.testIdp) {
          throw new InvalidInput({
            code: 'setup_link_connection_unsupported',
            detail: `Connection ${connection.id} is the built-in test IdP; there is nothing to set up at an IdP.`,
            field: 'connectionId',
            fix: 'Leave connectionId out to let the IT admin set up a new connection, or give a SAML or OIDC connection.',
          });
        }
        connectionId = connection.id;
      } else {
        connectionId = newId('connection');
      }
    }
    let directoryId: string | null = null;
    if (input.intent === 'scim' && input.directoryId) {
      const directory = await this.#directories.get(org.id, input.directoryId);
      if (directory.kind !== 'scim') {
        throw new InvalidInput({
          code: 'setup_link_directory_unsupported',
          detail: `Directory ${directory.id} is not a SCIM directory.`,
          field: 'directoryId',
          fix: 'Give a SCIM directory, or leave directoryId out.',
        });
      }
      directoryId = directory.id;
    }
    const token = newToken(TOKEN_PREFIX);
    const days = input.expiresInDays ?? this.#config.SETUP_LINK_TTL_DAYS;
    return this.#database.transaction(async (tx) => {
      const row = await insertSetupLink(tx, {
        organizationId: org.id,
        id: newId('setupLink'),
        intent: input.intent,
        label: input.label ?? null,
        tokenHash: hashToken(token),
        tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 7),
        connectionId,
        directoryId,
        createdBy: { ...actor },
        expiresAt: new Date(Date.now() + days * 86_400_000),
      });
      const link = toSetupLinkView(row);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'setup_link.created',
        actor,
        subjectType: 'setup_link',
        subjectId: row.id,
        data: { link },
      });
      return { link, url: `${this.#config.PUBLIC_URL}/setup/${token}` };
    });
  }

  async list(orgIdOrSlug: string, options: { includeInactive: boolean }): Promise<SetupLinkView[]> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const rows = await listSetupLinks(this.#database.db, org.id, {
      activeOnly: !options.includeInactive,
      limit: 500,
    });
    return rows.map(toSetupLinkView);
  }

  async get(orgIdOrSlug: string, id: string): Promise<SetupLinkView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const row = await findSetupLink(this.#database.db, org.id, id);
    if (!row) throw setupLinkNotFound(id);
    return toSetupLinkView(row);
  }

  /** Revokes a link at once (idempotent: revoking a revoked link changes nothing). */
  async revoke(orgIdOrSlug: string, id: string, actor: Actor): Promise<SetupLinkView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    return this.#database.transaction(async (tx) => {
      const row = await findSetupLink(tx, org.id, id, { lock: true });
      if (!row) throw setupLinkNotFound(id);
      if (row.revokedAt) return toSetupLinkView(row);
      const revoked = await updateSetupLink(tx, org.id, id, { revokedAt: new Date() });
      const link = toSetupLinkView(revoked);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'setup_link.revoked',
        actor,
        subjectType: 'setup_link',
        subjectId: id,
        data: { link, changes: { revokedAt: { from: null, to: link.revokedAt } } },
      });
      return link;
    });
  }

  // Link holder side (setup pages)

  /** The link a token opens, and whether it may be used now. */
  async resolve(token: string): Promise<ResolvedLink> {
    if (!TOKEN_PATTERN.test(token)) return { state: 'unknown' };
    const link = await findSetupLinkByTokenHash(this.#database.db, hashToken(token));
    if (!link) return { state: 'unknown' };
    if (link.revokedAt) return { state: 'revoked', link };
    if (link.expiresAt.getTime() <= Date.now()) return { state: 'expired', link };
    const organization = await this.#orgs.require(link.organizationId).catch(() => undefined);
    if (organization?.status !== 'active') return { state: 'unavailable', link };
    return { state: 'active', link, organization };
  }

  /** Notes a visit (last used; one `setup_link.opened` event per visit). */
  async recordOpened(link: SetupLinkRow, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const newVisit = await touchSetupLink(tx, link.organizationId, link.id, OPENED_QUIET_SECONDS);
      if (newVisit) {
        await this.#events.append(tx, {
          organizationId: link.organizationId,
          type: 'setup_link.opened',
          actor,
          subjectType: 'setup_link',
          subjectId: link.id,
          data: { intent: link.intent },
        });
      }
    });
  }

  // sso

  async ssoState(link: SetupLinkRow): Promise<SsoSetupState> {
    const connectionId = requireBound(link, 'sso', link.connectionId);
    const connection = await this.#connections.get(link.organizationId, connectionId).catch((error) => {
      if (error instanceof NotFound) return null;
      throw error;
    });
    return { connection, urls: connectionUrls(this.#config.PUBLIC_URL, connectionId) };
  }

  /**
   * Creates the link's SAML connection from the IdP's metadata (XML or URL), or updates it when it
   * exists. The sso module validates the metadata (certificates, URLs) and records the event.
   */
  async saveSamlMetadata(
    link: SetupLinkRow,
    input: { preset: Preset; metadataXml?: string; metadataUrl?: string },
    actor: Actor,
  ): Promise<ConnectionView> {
    const state = await this.ssoState(link);
    if (!input.metadataXml && !input.metadataUrl) {
      throw new InvalidInput({
        code: 'metadata_required',
        detail: 'Neither a metadata file, pasted XML nor a metadata URL was given.',
        field: 'metadata',
        fix: 'Upload the federation metadata XML file from your IdP, paste it, or give its metadata URL.',
      });
    }
    const saml = input.metadataXml ? { metadataXml: input.metadataXml } : { metadataUrl: input.metadataUrl };
    if (state.connection) {
      const body = parseInput(updateConnectionBody, { preset: input.preset, saml });
      return this.#connections.update(link.organizationId, state.connection.id, body, actor);
    }
    const body = parseInput(createConnectionBody, {
      name: `${PRESET_LABELS[input.preset]} (SAML)`,
      protocol: 'saml',
      preset: input.preset,
      saml,
    });
    return this.#connections.create(link.organizationId, body, actor, {
      id: requireBound(link, 'sso', link.connectionId),
    });
  }

  /**
   * Creates the link's OIDC connection from the IdP application's discovery URL, client id and
   * secret, or updates it (the secret only when a new one is given). The sso module fetches the
   * discovery document, checks the issuer, and seals the secret.
   */
  async saveOidcSettings(
    link: SetupLinkRow,
    input: {
      preset: Preset;
      discoveryUrl: string;
      clientId: string;
      clientSecret?: string;
      tenantId?: string;
    },
    actor: Actor,
  ): Promise<ConnectionView> {
    const state = await this.ssoState(link);
    const oidc = {
      discoveryUrl: input.discoveryUrl,
      clientId: input.clientId,
      ...(input.clientSecret ? { clientSecret: input.clientSecret } : {}),
      ...(input.tenantId ? { tenantId: input.tenantId } : {}),
    };
    if (state.connection) {
      const body = parseInput(updateConnectionBody, { preset: input.preset, oidc });
      return this.#connections.update(link.organizationId, state.connection.id, body, actor);
    }
    if (!input.clientSecret) {
      throw new InvalidInput({
        code: 'client_secret_required',
        detail: 'The client secret is missing.',
        field: 'oidc.clientSecret',
        fix: 'Create a client secret in your IdP application and paste its value.',
      });
    }
    const body = parseInput(createConnectionBody, {
      name: `${PRESET_LABELS[input.preset]} (OIDC)`,
      protocol: 'oidc',
      preset: input.preset,
      oidc,
    });
    return this.#connections.create(link.organizationId, body, actor, {
      id: requireBound(link, 'sso', link.connectionId),
    });
  }

  /** Starts a test login on the link's connection: the URL to open. */
  async startTestLogin(link: SetupLinkRow, actor: Actor): Promise<string> {
    const state = await this.ssoState(link);
    if (!state.connection) {
      throw new Conflict({
        code: 'connection_not_set_up',
        detail: 'There is no connection to test yet.',
        field: 'metadata',
        fix: 'Upload your IdP metadata first.',
      });
    }
    if (!state.connection.active) {
      throw new Conflict({
        code: 'connection_inactive',
        detail: `The connection cannot be used for logins: ${state.connection.inactiveReason}`,
        fix: 'Ask your contact to enable it.',
      });
    }
    const request = await this.#sso.login.createLoginRequest({
      continuation: { type: SETUP_TEST_CONTINUATION, linkId: link.id, organizationId: link.organizationId },
      connectionId: state.connection.id,
      organizationId: link.organizationId,
    });
    await this.#database.transaction((tx) =>
      this.#events.append(tx, {
        organizationId: link.organizationId,
        type: 'setup_link.test_login_started',
        actor,
        subjectType: 'connection',
        subjectId: state.connection?.id as string,
        data: { linkId: link.id },
      }),
    );
    return request.url;
  }

  /** Test logins started from setup pages on the link's connection since the link was made, newest first. */
  async testTraces(link: SetupLinkRow, limit = 10): Promise<TraceView[]> {
    const connectionId = requireBound(link, 'sso', link.connectionId);
    const page = await this.#sso.traces.list(link.organizationId, {
      connection: connectionId,
      since: link.createdAt.toISOString(),
      limit: 50,
    });
    return page.data.filter(isSetupTestTrace).slice(0, limit);
  }

  /** One trace of the link's connection (a trace of anything else is "not found"). */
  async trace(link: SetupLinkRow, traceId: string): Promise<TraceView> {
    const connectionId = requireBound(link, 'sso', link.connectionId);
    const trace = await this.#sso.traces.get(link.organizationId, traceId);
    if (trace.connectionId !== connectionId) {
      throw new NotFound({
        code: 'login_trace_not_found',
        detail: `No login trace ${traceId} for this connection.`,
        fix: 'Use the reference shown on the sign-in page of a test login started here.',
      });
    }
    return trace;
  }

  // scim

  async directory(link: SetupLinkRow): Promise<DirectoryView | null> {
    requireBound(link, 'scim', 'any');
    if (!link.directoryId) return null;
    return this.#directories.get(link.organizationId, link.directoryId).catch((error) => {
      if (error instanceof NotFound) return null;
      throw error;
    });
  }

  /** Creates the link's SCIM directory; its token is returned once. */
  async createDirectory(
    link: SetupLinkRow,
    input: { provider: DirectoryProvider },
    actor: Actor,
  ): Promise<{ directory: DirectoryView; token: string }> {
    requireBound(link, 'scim', 'any');
    if (await this.directory(link)) throw directoryExists();
    const created = await this.#directories.create(
      link.organizationId,
      { name: `${DIRECTORY_LABELS[input.provider]} SCIM`, provider: input.provider, kind: 'scim' },
      actor,
    );
    // Bind it to the link, unless a second submission got there first (then undo ours).
    const bound = await this.#database.transaction(async (tx) => {
      const current = await findSetupLink(tx, link.organizationId, link.id, { lock: true });
      if (current?.directoryId) return false;
      await updateSetupLink(tx, link.organizationId, link.id, { directoryId: created.directory.id });
      return true;
    });
    if (!bound) {
      await this.#directories.delete(link.organizationId, created.directory.id, actor);
      throw directoryExists();
    }
    return { directory: created.directory, token: created.token };
  }

  /** A new token for the link's directory (shown once); earlier tokens keep working for `overlapSeconds`. */
  async rotateDirectoryToken(
    link: SetupLinkRow,
    overlapSeconds: number,
    actor: Actor,
  ): Promise<{ directory: DirectoryView; token: string }> {
    const directory = await this.directory(link);
    if (!directory) {
      throw new Conflict({
        code: 'directory_not_created',
        detail: 'There is no SCIM directory for this link yet.',
        fix: 'Create the directory first.',
      });
    }
    const rotated = await this.#directories.rotateToken(
      link.organizationId,
      directory.id,
      overlapSeconds,
      actor,
    );
    return { directory: rotated.directory, token: rotated.token };
  }

  // domain

  async domains(link: SetupLinkRow): Promise<DomainView[]> {
    requireBound(link, 'domain', 'any');
    return (await this.#orgs.get(link.organizationId)).domains;
  }

  async addDomain(link: SetupLinkRow, domain: string, actor: Actor): Promise<DomainView> {
    requireBound(link, 'domain', 'any');
    return this.#orgs.addDomain(link.organizationId, domain, actor).catch((error: unknown) => {
      // Staff see which organization verified it; a client is only told that it is taken.
      if (!(error instanceof Conflict) || error.code !== 'domain_owned_elsewhere') throw error;
      throw new Conflict({
        code: 'domain_owned_elsewhere',
        detail: `${String(error.extra?.domain ?? domain)} is already taken: another organization has verified it.`,
        field: 'domain',
        fix: 'Check the spelling. If your company owns this domain, contact the team that sent you this setup link.',
      });
    });
  }

  /** Checks the domain's DNS TXT record (never a manual verification: that is for staff). */
  async verifyDomain(link: SetupLinkRow, domain: string, actor: Actor): Promise<DomainView> {
    requireBound(link, 'domain', 'any');
    return this.#orgs.verifyDomain(link.organizationId, domain, 'dns', actor);
  }
}

export function isSetupTestTrace(trace: TraceView): boolean {
  const request = trace.steps.find((step) => step.step === 'request');
  return request?.data?.continuation === SETUP_TEST_CONTINUATION;
}

/** The link's bound resource for an intent; refuses a link of another intent. */
function requireBound(link: SetupLinkRow, intent: SetupIntent, value: string | null | 'any'): string {
  if (link.intent !== intent) throw new WrongIntent(link.intent as SetupIntent, intent);
  if (value === null) throw new Error(`setup link ${link.id} has no bound resource for ${intent}`);
  return value;
}

/** An action of one intent attempted with a link for another. */
export class WrongIntent extends Error {
  override name = 'WrongIntent';
  readonly linkIntent: SetupIntent;
  readonly attempted: SetupIntent;

  constructor(linkIntent: SetupIntent, attempted: SetupIntent) {
    super(`a ${linkIntent} setup link cannot be used for ${attempted}`);
    this.linkIntent = linkIntent;
    this.attempted = attempted;
  }
}

export const PRESET_LABELS: Record<Preset, string> = {
  entra: 'Microsoft Entra ID',
  okta: 'Okta',
  ping: 'PingFederate',
  google: 'Google Workspace',
  adfs: 'AD FS',
  generic: 'SAML 2.0',
};

export const DIRECTORY_LABELS: Record<DirectoryProvider, string> = {
  entra: 'Microsoft Entra ID',
  okta: 'Okta',
  generic: 'Generic',
};

export function setupLinkStatus(row: SetupLinkRow, now = Date.now()): SetupLinkView['status'] {
  if (row.revokedAt) return 'revoked';
  return row.expiresAt.getTime() <= now ? 'expired' : 'active';
}

export function toSetupLinkView(row: SetupLinkRow): SetupLinkView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    intent: row.intent as SetupIntent,
    label: row.label,
    status: setupLinkStatus(row),
    tokenPrefix: row.tokenPrefix,
    connectionId: row.connectionId,
    directoryId: row.directoryId,
    createdBy: row.createdBy as SetupLinkView['createdBy'],
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Validates input built from a form with the owning module's schema; a mistake names its field. */
function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  throw new InvalidInput({
    code: 'invalid_request',
    detail: `${field}: ${issue?.message ?? 'is invalid'}`,
    field,
    fix: field.includes('metadataUrl')
      ? 'Give the https address of your IdP’s federation metadata.'
      : field.includes('discoveryUrl')
        ? 'Give the https address of your IdP’s OpenID Connect issuer or discovery document.'
        : 'Check the value and try again.',
  });
}

function setupLinkNotFound(id: string): NotFound {
  return new NotFound({
    code: 'setup_link_not_found',
    detail: `No setup link ${id} in this organization.`,
    fix: 'List the organization’s setup links to find the right id.',
  });
}

function onlyFor(field: string, intent: SetupIntent): InvalidInput {
  return new InvalidInput({
    code: 'setup_link_field_not_applicable',
    detail: `${field} applies only to ${intent} setup links.`,
    field,
    fix: `Remove ${field}, or create a ${intent} link.`,
  });
}

function directoryExists(): Conflict {
  return new Conflict({
    code: 'directory_exists',
    detail: 'A SCIM directory was already created with this link.',
    fix: 'Use it: rotate its token if you no longer have the current one.',
  });
}
