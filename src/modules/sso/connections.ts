/**
 * SSO connections: create, read, update, delete, enable and disable, each with its event in one
 * transaction. Settings are validated on save (discovery reachable, metadata parseable,
 * certificates not expired) so a broken connection fails here with a clear error, not at Jane's
 * first login. A certificate expiring within 30 days saves, with a warning on the connection.
 */
import type { Config } from '../../config.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import { AppError, Conflict, InvalidInput, notFound, UpstreamError } from '../../platform/errors.ts';
import type { HttpClient } from '../../platform/http-client.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import { diffViews } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import type { Organization, OrganizationService } from '../orgs/index.ts';
import { certificateStatus, createKeyAndCertificate, readCertificate } from './certificates.ts';
import type {
  AttributeMapping,
  ConnectionSettings,
  ConnectionView,
  CreateConnectionInput,
  OidcSettings,
  Preset,
  Protocol,
  SamlSettings,
  UpdateConnectionInput,
} from './contracts.ts';
import { applyMapping, mergeMapping, NAMEID_SOURCE } from './mapping.ts';
import {
  checkTransport,
  fetchDiscovery,
  type InsecureHttpPolicy,
  OidcSetupError,
  resolveIssuer,
} from './oidc/relying-party.ts';
import { PRESETS, presetMapping } from './presets.ts';
import {
  type ConnectionRow,
  countTestIdpConnections,
  deleteConnectionRow,
  findConnectionInOrganization,
  insertConnection,
  listConnections,
  listMetadataUrlConnections,
  updateConnectionRow,
} from './repository.ts';
import { MetadataError, parseIdpMetadata } from './saml/metadata.ts';

export interface Connection {
  row: ConnectionRow;
  id: string;
  organizationId: string;
  name: string;
  protocol: Protocol;
  preset: Preset;
  enabled: boolean;
  settings: ConnectionSettings;
  mapping: AttributeMapping;
}

export function toConnection(row: ConnectionRow): Connection {
  const settings = row.settings as unknown as ConnectionSettings;
  return {
    row,
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    protocol: row.protocol as Protocol,
    preset: row.preset as Preset,
    enabled: row.enabled,
    settings: { ...settings, groups: settings.groups ?? { sync: true, createMissing: true } },
    mapping: row.mapping as AttributeMapping,
  };
}

/** URLs of our side of a connection. */
export function connectionUrls(publicUrl: string, connectionId: string) {
  return {
    redirectUri: `${publicUrl}/sso/oidc/${connectionId}/callback`,
    spEntityId: `${publicUrl}/sso/saml/${connectionId}`,
    acsUrl: `${publicUrl}/sso/saml/${connectionId}/acs`,
    spMetadataUrl: `${publicUrl}/sso/saml/${connectionId}/metadata`,
    loginUrl: `${publicUrl}/login?connection=${connectionId}`,
    testIdpEntityId: `${publicUrl}/sso/test-idp/${connectionId}`,
    testIdpSsoUrl: `${publicUrl}/sso/test-idp/${connectionId}/sso`,
    testIdpMetadataUrl: `${publicUrl}/sso/test-idp/${connectionId}/metadata`,
  };
}

/** Why a connection cannot be used for logins right now, or null. */
export function inactiveReason(connection: Connection, org: Organization): string | null {
  if (!connection.enabled) return 'The connection is disabled.';
  if (org.status !== 'active') return 'The organization is suspended.';
  if (connection.settings.testIdp && org.environment === 'production') {
    return 'The test IdP never works on a production organization.';
  }
  return null;
}

export function clientSecretContext(connectionId: string): string {
  return `sso_connection:${connectionId}:client_secret`;
}

export function privateKeyContext(connectionId: string): string {
  return `sso_connection:${connectionId}:private_key`;
}

