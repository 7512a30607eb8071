/**
 * Organizations: the tenants. Every change is written with its event in one transaction.
 */
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, NotFound, Unprocessable } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../events/contracts.ts';
import { sameValue } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import {
  type CreateOrganizationInput,
  type DomainView,
  normalizeDomain,
  type OrganizationCreatedView,
  type OrganizationPolicies,
  type OrganizationView,
  organizationPoliciesSchema,
  slugify,
  type UpdateOrganizationInput,
  verificationRecord,
} from './contracts.ts';
import {
  countOrganizationUsers,
  type DomainRow,
  deleteDomainRow,
  deleteOrganizationRow,
  findDomain,
  findOrganization,
  findVerifiedDomainOwner,
  insertDomain,
  insertOrganization,
  listDomainHolders,
  listDomains,
  listOrganizations,
  lockOrganization,
  type OrganizationRow,
  organizationNames,
  similarlyNamedOrganizations,
  slugExists,
  updateDomainRow,
  updateOrganizationRow,
} from './repository.ts';

/** Looks up TXT records; injectable so tests can point it at a local DNS server. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

export function createTxtResolver(servers?: readonly string[]): TxtResolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers?.length) resolver.setServers([...servers]);
  return resolver;
}

export interface Organization {
  id: string;
  slug: string;
  name: string;
  status: 'active' | 'suspended';
  region: string;
  environment: 'production' | 'sandbox';
  policies: OrganizationPolicies;
  instances: Record<string, string>;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A check another module runs inside an organization update's transaction, before it is written;
 * throws a typed error to refuse it (the SSO module refuses `environment: production` while a
 * test IdP is attached).
 */
export type OrganizationUpdateGuard = (
  tx: Tx,
  before: Organization,
  changes: Partial<Pick<Organization, 'environment' | 'status' | 'policies'>>,
) => Promise<void>;

