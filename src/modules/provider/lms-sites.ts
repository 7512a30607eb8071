/**
 * LMS sites: the Thinkific schools a post-login route can hand people to with single sign-on.
 * The API key signs the SSO JWTs; it is sealed at rest (bound to the site) and never returned.
 */
import type { Database, Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import { diffViews } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
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

export class LmsSiteService {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;

  constructor(deps: { database: Database; secrets: SecretBox; events: EventLog; orgs: OrganizationService }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
  }

  async create(org: string, input: CreateLmsSiteInput, actor: Actor): Promise<LmsSiteView> {
    const organization = await this.#orgs.require(org);
    if (input.defaultReturnTo) checkHttpsUrl(input.defaultReturnTo, 'defaultReturnTo');
    const id = newId('lmsSite');
    return this.#database.transaction(async (tx) => {
      const row = await insertLmsSite(tx, {
        organizationId: organization.id,
        id,
        provider: input.provider,
        name: input.name,
        subdomain: input.subdomain,
        customDomain: input.customDomain ?? null,
        defaultReturnTo: input.defaultReturnTo ?? null,
        apiKeySealed: this.#secrets.seal(input.apiKey, apiKeyContext(id)),
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
      if (input.subdomain !== undefined) changes.subdomain = input.subdomain;
      if (input.customDomain !== undefined) changes.customDomain = input.customDomain;
      if (input.defaultReturnTo !== undefined) changes.defaultReturnTo = input.defaultReturnTo;
      if (input.apiKey !== undefined)
        changes.apiKeySealed = this.#secrets.seal(input.apiKey, apiKeyContext(id));
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
          ...(input.apiKey !== undefined ? { apiKey: { from: '[redacted]', to: '[redacted]' } } : {}),
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

  /** The site with its API key, for signing a handoff. */
  async open(organizationId: string, id: string): Promise<(ThinkificSite & { row: LmsSiteRow }) | undefined> {
    const row = await findLmsSite(this.#database.db, organizationId, id);
    if (!row) return undefined;
    return {
      row,
      subdomain: row.subdomain,
      customDomain: row.customDomain,
      apiKey: this.#secrets.open(row.apiKeySealed, apiKeyContext(row.id)),
    };
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
    apiKeySet: Boolean(row.apiKeySealed),
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
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