export class ConnectionService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #secrets: SecretBox;
  readonly #http: HttpClient;
  readonly #config: Config;
  readonly #policy: InsecureHttpPolicy;

  constructor(deps: {
    database: Database;
    events: EventLog;
    orgs: OrganizationService;
    secrets: SecretBox;
    http: HttpClient;
    config: Config;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#secrets = deps.secrets;
    this.#http = deps.http;
    this.#config = deps.config;
    this.#policy = deps.config.SSO_INSECURE_HTTP;
  }

  /**
   * Creates a connection. `options.id` gives it an id reserved earlier (a setup link shows the
   * IdP admin our ACS URL and entity ID, which contain the id, before the IdP's metadata exists).
   */
  async create(
    orgIdOrSlug: string,
    input: CreateConnectionInput,
    actor: Actor,
    options: { id?: string } = {},
  ): Promise<ConnectionView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const id = options.id ?? newId('connection');
    const preset = input.preset ?? 'generic';
    const urls = connectionUrls(this.#config.PUBLIC_URL, id);
    const settings: ConnectionSettings = {
      groups: { sync: input.groups?.sync ?? true, createMissing: input.groups?.createMissing ?? true },
    };
    let clientSecretSealed: string | null = null;
    let privateKeySealed: string | null = null;
    let certificate: string | null = null;
    const warnings: Array<Record<string, unknown>> = [];

    if (input.testIdp) {
      if (input.protocol !== 'saml') {
        throw new InvalidInput({
          code: 'test_idp_protocol',
          detail: 'The built-in test IdP speaks SAML.',
          field: 'protocol',
          fix: 'Create it with "protocol": "saml" and "testIdp": true.',
        });
      }
      assertSandbox(org);
      const keys = await createKeyAndCertificate({
        commonName: `Switchboard test IdP ${id}`,
        validDays: 3650,
      });
      privateKeySealed = this.#secrets.seal(keys.privateKeyPem, privateKeyContext(id));
      certificate = keys.certificatePem;
      settings.testIdp = true;
      settings.saml = {
        idpEntityId: urls.testIdpEntityId,
        idpSsoUrl: urls.testIdpSsoUrl,
        idpSsoBinding: 'redirect',
        idpCertificates: [keys.certificatePem],
        signAuthnRequests: false,
        requireEncryptedAssertions: false,
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
        clockSkewSeconds: input.saml?.clockSkewSeconds ?? 120,
        allowIdpInitiated: false,
      };
    } else if (input.protocol === 'oidc') {
      if (!input.oidc) throw missingSettings('oidc');
      settings.oidc = await this.#resolveOidc(input.oidc, undefined, preset);
      if (input.oidc.clientSecret)
        clientSecretSealed = this.#secrets.seal(input.oidc.clientSecret, clientSecretContext(id));
      if (settings.oidc.clientAuthMethod !== 'none' && !input.oidc.clientSecret) {
        throw new InvalidInput({
          code: 'client_secret_required',
          detail: `Client authentication ${settings.oidc.clientAuthMethod} needs oidc.clientSecret.`,
          field: 'oidc.clientSecret',
          fix: 'Give the client secret from the IdP, or set oidc.clientAuthMethod to "none" for a public client with PKCE.',
        });
      }
    } else {
      if (!input.saml) throw missingSettings('saml');
      const resolved = await this.#resolveSaml(input.saml, undefined, preset);
      settings.saml = resolved.settings;
      warnings.push(...resolved.warnings);
      const keys = await createKeyAndCertificate({ commonName: `Switchboard SP ${id}`, validDays: 3650 });
      privateKeySealed = this.#secrets.seal(keys.privateKeyPem, privateKeyContext(id));
      certificate = keys.certificatePem;
    }

    const mapping = mergeMapping(presetMapping(preset, input.protocol), input.mapping as AttributeMapping);
    return this.#database.transaction(async (tx) => {
      const row = await insertConnection(tx, {
        organizationId: org.id,
        id,
        name: input.name,
        protocol: input.protocol,
        preset,
        enabled: input.enabled ?? true,
        settings: settings as unknown as Record<string, unknown>,
        mapping: mapping as Record<string, unknown>,
        clientSecretSealed,
        privateKeySealed,
        certificate,
        warnings,
      });
      const view = this.toView(toConnection(row), org);
      await this.#event(tx, 'connection.created', row, actor, { connection: view });
      return view;
    });
  }

  async list(orgIdOrSlug: string): Promise<ConnectionView[]> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const rows = await listConnections(this.#database.db, org.id);
    return rows.map((row) => this.toView(toConnection(row), org));
  }

  async get(orgIdOrSlug: string, id: string): Promise<ConnectionView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    return this.toView(await this.require(org.id, id), org);
  }

  async require(organizationId: string, id: string, tx?: Tx): Promise<Connection> {
    const row = await findConnectionInOrganization(tx ?? this.#database.db, organizationId, id);
    if (!row) throw notFound('connection', id);
    return toConnection(row);
  }

  async update(
    orgIdOrSlug: string,
    id: string,
    input: UpdateConnectionInput,
    actor: Actor,
  ): Promise<ConnectionView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const current = await this.require(org.id, id);
    const preset = input.preset ?? current.preset;
    const settings: ConnectionSettings = structuredClone(current.settings);
    const changes: Partial<ConnectionRow> = {};
    let warnings = current.row.warnings;
    if (input.oidc) {
      if (current.protocol !== 'oidc') throw wrongProtocol('oidc', current.protocol);
      const merged = { ...settingsToOidcInput(current.settings.oidc), ...input.oidc };
      settings.oidc = await this.#resolveOidc(
        { ...merged, clientId: merged.clientId ?? current.settings.oidc?.clientId ?? '' },
        current.settings.oidc,
        preset,
      );
      if (input.oidc.clientSecret)
        changes.clientSecretSealed = this.#secrets.seal(input.oidc.clientSecret, clientSecretContext(id));
    }
    if (input.saml) {
      if (current.protocol !== 'saml') throw wrongProtocol('saml', current.protocol);
      if (current.settings.testIdp) {
        if (input.saml.clockSkewSeconds !== undefined && settings.saml)
          settings.saml.clockSkewSeconds = input.saml.clockSkewSeconds;
      } else {
        const resolved = await this.#resolveSaml(input.saml, current.settings.saml, preset);
        settings.saml = resolved.settings;
        warnings = resolved.warnings;
      }
    }
    if (input.groups) settings.groups = { ...settings.groups, ...input.groups };
    if (input.name !== undefined) changes.name = input.name;
    if (input.enabled !== undefined) {
      if (input.enabled && current.settings.testIdp) assertSandbox(org);
      changes.enabled = input.enabled;
    }
    if (input.preset !== undefined || input.mapping !== undefined) {
      // A new preset starts from its defaults; the admin's overrides apply on top.
      const base =
        input.preset !== undefined && input.preset !== current.preset
          ? presetMapping(preset, current.protocol)
          : current.mapping;
      changes.mapping = mergeMapping(base, input.mapping as AttributeMapping) as Record<string, unknown>;
      changes.preset = preset;
    }
    changes.settings = settings as unknown as Record<string, unknown>;
    changes.warnings = warnings;
    return this.#database.transaction(async (tx) => {
      const locked = await findConnectionInOrganization(tx, org.id, id, { lock: true });
      if (!locked) throw notFound('connection', id);
      const previous = this.toView(toConnection(locked), org);
      const row = await updateConnectionRow(tx, org.id, id, changes);
      const view = this.toView(toConnection(row), org);
      await this.#event(tx, 'connection.updated', row, actor, {
        connection: view,
        changes: diffViews(previous, view, { ignore: ['updatedAt', 'version'] }),
        changed: Object.keys(input).filter(
          (key) => key !== 'oidc' || !('clientSecret' in (input.oidc ?? {})),
        ),
        ...(input.oidc?.clientSecret ? { clientSecretRotated: true } : {}),
      });
      return view;
    });
  }

  /**
   * Reads a SAML connection's IdP metadata again from its URL, so an IdP's signing-certificate
   * rollover or new SSO URL reaches us without anyone re-uploading anything. A changed entity ID,
   * SSO URL or certificate set is saved with a `connection.metadata_refreshed` event saying what
   * changed. A fetch or parse failure keeps the current settings and leaves a warning on the
   * connection (cleared by the next successful refresh).
   */
  async refreshSamlMetadata(
    orgIdOrSlug: string,
    id: string,
    actor: Actor,
  ): Promise<{ changed: boolean; error?: string; connection: ConnectionView }> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const current = await this.require(org.id, id);
    const previous = current.settings.saml;
    if (current.protocol !== 'saml' || !previous?.metadataUrl) {
      throw new InvalidInput({
        code: 'no_metadata_url',
        detail: 'This connection has no IdP metadata URL to refresh from.',
        field: 'saml.metadataUrl',
        fix: 'Set saml.metadataUrl on the connection, or update saml.metadataXml by hand.',
      });
    }
    const otherWarnings = (current.row.warnings ?? []).filter(
      (warning) => (warning as { code?: string }).code !== 'metadata_refresh_failed',
    );
    let resolved: Awaited<ReturnType<ConnectionService['resolveSamlForRefresh']>>;
    try {
      resolved = await this.resolveSamlForRefresh(previous, current.preset);
    } catch (error) {
      const message = error instanceof AppError ? error.detail : (error as Error).message;
      const warning = {
        code: 'metadata_refresh_failed',
        message: `Refreshing the IdP metadata from ${previous.metadataUrl} failed: ${message} The last good settings stay in use.`,
        at: new Date().toISOString(),
      };
      const row = await this.#database.transaction(async (tx) =>
        updateConnectionRow(tx, org.id, id, { warnings: [...otherWarnings, warning] }),
      );
      return { changed: false, error: message, connection: this.toView(toConnection(row), org) };
    }
    const next = resolved.settings;
    const before = new Set(previous.idpCertificates);
    const after = new Set(next.idpCertificates);
    const changes: Record<string, unknown> = {};
    if (next.idpEntityId !== previous.idpEntityId)
      changes.idpEntityId = { from: previous.idpEntityId, to: next.idpEntityId };
    if (next.idpSsoUrl !== previous.idpSsoUrl)
      changes.idpSsoUrl = { from: previous.idpSsoUrl, to: next.idpSsoUrl };
    const added = [...after].filter((pem) => !before.has(pem));
    const removed = [...before].filter((pem) => !after.has(pem));
    if (added.length || removed.length) {
      changes.certificates = {
        added: added.map((pem) => readCertificate(pem).fingerprintSha256),
        removed: removed.map((pem) => readCertificate(pem).fingerprintSha256),
      };
    }
    const changed = Object.keys(changes).length > 0;
    const settings: ConnectionSettings = {
      ...structuredClone(current.settings),
      saml: { ...previous, ...next, metadataFetchedAt: new Date().toISOString() },
    };
    return this.#database.transaction(async (tx) => {
      const locked = await findConnectionInOrganization(tx, org.id, id, { lock: true });
      if (!locked) throw notFound('connection', id);
      const row = await updateConnectionRow(tx, org.id, id, {
        settings: settings as unknown as Record<string, unknown>,
        warnings: [...resolved.warnings],
      });
      const view = this.toView(toConnection(row), org);
      if (changed)
        await this.#event(tx, 'connection.metadata_refreshed', row, actor, { connection: view, changes });
      return { changed, connection: view };
    });
  }

  /** SAML settings from the stored metadata URL, keeping the admin's own choices. */
  async resolveSamlForRefresh(previous: SamlSettings, preset: Preset) {
    return this.#resolveSaml(
      { metadataUrl: previous.metadataUrl } as NonNullable<CreateConnectionInput['saml']>,
      previous,
      preset,
    );
  }

  /** Refreshes every SAML connection that has a metadata URL (the scheduled job). */
  async refreshAllSamlMetadata(actor: Actor): Promise<{ checked: number; changed: number; failed: number }> {
    const result = { checked: 0, changed: 0, failed: 0 };
    for (const { organizationId, id } of await listMetadataUrlConnections(this.#database.db)) {
      result.checked++;
      try {
        const outcome = await this.refreshSamlMetadata(organizationId, id, actor);
        if (outcome.changed) result.changed++;
        if (outcome.error) result.failed++;
      } catch {
        result.failed++;
      }
    }
    return result;
  }

  async setEnabled(orgIdOrSlug: string, id: string, enabled: boolean, actor: Actor): Promise<ConnectionView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const current = await this.require(org.id, id);
    if (enabled && current.settings.testIdp) assertSandbox(org);
    if (current.enabled === enabled) return this.toView(current, org);
    return this.#database.transaction(async (tx) => {
      const row = await updateConnectionRow(tx, org.id, id, { enabled });
      const view = this.toView(toConnection(row), org);
      await this.#event(tx, enabled ? 'connection.enabled' : 'connection.disabled', row, actor, {
        connection: view,
        changes: { enabled: { from: current.enabled, to: enabled } },
      });
      return view;
    });
  }

  async delete(orgIdOrSlug: string, id: string, actor: Actor): Promise<void> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const current = await this.require(org.id, id);
    await this.#database.transaction(async (tx) => {
      await deleteConnectionRow(tx, org.id, id);
      await this.#event(tx, 'connection.deleted', current.row, actor, {
        connection: { id, name: current.name, protocol: current.protocol, preset: current.preset },
      });
    });
  }

  /** Maps sample claims with the connection's mapping (or a proposed one) without a login. */
  async previewMapping(
    orgIdOrSlug: string,
    id: string,
    input: {
      claims: Record<string, unknown>;
      nameId?: string | undefined;
      mapping?: AttributeMapping | undefined;
    },
  ) {
    const org = await this.#orgs.require(orgIdOrSlug);
    const connection = await this.require(org.id, id);
    const mapping = input.mapping ? mergeMapping(connection.mapping, input.mapping) : connection.mapping;
    const claims: Record<string, unknown> = {
      ...input.claims,
      ...(input.nameId ? { [NAMEID_SOURCE]: input.nameId } : {}),
    };
    const result = applyMapping(mapping, claims);
    const problems = mappingProblems(result);
    return {
      usable: Boolean(result.profile.email) && Boolean(result.profile.subject),
      profile: result.profile as unknown as Record<string, unknown>,
      sources: result.sources as Record<string, string>,
      missing: result.missing,
      invalid: result.invalid,
      problems,
      mapping,
    };
  }

  /** Refuses to make an organization production while a test IdP is attached (orgs update guard). */
  async assertNoTestIdp(tx: Tx, organizationId: string): Promise<void> {
    const count = await countTestIdpConnections(tx, organizationId);
    if (count > 0) {
      throw new Conflict({
        code: 'test_idp_attached',
        detail: `This organization has ${count} built-in test IdP connection${count === 1 ? '' : 's'}; the test IdP never works on a production organization.`,
        field: 'environment',
        fix: 'Delete the test IdP connection(s) first, then mark the organization as production.',
      });
    }
  }

  toView(connection: Connection, org: Organization): ConnectionView {
    const urls = connectionUrls(this.#config.PUBLIC_URL, connection.id);
    const reason = inactiveReason(connection, org);
    const { oidc, saml } = connection.settings;
    return {
      id: connection.id,
      organizationId: connection.organizationId,
      name: connection.name,
      protocol: connection.protocol,
      preset: connection.preset,
      enabled: connection.enabled,
      testIdp: Boolean(connection.settings.testIdp),
      active: reason === null,
      inactiveReason: reason,
      warnings: [
        ...(connection.row.warnings as Array<{ code: string; message: string }>),
        ...liveWarnings(connection),
      ],
      loginUrl: urls.loginUrl,
      ...(oidc
        ? {
            oidc: {
              discoveryUrl: oidc.discoveryUrl ?? null,
              issuer: oidc.issuer,
              tenantId: oidc.tenantId ?? null,
              authorizationEndpoint: oidc.authorizationEndpoint,
              tokenEndpoint: oidc.tokenEndpoint,
              jwksUri: oidc.jwksUri,
              userinfoEndpoint: oidc.userinfoEndpoint ?? null,
              clientId: oidc.clientId,
              clientSecretSet: Boolean(connection.row.clientSecretSealed),
              clientAuthMethod: oidc.clientAuthMethod,
              scopes: oidc.scopes,
              pkce: oidc.pkce,
              responseMode: oidc.responseMode,
              fetchUserInfo: oidc.fetchUserInfo,
              idTokenSigningAlg: oidc.idTokenSigningAlg,
              redirectUri: urls.redirectUri,
            },
          }
        : {}),
      ...(saml
        ? {
            saml: {
              metadataUrl: saml.metadataUrl ?? null,
              idpEntityId: saml.idpEntityId,
              idpSsoUrl: saml.idpSsoUrl,
              idpSsoBinding: saml.idpSsoBinding,
              idpCertificates: saml.idpCertificates.map((pem) => {
                const info = readCertificate(pem);
                return {
                  subject: info.subject,
                  fingerprintSha256: info.fingerprintSha256,
                  notBefore: info.notBefore,
                  notAfter: info.notAfter,
                  status: certificateStatus(info),
                };
              }),
              signAuthnRequests: saml.signAuthnRequests,
              requireEncryptedAssertions: saml.requireEncryptedAssertions,
              nameIdFormat: saml.nameIdFormat,
              clockSkewSeconds: saml.clockSkewSeconds,
              allowIdpInitiated: saml.allowIdpInitiated,
              spEntityId: urls.spEntityId,
              acsUrl: urls.acsUrl,
              spMetadataUrl: urls.spMetadataUrl,
              spCertificate: connection.row.certificate ?? '',
            },
          }
        : {}),
      mapping: connection.mapping,
      groups: connection.settings.groups,
      version: connection.row.version,
      createdAt: connection.row.createdAt.toISOString(),
      updatedAt: connection.row.updatedAt.toISOString(),
    };
  }

  async #resolveOidc(
    input: NonNullable<CreateConnectionInput['oidc']>,
    previous: OidcSettings | undefined,
    preset: Preset,
  ): Promise<OidcSettings> {
    try {
      let discovered: Awaited<ReturnType<typeof fetchDiscovery>> | undefined;
      if (input.discoveryUrl) discovered = await fetchDiscovery(this.#http, input.discoveryUrl, this.#policy);
      const authorizationEndpoint = input.authorizationEndpoint ?? discovered?.authorizationEndpoint;
      const tokenEndpoint = input.tokenEndpoint ?? discovered?.tokenEndpoint;
      const jwksUri = input.jwksUri ?? discovered?.jwksUri;
      const issuerSource = input.issuer ?? discovered?.issuer;
      if (!authorizationEndpoint || !tokenEndpoint || !jwksUri || !issuerSource) {
        throw new OidcSetupError(
          'oidc_endpoints_missing',
          'oidc.discoveryUrl',
          'Give oidc.discoveryUrl, or all of oidc.issuer, oidc.authorizationEndpoint, oidc.tokenEndpoint and oidc.jwksUri.',
        );
      }
      const issuer = resolveIssuer(issuerSource, input.issuer, input.tenantId);
      for (const [field, url] of Object.entries({ authorizationEndpoint, tokenEndpoint, jwksUri })) {
        checkTransport(url, `oidc.${field}`, this.#policy);
      }
      const userinfoEndpoint = input.userinfoEndpoint ?? discovered?.userinfoEndpoint;
      const defaults = PRESETS[preset].oidc;
      const methods = discovered?.tokenEndpointAuthMethods;
      const clientAuthMethod =
        input.clientAuthMethod ??
        previous?.clientAuthMethod ??
        (methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')
          ? 'client_secret_post'
          : 'client_secret_basic');
      const algs = discovered?.idTokenSigningAlgs;
      const idTokenSigningAlg =
        input.idTokenSigningAlg ??
        previous?.idTokenSigningAlg ??
        (algs && !algs.includes('RS256') && algs[0] && algs[0] !== 'none' ? algs[0] : 'RS256');
      return {
        ...(input.discoveryUrl ? { discoveryUrl: input.discoveryUrl } : {}),
        issuer,
        ...(input.tenantId ? { tenantId: input.tenantId } : {}),
        authorizationEndpoint,
        tokenEndpoint,
        jwksUri,
        ...(userinfoEndpoint ? { userinfoEndpoint } : {}),
        clientId: input.clientId,
        clientAuthMethod,
        scopes: withOpenid(input.scopes ?? previous?.scopes ?? defaults.scopes),
        pkce: input.pkce ?? previous?.pkce ?? true,
        responseMode: input.responseMode ?? previous?.responseMode ?? 'query',
        fetchUserInfo:
          (input.fetchUserInfo ?? previous?.fetchUserInfo ?? defaults.fetchUserInfo) &&
          Boolean(userinfoEndpoint),
        idTokenSigningAlg,
        ...(discovered ? { discoveredAt: new Date().toISOString() } : {}),
      };
    } catch (error) {
      if (error instanceof OidcSetupError) {
        const Problem =
          error.code === 'discovery_unreachable' || error.code === 'discovery_failed'
            ? UpstreamError
            : InvalidInput;
        throw new Problem({
          code: error.code,
          detail: error.message,
          field: error.field,
          fix:
            error.code === 'templated_issuer'
              ? 'Set oidc.tenantId, or use the tenant-specific discovery URL.'
              : 'Check the URL in the IdP’s application settings and that the hub can reach it.',
        });
      }
      throw error;
    }
  }

  async #resolveSaml(
    input: NonNullable<CreateConnectionInput['saml']>,
    previous: SamlSettings | undefined,
    preset: Preset,
  ): Promise<{ settings: SamlSettings; warnings: Array<Record<string, unknown>> }> {
    let metadataXml = input.metadataXml;
    let metadataFetchedAt: string | undefined;
    if (!metadataXml && input.metadataUrl) {
      try {
        checkTransport(input.metadataUrl, 'saml.metadataUrl', this.#policy);
      } catch (error) {
        throw new InvalidInput({
          code: 'insecure_url',
          detail: (error as Error).message,
          field: 'saml.metadataUrl',
          fix: 'Use the https metadata URL.',
        });
      }
      metadataXml = await this.#fetchMetadata(input.metadataUrl);
      metadataFetchedAt = new Date().toISOString();
    }
    let parsed: ReturnType<typeof parseIdpMetadata> | undefined;
    if (metadataXml) {
      try {
        parsed = parseIdpMetadata(metadataXml);
      } catch (error) {
        if (error instanceof MetadataError) {
          throw new InvalidInput({
            code: 'invalid_metadata',
            detail: error.message,
            field: input.metadataXml ? 'saml.metadataXml' : 'saml.metadataUrl',
            fix: 'Download the federation metadata XML from the IdP’s application page and send it as is.',
          });
        }
        throw error;
      }
    }
    const idpEntityId = input.idpEntityId ?? parsed?.entityId ?? previous?.idpEntityId;
    const idpSsoUrl = input.idpSsoUrl ?? parsed?.ssoRedirectUrl ?? parsed?.ssoPostUrl ?? previous?.idpSsoUrl;
    const binding: 'redirect' | 'post' = input.idpSsoUrl
      ? 'redirect'
      : parsed
        ? parsed.ssoRedirectUrl
          ? 'redirect'
          : 'post'
        : (previous?.idpSsoBinding ?? 'redirect');
    const certificates =
      input.idpCertificates ?? parsed?.signingCertificates ?? previous?.idpCertificates ?? [];
    if (!idpEntityId || !idpSsoUrl || certificates.length === 0) {
      throw new InvalidInput({
        code: 'saml_settings_incomplete',
        detail: `The IdP's ${[!idpEntityId && 'entity ID', !idpSsoUrl && 'SSO URL', certificates.length === 0 && 'signing certificate'].filter(Boolean).join(', ')} ${certificates.length === 0 && (!idpEntityId || !idpSsoUrl) ? 'are' : 'is'} missing.`,
        field: 'saml',
        fix: 'Give saml.metadataUrl or saml.metadataXml, or all of saml.idpEntityId, saml.idpSsoUrl and saml.idpCertificates.',
      });
    }
    try {
      checkTransport(idpSsoUrl, 'saml.idpSsoUrl', this.#policy);
    } catch (error) {
      throw new InvalidInput({
        code: 'insecure_url',
        detail: (error as Error).message,
        field: 'saml.idpSsoUrl',
        fix: 'Use the IdP’s https SSO URL.',
      });
    }
    const warnings: Array<Record<string, unknown>> = [];
    const pems: string[] = [];
    let usable = 0;
    for (const [index, certificate] of certificates.entries()) {
      let info: ReturnType<typeof readCertificate>;
      try {
        info = readCertificate(certificate);
      } catch (error) {
        throw new InvalidInput({
          code: 'invalid_certificate',
          detail: `IdP certificate ${index + 1} ${(error as Error).message}.`,
          field: `saml.idpCertificates[${index}]`,
          fix: 'Paste the PEM certificate (-----BEGIN CERTIFICATE----- ...) from the IdP.',
        });
      }
      const status = certificateStatus(info);
      if (status === 'expired') {
        if (certificates.length === 1) {
          throw new InvalidInput({
            code: 'certificate_expired',
            detail: `The IdP signing certificate (${info.subject}) expired on ${info.notAfter}.`,
            field: input.idpCertificates ? 'saml.idpCertificates[0]' : 'saml.metadataXml',
            fix: 'Download the current certificate or metadata from the IdP; it has rotated its signing key.',
          });
        }
        warnings.push({
          code: 'certificate_expired',
          message: `IdP certificate ${info.subject} expired on ${info.notAfter}; it is ignored.`,
          fingerprintSha256: info.fingerprintSha256,
        });
        continue;
      }
      if (status === 'expiring_soon') {
        warnings.push({
          code: 'certificate_expiring',
          message: `The IdP signing certificate ${info.subject} expires on ${info.notAfter}. Add the IdP's new certificate before then.`,
          fingerprintSha256: info.fingerprintSha256,
          notAfter: info.notAfter,
        });
      }
      usable++;
      pems.push(info.pem);
    }
    if (usable === 0) {
      throw new InvalidInput({
        code: 'certificate_expired',
        detail: 'Every IdP signing certificate has expired.',
        field: 'saml.idpCertificates',
        fix: 'Download the current certificate or metadata from the IdP.',
      });
    }
    const defaults = PRESETS[preset].saml;
    return {
      settings: {
        ...(input.metadataUrl
          ? { metadataUrl: input.metadataUrl }
          : previous?.metadataUrl && !metadataXml
            ? { metadataUrl: previous.metadataUrl }
            : {}),
        idpEntityId,
        idpSsoUrl,
        idpSsoBinding: binding,
        idpCertificates: pems,
        signAuthnRequests:
          input.signAuthnRequests ?? previous?.signAuthnRequests ?? parsed?.wantAuthnRequestsSigned ?? false,
        requireEncryptedAssertions:
          input.requireEncryptedAssertions ?? previous?.requireEncryptedAssertions ?? false,
        nameIdFormat: input.nameIdFormat ?? previous?.nameIdFormat ?? defaults.nameIdFormat,
        clockSkewSeconds: input.clockSkewSeconds ?? previous?.clockSkewSeconds ?? 120,
        allowIdpInitiated: input.allowIdpInitiated ?? previous?.allowIdpInitiated ?? false,
        ...(metadataFetchedAt ? { metadataFetchedAt } : {}),
      },
      warnings,
    };
  }

  async #fetchMetadata(url: string): Promise<string> {
    let response: Awaited<ReturnType<HttpClient['request']>>;
    try {
      response = await this.#http.request({ url, timeoutMs: 8000, retries: 1 });
    } catch (error) {
      throw new UpstreamError({
        code: 'metadata_unreachable',
        detail: `Could not fetch the IdP metadata from ${url}: ${(error as Error).message}.`,
        field: 'saml.metadataUrl',
        fix: 'Check the URL and that the hub can reach it, or send the metadata XML as saml.metadataXml.',
      });
    }
    if (response.status !== 200) {
      throw new UpstreamError({
        code: 'metadata_unreachable',
        detail: `The IdP metadata URL ${url} answered HTTP ${response.status}.`,
        field: 'saml.metadataUrl',
        fix: 'Check the URL, or send the metadata XML as saml.metadataXml.',
      });
    }
    return response.text;
  }

  async #event(tx: Tx, type: string, row: ConnectionRow, actor: Actor, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: row.organizationId,
      type,
      actor,
      subjectType: 'connection',
      subjectId: row.id,
      data,
    });
  }
}