export class OrganizationService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #resolver: TxtResolver;
  readonly #updateGuards: OrganizationUpdateGuard[] = [];

  constructor(database: Database, events: EventLog, resolver: TxtResolver) {
    this.#database = database;
    this.#events = events;
    this.#resolver = resolver;
  }

  /** Registers a check run on every organization update (see OrganizationUpdateGuard). */
  addUpdateGuard(guard: OrganizationUpdateGuard): void {
    this.#updateGuards.push(guard);
  }

  /**
   * Creates an organization. Nothing about its name is refused, but the answer warns when the slug
   * derived from the name was taken (so it got a suffix) and when another organization has the
   * same name or slug base: two "Acme Corp" are hard to tell apart in a picker.
   */
  async create(input: CreateOrganizationInput, actor: Actor): Promise<OrganizationCreatedView> {
    const domains = (input.domains ?? []).map((value, index) => parseDomainInput(value, `domains[${index}]`));
    const duplicate = domains.find((domain, index) => domains.indexOf(domain) !== index);
    if (duplicate) {
      throw new InvalidInput({
        code: 'duplicate_domain',
        detail: `Domain ${duplicate} is listed twice.`,
        field: 'domains',
        fix: 'List each domain once.',
      });
    }
    try {
      return await this.#database.transaction(async (tx) => {
        const baseSlug = slugify(input.name);
        const similar = await similarlyNamedOrganizations(tx, input.name, baseSlug);
        const slug = input.slug ?? (await freeSlug(tx, baseSlug));
        const row = await insertOrganization(tx, {
          id: newId('organization'),
          slug,
          name: input.name,
          region: input.region ?? 'default',
          environment: input.environment ?? 'production',
          policies: organizationPoliciesSchema.parse(input.policies ?? {}),
          instances: input.instances ?? {},
          metadata: input.metadata ?? {},
        });
        const domainRows: DomainRow[] = [];
        for (const [index, domain] of domains.entries()) {
          await refuseDomainVerifiedElsewhere(tx, row.id, domain, `domains[${index}]`);
          domainRows.push(await addDomainRow(tx, row.id, domain));
        }
        const view = toOrganizationView(row, domainRows);
        await this.#events.append(tx, {
          organizationId: row.id,
          type: 'organization.created',
          actor,
          subjectType: 'organization',
          subjectId: row.id,
          data: { organization: view },
        });
        for (const domain of domainRows) {
          await this.#events.append(tx, {
            organizationId: row.id,
            type: 'organization.domain_added',
            actor,
            subjectType: 'domain',
            subjectId: domain.id,
            data: { domain: { id: domain.id, domain: domain.domain, verified: false } },
          });
        }
        return { ...view, warnings: creationWarnings(input, baseSlug, slug, similar) };
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) {
        throw new Conflict({
          code: 'organization_slug_taken',
          detail: `An organization with slug "${input.slug}" already exists.`,
          field: 'slug',
          fix: 'Choose another slug, or leave it out to derive a free one from the name.',
        });
      }
      throw error;
    }
  }

  /** Slugs and names of organizations by id (those that still exist), to show names for ids. */
  async namesOf(ids: readonly string[]): Promise<Map<string, { slug: string; name: string }>> {
    const rows = await organizationNames(this.#database.db, [...new Set(ids)]);
    return new Map(rows.map((row) => [row.id, { slug: row.slug, name: row.name }]));
  }

  async list(options: { after?: string; limit: number; q?: string; status?: string }) {
    const rows = await listOrganizations(this.#database.db, { ...options, limit: options.limit + 1 });
    const page = rows.slice(0, options.limit);
    const domains = await listDomains(
      this.#database.db,
      page.map((row) => row.id),
    );
    return {
      data: page.map((row) =>
        toOrganizationView(
          row,
          domains.filter((domain) => domain.organizationId === row.id),
        ),
      ),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /** Resolves an id or slug; throws NotFound. */
  async require(idOrSlug: string, executor: Executor = this.#database.db): Promise<Organization> {
    const row = await findOrganization(executor, idOrSlug);
    if (!row) throw organizationNotFound(idOrSlug);
    return toOrganization(row);
  }

  /**
   * One organization. `otherClaims` adds, to each domain, the other organizations holding it (for
   * staff: the admin API and console; never for a client's own pages).
   */
  async get(idOrSlug: string, options: { otherClaims?: boolean } = {}): Promise<OrganizationView> {
    const row = await findOrganization(this.#database.db, idOrSlug);
    if (!row) throw organizationNotFound(idOrSlug);
    const view = toOrganizationView(row, await listDomains(this.#database.db, [row.id]));
    if (!options.otherClaims) return view;
    const holders = await listDomainHolders(
      this.#database.db,
      view.domains.map((domain) => domain.domain),
    );
    return {
      ...view,
      domains: view.domains.map((domain) => ({
        ...domain,
        otherClaims: holders
          .filter((holder) => holder.domain === domain.domain && holder.organizationId !== row.id)
          .map(({ organizationId, slug, name, verified }) => ({ organizationId, slug, name, verified })),
      })),
    };
  }

  async update(idOrSlug: string, input: UpdateOrganizationInput, actor: Actor): Promise<OrganizationView> {
    try {
      return await this.#database.transaction(async (tx) => {
        const found = await findOrganization(tx, idOrSlug);
        if (!found) throw organizationNotFound(idOrSlug);
        const before = await lockOrganization(tx, found.id);
        if (!before) throw organizationNotFound(idOrSlug);
        const changes: Partial<OrganizationRow> = {};
        if (input.name !== undefined) changes.name = input.name;
        if (input.slug !== undefined) changes.slug = input.slug;
        if (input.status !== undefined) changes.status = input.status;
        if (input.region !== undefined) changes.region = input.region;
        if (input.environment !== undefined) changes.environment = input.environment;
        if (input.policies !== undefined) {
          changes.policies = organizationPoliciesSchema.parse({
            ...(before.policies as object),
            ...input.policies,
          });
        }
        if (input.instances !== undefined) changes.instances = input.instances;
        if (input.metadata !== undefined) changes.metadata = input.metadata;
        const diff = diffFields(before, changes);
        const domains = await listDomains(tx, [before.id]);
        if (Object.keys(diff).length === 0) return toOrganizationView(before, domains);
        for (const guard of this.#updateGuards) {
          await guard(tx, toOrganization(before), {
            ...('environment' in diff
              ? { environment: changes.environment as Organization['environment'] }
              : {}),
            ...('status' in diff ? { status: changes.status as Organization['status'] } : {}),
            ...('policies' in diff ? { policies: organizationPoliciesSchema.parse(changes.policies) } : {}),
          });
        }
        const after = await updateOrganizationRow(tx, before.id, changes);
        const view = toOrganizationView(after, domains);
        await this.#events.append(tx, {
          organizationId: before.id,
          type: 'organization.updated',
          actor,
          subjectType: 'organization',
          subjectId: before.id,
          data: { organization: view, changes: diff },
        });
        return view;
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) {
        throw new Conflict({
          code: 'organization_slug_taken',
          detail: `An organization with slug "${input.slug}" already exists.`,
          field: 'slug',
          fix: 'Choose another slug.',
        });
      }
      throw error;
    }
  }

  /** Deletes an organization and everything it owns. Refused while it has users unless `force`. */
  async delete(idOrSlug: string, options: { force: boolean }, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const found = await findOrganization(tx, idOrSlug);
      if (!found) throw organizationNotFound(idOrSlug);
      await lockOrganization(tx, found.id);
      const users = await countOrganizationUsers(tx, found.id);
      if (users > 0 && !options.force) {
        throw new Conflict({
          code: 'organization_has_users',
          detail: `Organization ${found.slug} still has ${users} user${users === 1 ? '' : 's'}.`,
          fix: 'Remove its users first, or repeat the request with ?force=true to delete the organization and all its data.',
          extra: { users },
        });
      }
      await deleteOrganizationRow(tx, found.id);
      await this.#events.append(tx, {
        organizationId: found.id,
        type: 'organization.deleted',
        actor,
        subjectType: 'organization',
        subjectId: found.id,
        data: { organization: { id: found.id, slug: found.slug, name: found.name }, usersDeleted: users },
      });
    });
  }

  async addDomain(idOrSlug: string, value: string, actor: Actor): Promise<DomainView> {
    const domain = parseDomainInput(value, 'domain');
    return this.#database.transaction(async (tx) => {
      const org = await this.require(idOrSlug, tx);
      if (await findDomain(tx, org.id, domain)) {
        throw new Conflict({
          code: 'domain_exists',
          detail: `${domain} is already a domain of this organization.`,
          field: 'domain',
          fix: 'Verify the existing domain instead of adding it again.',
        });
      }
      await refuseDomainVerifiedElsewhere(tx, org.id, domain, 'domain');
      const row = await addDomainRow(tx, org.id, domain);
      const view = toDomainView(row);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'organization.domain_added',
        actor,
        subjectType: 'domain',
        subjectId: row.id,
        data: { domain: { id: row.id, domain, verified: false } },
      });
      return view;
    });
  }

  async removeDomain(idOrSlug: string, value: string, actor: Actor): Promise<void> {
    const domain = parseDomainInput(value, 'domain');
    await this.#database.transaction(async (tx) => {
      const org = await this.require(idOrSlug, tx);
      const row = await findDomain(tx, org.id, domain);
      if (!row) throw domainNotFound(domain);
      await deleteDomainRow(tx, org.id, row.id);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'organization.domain_removed',
        actor,
        subjectType: 'domain',
        subjectId: row.id,
        data: { domain: { id: row.id, domain, verified: row.verified } },
      });
    });
  }

  /**
   * Verifies a domain: by its DNS TXT record (`dns`), or by an admin's word (`manual`, for domains our
   * staff checked another way). A domain verified by another organization cannot be verified here.
   */
  async verifyDomain(
    idOrSlug: string,
    value: string,
    method: 'dns' | 'manual',
    actor: Actor,
  ): Promise<DomainView> {
    const domain = parseDomainInput(value, 'domain');
    const org = await this.require(idOrSlug);
    const existing = await findDomain(this.#database.db, org.id, domain);
    if (!existing) throw domainNotFound(domain);
    if (existing.verified) return toDomainView(existing);
    let checkError: string | null = null;
    if (method === 'dns') checkError = await this.#checkTxtRecord(domain, existing.verificationToken);
    const result = await this.#database.transaction(async (tx) => {
      const row = await findDomain(tx, org.id, domain);
      if (!row) throw domainNotFound(domain);
      if (checkError) {
        return {
          row: await updateDomainRow(tx, org.id, row.id, {
            lastCheckedAt: new Date(),
            lastCheckError: checkError,
          }),
          verified: false,
        };
      }
      const owner = await findVerifiedDomainOwner(tx, domain);
      if (owner && owner.organizationId !== org.id) {
        throw new Conflict({
          code: 'domain_owned_elsewhere',
          detail: `${domain} is already verified by another organization.`,
          field: 'domain',
          fix: 'A verified domain routes logins to one organization. Remove it from the other organization first.',
        });
      }
      const updated = await updateDomainRow(tx, org.id, row.id, {
        verified: true,
        verifiedAt: new Date(),
        verificationMethod: method,
        lastCheckedAt: new Date(),
        lastCheckError: null,
      });
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'organization.domain_verified',
        actor,
        subjectType: 'domain',
        subjectId: row.id,
        data: { domain: { id: row.id, domain, verified: true, method } },
      });
      return { row: updated, verified: true };
    });
    if (!result.verified) {
      const record = verificationRecord(domain, existing.verificationToken);
      throw new Unprocessable({
        code: 'domain_verification_failed',
        detail: `Could not verify ${domain}: ${checkError}.`,
        field: 'domain',
        fix: `Publish a TXT record named ${record.name} with the value ${record.value}, wait for DNS to propagate, then verify again.`,
        extra: { verification: record },
      });
    }
    return toDomainView(result.row);
  }

  /** The organization that owns a verified email domain, if any (home-realm discovery). */
  async findByVerifiedDomain(domain: string): Promise<Organization | undefined> {
    const normalized = normalizeDomain(domain);
    if ('error' in normalized) return undefined;
    const owner = await findVerifiedDomainOwner(this.#database.db, normalized.domain);
    if (!owner) return undefined;
    const row = await findOrganization(this.#database.db, owner.organizationId);
    return row ? toOrganization(row) : undefined;
  }

  /** Verified domains of an organization. */
  async verifiedDomains(organizationId: string, executor: Executor = this.#database.db): Promise<string[]> {
    const rows = await listDomains(executor, [organizationId]);
    return rows.filter((row) => row.verified).map((row) => row.domain);
  }

  async #checkTxtRecord(domain: string, token: string): Promise<string | null> {
    const record = verificationRecord(domain, token);
    let answers: string[][];
    try {
      answers = await this.#resolver.resolveTxt(record.name);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return `no TXT record found at ${record.name}`;
      return `DNS lookup of ${record.name} failed (${code ?? 'error'})`;
    }
    const values = answers.map((chunks) => chunks.join(''));
    if (values.includes(record.value)) return null;
    return values.length
      ? `the TXT records at ${record.name} do not include ${record.value}`
      : `no TXT record found at ${record.name}`;
  }
}

