/**
 * LMS sites: the Thinkific schools a post-login route can hand people to with single sign-on.
 * The school's API key signs the SSO JWTs. When a provisioning destination already holds that key
 * (it provisions the same school), the site refers to it (`destinationId`): one credential, entered
 * and rotated once, used by both. A site no destination provisions keeps its own key, sealed at rest
 * (bound to the site). Neither is ever returned.
 */
import type { Database, Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import { diffViews } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { DestinationGuard, ThinkificSsoKey } from '../provisioning/index.ts';
import type { CreateLmsSiteInput, LmsSiteView, UpdateLmsSiteInput } from './contracts.ts';
import {
  deleteLmsSiteRow,
  findLmsSite,
  insertLmsSite,
  type LmsSiteRow,
  listLmsSites,
  listRoutesTargeting,
  updateLmsSiteRow,
} from './repository.ts';
import { type ThinkificSite, thinkificBaseUrl, thinkificSsoEndpoint } from './thinkific-sso.ts';

export function apiKeyContext(siteId: string): string {
  return `lms_site:${siteId}:api_key`;
}

/**
 * The Thinkific destinations an LMS site can take its API key from (provisioning's destinations,
 * passed in by the hub), and where it says which changes to them it cannot live with.
 */
export interface SiteKeySource {
  thinkificSsoKey(organizationId: string, destinationId: string, executor?: Tx): Promise<ThinkificSsoKey>;
  thinkificDestinationsOf(
    organizationId: string,
    subdomain: string,
    executor?: Tx,
  ): Promise<Array<{ id: string; name: string }>>;
  addGuard(guard: DestinationGuard): void;
}

export class LmsSiteService {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #keys: SiteKeySource;

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    keys: SiteKeySource;
  }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#keys = deps.keys;
    this.#keys.addGuard((tx, change) => this.#guardDestination(tx, change));
  }

  async create(org: string, input: CreateLmsSiteInput, actor: Actor): Promise<LmsSiteView> {
    const organization = await this.#orgs.require(org);
    if (input.defaultReturnTo) checkHttpsUrl(input.defaultReturnTo, 'defaultReturnTo');
    const id = newId('lmsSite');
    return this.#database.transaction(async (tx) => {
      const key = await this.#chooseKey(tx, organization.id, id, {
        destinationId: input.destinationId,
        apiKey: input.apiKey,
        subdomain: input.subdomain,
      });
      const row = await insertLmsSite(tx, {
        organizationId: organization.id,
        id,
        provider: input.provider,
        name: input.name,
        subdomain: key.subdomain,
        customDomain: input.customDomain ?? null,
        defaultReturnTo: input.defaultReturnTo ?? null,
        destinationId: key.destinationId,
        apiKeySealed: key.apiKeySealed,
      });
      const site = toLmsSiteView(row);
      await this.#append(tx, row, 'lms_site.created', actor, { site });
      return site;
    });
  }

  async list(org: string): Promise<LmsSiteView[]> {
    const organization = await this.#orgs.require(org);
    return (await listLmsSites(this.#database.db, organization.id)).map(toLmsSiteView);
  }

  async get(org: string, id: string): Promise<LmsSiteView> {
    const organization = await this.#orgs.require(org);
    return toLmsSiteView(await this.#require(this.#database.db, organization.id, id));
  }

  async update(org: string, id: string, input: UpdateLmsSiteInput, actor: Actor): Promise<LmsSiteView> {
    const organization = await this.#orgs.require(org);
    if (input.defaultReturnTo) checkHttpsUrl(input.defaultReturnTo, 'defaultReturnTo');
    return this.#database.transaction(async (tx) => {
      const before = await this.#require(tx, organization.id, id);
      const changes: Partial<LmsSiteRow> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.customDomain !== undefined) changes.customDomain = input.customDomain;
      if (input.defaultReturnTo !== undefined) changes.defaultReturnTo = input.defaultReturnTo;
      const keyChange = input.destinationId !== undefined || input.apiKey !== undefined;
      if (keyChange || input.subdomain !== undefined) {
        // What the site signs with after this change: the destination named, the key given, or as before.
        const destinationId =
          input.destinationId !== undefined
            ? input.destinationId
            : input.apiKey !== undefined
              ? null
              : before.destinationId;
        if (input.apiKey !== undefined && before.destinationId && input.destinationId === undefined) {
          throw new InvalidInput({
            code: 'lms_site_key_is_destination_key',
            field: 'apiKey',
            detail: 'This site signs with its destination’s API key: there is no key of its own to replace.',
            fix: 'Rotate the key on the destination (PATCH …/destinations/{id} with credentials.apiKey): the site uses the new one at once. To give the site a key of its own, send destinationId: null with apiKey.',
          });
        }
        const key = await this.#chooseKey(tx, organization.id, id, {
          destinationId: destinationId ?? undefined,
          apiKey: destinationId ? undefined : input.apiKey,
          subdomain: input.subdomain ?? before.subdomain,
          keepSealed: destinationId || input.apiKey !== undefined ? null : before.apiKeySealed,
        });
        if (key.subdomain !== before.subdomain) changes.subdomain = key.subdomain;
        if (key.destinationId !== before.destinationId) changes.destinationId = key.destinationId;
        if (key.apiKeySealed !== before.apiKeySealed) changes.apiKeySealed = key.apiKeySealed;
      }
      const row = await updateLmsSiteRow(tx, organization.id, id, changes);
      const site = toLmsSiteView(row);
      const changed = Object.keys(changes).map((key) => (key === 'apiKeySealed' ? 'apiKey' : key));
      await this.#append(tx, row, 'lms_site.updated', actor, {
        site,
        changed,
        previousName: before.name,
        // The API key itself never: only that it was replaced.
        changes: {
          ...diffViews(toLmsSiteView(before), site, { ignore: ['updatedAt', 'version'] }),
          ...('apiKeySealed' in changes ? { apiKey: { from: '[redacted]', to: '[redacted]' } } : {}),
        },
      });
      return site;
    });
  }

  async delete(org: string, id: string, actor: Actor): Promise<void> {
    const organization = await this.#orgs.require(org);
    await this.#database.transaction(async (tx) => {
      const row = await this.#require(tx, organization.id, id);
      const routes = (await listRoutesTargeting(tx, 'site', id)).filter(
        (route) => route.organizationId === organization.id,
      );
      if (routes.length) {
        throw new Conflict({
          code: 'lms_site_in_use',
          detail: `Post-login routes hand people to this site: ${routes.map((route) => `"${route.name}" (${route.id})`).join(', ')}.`,
          fix: 'Point those routes elsewhere or delete them, then delete the site.',
        });
      }
      await deleteLmsSiteRow(tx, organization.id, id);
      await this.#append(tx, row, 'lms_site.deleted', actor, { site: toLmsSiteView(row) });
    });
  }

  /**
   * The site with the API key that signs its handoffs: its destination's key as it is now (so a key
   * rotated on the destination is used at once), or its own. Undefined when the site is gone, or
   * when its destination no longer holds an API key.
   */
  async open(organizationId: string, id: string): Promise<(ThinkificSite & { row: LmsSiteRow }) | undefined> {
    const row = await findLmsSite(this.#database.db, organizationId, id);
    if (!row) return undefined;
    let apiKey: string;
    if (row.destinationId) {
      const key = await this.#keys.thinkificSsoKey(organizationId, row.destinationId);
      if (!key.ok) return undefined;
      apiKey = key.apiKey;
    } else {
      apiKey = this.#secrets.open(row.apiKeySealed as string, apiKeyContext(row.id));
    }
    return { row, subdomain: row.subdomain, customDomain: row.customDomain, apiKey };
  }

  /**
   * Where a site's key comes from: a Thinkific destination (its subdomain then defaults to the
   * destination's, and must match it), or a key of its own, refused when a destination of the
   * organization already holds the key of that school (one credential, not two copies).
   */
  async #chooseKey(
    tx: Tx,
    organizationId: string,
    siteId: string,
    input: {
      destinationId?: string | undefined;
      apiKey?: string | undefined;
      subdomain?: string | undefined;
      keepSealed?: string | null;
    },
  ): Promise<{ destinationId: string | null; apiKeySealed: string | null; subdomain: string }> {
    if (input.destinationId && input.apiKey !== undefined) {
      throw new InvalidInput({
        code: 'lms_site_two_keys',
        field: 'apiKey',
        detail: 'Give the site either a destination to sign with or an API key of its own, not both.',
        fix: 'Leave apiKey out: the destination’s key signs the handoffs.',
      });
    }
    if (input.destinationId) {
      const key = await this.#keys.thinkificSsoKey(organizationId, input.destinationId, tx);
      if (!key.ok) throw destinationKeyProblem(input.destinationId, key);
      const subdomain = input.subdomain ?? key.subdomain;
      if (!subdomain) {
        throw new InvalidInput({
          code: 'invalid_input',
          field: 'subdomain',
          detail: `Destination "${key.name}" names no subdomain, so the school is unknown.`,
          fix: 'Send subdomain (acme for https://acme.thinkific.com), or set it on the destination.',
        });
      }
      if (key.subdomain && key.subdomain !== subdomain) {
        throw new InvalidInput({
          code: 'lms_site_subdomain_mismatch',
          field: 'subdomain',
          detail: `Destination "${key.name}" holds the key of ${key.subdomain}.thinkific.com, not of ${subdomain}.thinkific.com.`,
          fix: `Leave subdomain out (it is then ${key.subdomain}), or pick the destination of ${subdomain}.`,
        });
      }
      return { destinationId: input.destinationId, apiKeySealed: null, subdomain };
    }
    if (!input.subdomain) {
      throw new InvalidInput({
        code: 'invalid_input',
        field: 'subdomain',
        detail: 'subdomain is required unless destinationId names the school’s Thinkific destination.',
        fix: 'Send subdomain (acme for https://acme.thinkific.com), or destinationId.',
      });
    }
    if (input.apiKey === undefined && input.keepSealed) {
      return { destinationId: null, apiKeySealed: input.keepSealed, subdomain: input.subdomain };
    }
    const holders = await this.#keys.thinkificDestinationsOf(organizationId, input.subdomain, tx);
    if (holders.length) {
      const holder = holders[0] as { id: string; name: string };
      throw new InvalidInput({
        code: 'lms_site_key_held_by_destination',
        field: input.apiKey === undefined ? 'destinationId' : 'apiKey',
        detail: `Destination "${holder.name}" (${holder.id}) already holds the API key of ${input.subdomain}.thinkific.com: a second copy would have to be rotated twice.`,
        fix: `Send destinationId: "${holder.id}" instead of apiKey: the site then signs with the destination's key, and rotating it there rotates it for both.`,
      });
    }
    if (input.apiKey === undefined) {
      throw new InvalidInput({
        code: 'invalid_input',
        field: 'apiKey',
        detail: 'The site needs a key to sign its handoffs: a Thinkific destination’s, or its own.',
        fix: 'Send destinationId (the Thinkific destination of this school), or apiKey when no destination provisions it.',
      });
    }
    return {
      destinationId: null,
      apiKeySealed: this.#secrets.seal(input.apiKey, apiKeyContext(siteId)),
      subdomain: input.subdomain,
    };
  }

  /** A destination an LMS site signs with keeps an API key, and is not deleted from under it. */
  async #guardDestination(tx: Tx, change: Parameters<DestinationGuard>[1]): Promise<void> {
    if (change.type === 'credentials' && typeof change.credentials.apiKey === 'string') return;
    const users = (await listLmsSites(tx, change.row.organizationId)).filter(
      (site) => site.destinationId === change.row.id,
    );
    if (!users.length) return;
    const names = users.map((site) => `"${site.name}" (${site.id})`).join(', ');
    if (change.type === 'delete') {
      throw new Conflict({
        code: 'destination_signs_lms_sites',
        detail: `LMS sites sign their SSO handoffs with this destination's API key: ${names}.`,
        fix: 'Point those sites at another destination or give them a key of their own (PATCH …/lms-sites/{id}), then delete the destination.',
      });
    }
    throw new InvalidInput({
      code: 'destination_signs_lms_sites',
      field: 'credentials.apiKey',
      detail: `LMS sites sign their SSO handoffs with this destination's API key (${names}); an OAuth token cannot sign them.`,
      fix: 'Keep an API key in credentials (rotating it rotates it for those sites too), or give those sites a key of their own first.',
    });
  }

  async exists(organizationId: string, id: string, executor: Database['db'] | Tx = this.#database.db) {
    return Boolean(await findLmsSite(executor, organizationId, id));
  }

  async #require(executor: Database['db'] | Tx, organizationId: string, id: string): Promise<LmsSiteRow> {
    const row = await findLmsSite(executor, organizationId, id);
    if (!row) throw notFound('lms_site', id);
    return row;
  }

  async #append(tx: Tx, row: LmsSiteRow, type: string, actor: Actor, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: row.organizationId,
      type,
      actor,
      subjectType: 'lms_site',
      subjectId: row.id,
      data,
    });
  }
}