function withOpenid(scopes: string[]): string[] {
  return scopes.includes('openid') ? [...new Set(scopes)] : ['openid', ...new Set(scopes)];
}

function settingsToOidcInput(
  settings: OidcSettings | undefined,
): Partial<NonNullable<CreateConnectionInput['oidc']>> {
  if (!settings) return {};
  const { discoveredAt: _discoveredAt, ...rest } = settings;
  // Re-resolve from discovery when there is a discovery URL, so endpoints follow the IdP.
  if (rest.discoveryUrl) {
    return {
      discoveryUrl: rest.discoveryUrl,
      clientId: rest.clientId,
      ...(rest.tenantId ? { tenantId: rest.tenantId } : {}),
      clientAuthMethod: rest.clientAuthMethod,
      scopes: rest.scopes,
      pkce: rest.pkce,
      responseMode: rest.responseMode,
      fetchUserInfo: rest.fetchUserInfo,
      idTokenSigningAlg: rest.idTokenSigningAlg as never,
    };
  }
  return rest as never;
}

function liveWarnings(connection: Connection): Array<{ code: string; message: string }> {
  const warnings: Array<{ code: string; message: string }> = [];
  const stored = new Set(
    (connection.row.warnings as Array<{ fingerprintSha256?: string }>).map((w) => w.fingerprintSha256),
  );
  for (const pem of connection.settings.saml?.idpCertificates ?? []) {
    const info = readCertificate(pem);
    if (stored.has(info.fingerprintSha256)) continue;
    const status = certificateStatus(info);
    if (status === 'expiring_soon' || status === 'expired') {
      warnings.push({
        code: status === 'expired' ? 'certificate_expired' : 'certificate_expiring',
        message: `The IdP signing certificate ${info.subject} ${status === 'expired' ? 'expired' : 'expires'} on ${info.notAfter}.`,
      });
    }
  }
  return warnings;
}