type OrganizationRef = { id: string; slug: string; name: string };

function creationWarnings(
  input: CreateOrganizationInput,
  baseSlug: string,
  slug: string,
  similar: readonly OrganizationRef[],
): OrganizationCreatedView['warnings'] {
  const warnings: OrganizationCreatedView['warnings'] = [];
  const quoted = (org: OrganizationRef) => `“${org.name}” (${org.slug})`;
  if (!input.slug && slug !== baseSlug) {
    const holder = similar.filter((org) => org.slug === baseSlug);
    warnings.push({
      code: 'slug_changed',
      message: `The slug ${baseSlug} is taken${holder[0] ? ` by ${quoted(holder[0])}` : ''}, so this organization's slug is ${slug}. Change it under Settings if you want another.`,
      organizations: holder,
    });
  }
  const sameName = similar.filter(
    (org) =>
      org.name.trim().toLowerCase() === input.name.trim().toLowerCase() || slugify(org.name) === baseSlug,
  );
  if (sameName.length) {
    warnings.push({
      code: 'similar_name',
      message: `${sameName.length === 1 ? 'Another organization is' : `${sameName.length} other organizations are`} named like this one: ${sameName.map(quoted).join(', ')}. If it is the same client, use that one and delete this one; otherwise rename one of them so people can tell them apart.`,
      organizations: sameName,
    });
  }
  return warnings;
}