export function toLmsSiteView(row: LmsSiteRow): LmsSiteView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    provider: 'thinkific',
    name: row.name,
    subdomain: row.subdomain,
    customDomain: row.customDomain,
    baseUrl: thinkificBaseUrl(row),
    ssoUrl: thinkificSsoEndpoint(row),
    defaultReturnTo: row.defaultReturnTo,
    destinationId: row.destinationId,
    apiKeySet: Boolean(row.apiKeySealed || row.destinationId),
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function destinationKeyProblem(
  destinationId: string,
  key: Extract<ThinkificSsoKey, { ok: false }>,
): InvalidInput {
  if (key.reason === 'not_found') {
    return new InvalidInput({
      code: 'lms_site_destination_not_found',
      field: 'destinationId',
      detail: `No destination "${destinationId}" exists in this organization.`,
      fix: 'Use the id of the Thinkific destination of this school (GET …/destinations).',
    });
  }
  return new InvalidInput({
    code: 'lms_site_destination_without_api_key',
    field: 'destinationId',
    detail:
      key.reason === 'not_thinkific'
        ? `Destination "${key.name}" is not a Thinkific site.`
        : `Destination "${key.name}" connects with an OAuth token; Thinkific signs SSO only with the site's API key.`,
    fix: 'Pick the Thinkific destination of this school, and give it the API key (credentials.apiKey).',
  });
}

export function checkHttpsUrl(value: string, field: string): void {
  const parsed = URL.parse(value);
  if (parsed?.protocol !== 'https:' || parsed.hash) {
    throw new InvalidInput({
      code: 'invalid_url',
      detail: `${field}: "${value}" is not an https URL.`,
      field,
      fix: 'Give a full https URL, e.g. https://acme.thinkific.com/courses/onboarding.',
    });
  }
}