export function mappingProblems(result: ReturnType<typeof applyMapping>): string[] {
  const problems: string[] = [];
  if (!result.profile.email) {
    const missing = result.missing.find((item) => item.field === 'email');
    const invalid = result.invalid.find((item) => item.field === 'email');
    if (invalid) problems.push(`email: ${invalid.reason} (from ${invalid.source})`);
    else problems.push(`email: none of ${missing?.tried.join(', ') ?? '(no source mapped)'} was sent`);
  }
  return problems;
}

function assertSandbox(org: Organization): void {
  if (org.environment === 'production') {
    throw new Conflict({
      code: 'test_idp_on_production',
      detail: `Organization ${org.slug} is a production organization; the built-in test IdP is only for sandbox organizations.`,
      field: 'testIdp',
      fix: 'Use a sandbox organization to try the flow, or connect the organization’s real IdP.',
    });
  }
}

function missingSettings(protocol: 'oidc' | 'saml'): InvalidInput {
  return new InvalidInput({
    code: `${protocol}_settings_required`,
    detail: `A ${protocol.toUpperCase()} connection needs its "${protocol}" settings.`,
    field: protocol,
    fix:
      protocol === 'oidc'
        ? 'Give oidc.discoveryUrl, oidc.clientId and oidc.clientSecret.'
        : 'Give saml.metadataUrl or saml.metadataXml.',
  });
}

function wrongProtocol(given: string, actual: string): InvalidInput {
  return new InvalidInput({
    code: 'protocol_mismatch',
    detail: `This is a ${actual.toUpperCase()} connection; "${given}" settings do not apply.`,
    field: given,
    fix: 'Create a new connection to change protocol.',
  });
}