async function freeSlug(executor: Executor, base: string): Promise<string> {
  if (!(await slugExists(executor, base))) return base;
  for (let suffix = 2; suffix < 1000; suffix++) {
    const candidate = `${base}-${suffix}`;
    if (!(await slugExists(executor, candidate))) return candidate;
  }
  return `${base}-${randomBytes(3).toString('hex')}`;
}

/**
 * A domain another organization has verified cannot be claimed: it already routes that
 * organization's logins, and only one organization may ever verify it. The problem names the
 * owner (`owner`, its slug) for staff; the setup portal words it without the name.
 */
async function refuseDomainVerifiedElsewhere(
  executor: Executor,
  organizationId: string,
  domain: string,
  field: string,
): Promise<void> {
  const owner = await findVerifiedDomainOwner(executor, domain);
  if (!owner || owner.organizationId === organizationId) return;
  const ownerRow = await findOrganization(executor, owner.organizationId);
  const slug = ownerRow?.slug ?? owner.organizationId;
  throw new Conflict({
    code: 'domain_owned_elsewhere',
    detail: `${domain} is already verified by organization "${slug}".`,
    field,
    fix: `A verified domain routes logins to one organization. If this organization owns ${domain}, remove it from "${slug}" first; otherwise leave it out.`,
    extra: { domain, owner: slug },
  });
}

async function addDomainRow(executor: Executor, organizationId: string, domain: string): Promise<DomainRow> {
  return insertDomain(executor, {
    organizationId,
    id: newId('domain'),
    domain,
    verificationToken: randomBytes(18).toString('base64url'),
  });
}

function parseDomainInput(value: string, field: string): string {
  const result = normalizeDomain(value);
  if ('error' in result) {
    throw new InvalidInput({
      code: 'invalid_domain',
      detail: `${field} "${value}" ${result.error}.`,
      field,
      fix: 'Give the bare email domain the organization owns, such as example.com.',
    });
  }
  return result.domain;
}

function organizationNotFound(idOrSlug: string): NotFound {
  return new NotFound({
    code: 'organization_not_found',
    detail: `No organization with id or slug "${idOrSlug}".`,
    fix: 'Check the id or slug; GET /api/v1/organizations lists them.',
  });
}

function domainNotFound(domain: string): NotFound {
  return new NotFound({
    code: 'domain_not_found',
    detail: `${domain} is not a domain of this organization.`,
    fix: 'Add it first with POST .../domains.',
  });
}

function diffFields(before: OrganizationRow, changes: Partial<OrganizationRow>) {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, value] of Object.entries(changes)) {
    const previous = before[key as keyof OrganizationRow];
    // Values, not serialisations: policies read back from jsonb have their keys in another order.
    if (!sameValue(previous, value)) diff[key] = { from: previous, to: value };
  }
  return diff;
}

export function toOrganization(row: OrganizationRow): Organization {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status as Organization['status'],
    region: row.region,
    environment: row.environment as Organization['environment'],
    policies: organizationPoliciesSchema.parse(row.policies ?? {}),
    instances: (row.instances ?? {}) as Record<string, string>,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toOrganizationView(row: OrganizationRow, domains: readonly DomainRow[]): OrganizationView {
  const org = toOrganization(row);
  return {
    ...org,
    domains: domains.map(toDomainView),
    createdAt: org.createdAt.toISOString(),
    updatedAt: org.updatedAt.toISOString(),
  };
}

function toDomainView(row: DomainRow): DomainView {
  return {
    id: row.id,
    domain: row.domain,
    verified: row.verified,
    verifiedAt: row.verifiedAt?.toISOString() ?? null,
    verificationMethod: row.verificationMethod,
    verification: verificationRecord(row.domain, row.verificationToken),
    lastCheckedAt: row.lastCheckedAt?.toISOString() ?? null,
    lastCheckError: row.lastCheckError,
  };
}
