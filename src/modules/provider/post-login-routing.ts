/**
 * Post-login routing: a person who signs in at `/login` without an application asking (a bookmark,
 * an IdP-initiated login, a link in an email) is sent where they belong. Each organization has an
 * ordered list of routes, each a condition (groups, roles, profile attributes, source) and a target:
 *
 * - `application`: the application's start URL (OIDC `initiate_login_uri`, with `iss` and
 *   `login_hint`, OIDC Core §4), on the organization's own instance when it contains `{instance}`;
 * - `url`: any https URL, where `{instance:<key>}` is the organization's instance URL;
 * - `thinkific`: a signed SSO handoff into the organization's Thinkific school.
 *
 * The first enabled route whose condition holds and whose target resolves for this person wins. A
 * route whose target cannot resolve (an application the organization may not use, an instance URL
 * the organization never recorded) is skipped, and the preview says why. With no route, the person
 * sees the signed-in page. Before sending someone on, routing opens a provider session for them,
 * so the application they land in signs them in without another trip to their IdP.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logging.ts';
import type { DirectoryService, UserView } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { Organization, OrganizationService } from '../orgs/index.ts';
import type { DefaultCompletion } from '../sso/index.ts';
import { rolesOf } from './accounts.ts';
import type { ApplicationService } from './applications.ts';
import { describeCondition, matchesCondition, type RouteSubject } from './conditions.ts';
import type { Condition, CreateRouteInput, RouteTarget, RouteView, UpdateRouteInput } from './contracts.ts';
import { checkHttpsUrl, type LmsSiteService } from './lms-sites.ts';
import {
  deleteRouteRow,
  findRoute,
  insertRoute,
  listRoutes,
  lockRoutes,
  type RouteRow,
  setRoutePositions,
  updateRouteRow,
} from './repository.ts';
import { thinkificSsoEndpoint, thinkificSsoUrl } from './thinkific-sso.ts';

const INSTANCE_PLACEHOLDER = /\{instance:([a-z0-9][a-z0-9_-]{0,62})\}/g;
export const JWT_PLACEHOLDER = '[signed at login]';

/** Opens an OpenID provider session for the person in this browser (see ProviderHost). */
export type SessionOpener = (
  request: FastifyRequest,
  reply: FastifyReply,
  accountId: string,
) => Promise<void>;

interface CandidateRoute {
  id: string | null;
  name: string;
  position: number;
  enabled: boolean;
  condition: Condition;
  target: RouteTarget;
}

type Outcome = 'chosen' | 'disabled' | 'condition_false' | 'target_unavailable' | 'not_reached';

export interface Destination {
  routeId: string | null;
  routeName: string;
  type: RouteTarget['type'];
  /** For application and url targets; thinkific URLs are signed when the person leaves. */
  url: string;
  application?: string;
  site?: string;
  returnTo?: string | null;
}

export interface Evaluation {
  destination: Destination | null;
  evaluated: Array<{
    routeId: string | null;
    name: string;
    position: number;
    outcome: Outcome;
    detail: string;
  }>;
}

export class RouteService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #directory: DirectoryService;
  readonly #applications: ApplicationService;
  readonly #sites: LmsSiteService;
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #openSession: SessionOpener;
  readonly #issuer: string;

  constructor(deps: {
    database: Database;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    applications: ApplicationService;
    sites: LmsSiteService;
    config: Config;
    logger: Logger;
    openSession: SessionOpener;
    issuer: string;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#directory = deps.directory;
    this.#applications = deps.applications;
    this.#sites = deps.sites;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#openSession = deps.openSession;
    this.#issuer = deps.issuer;
  }

  // Administration

  async list(org: string): Promise<RouteView[]> {
    const organization = await this.#orgs.require(org);
    return (await listRoutes(this.#database.db, organization.id)).map(toRouteView);
  }

  async get(org: string, id: string): Promise<RouteView> {
    const organization = await this.#orgs.require(org);
    const row = await findRoute(this.#database.db, organization.id, id);
    if (!row) throw notFound('route', id);
    return toRouteView(row);
  }

  async create(org: string, input: CreateRouteInput, actor: Actor): Promise<RouteView> {
    const organization = await this.#orgs.require(org);
    return this.#database.transaction(async (tx) => {
      await lockRoutes(tx, organization.id);
      await this.#checkTarget(tx, organization, input.target, 'target');
      const existing = await listRoutes(tx, organization.id);
      const position = Math.min(input.position ?? existing.length + 1, existing.length + 1);
      const id = newId('route');
      const row = await insertRoute(tx, {
        organizationId: organization.id,
        id,
        position: existing.length + 1,
        name: input.name,
        enabled: input.enabled ?? true,
        condition: input.condition as Record<string, unknown>,
        target: input.target as Record<string, unknown>,
      });
      const order = existing.map((route) => route.id);
      order.splice(position - 1, 0, id);
      await setRoutePositions(tx, organization.id, order);
      const route = toRouteView({ ...row, position });
      await this.#append(tx, organization.id, id, 'route.created', actor, { route });
      return route;
    });
  }

  async update(org: string, id: string, input: UpdateRouteInput, actor: Actor): Promise<RouteView> {
    const organization = await this.#orgs.require(org);
    return this.#database.transaction(async (tx) => {
      await lockRoutes(tx, organization.id);
      const before = await findRoute(tx, organization.id, id);
      if (!before) throw notFound('route', id);
      if (input.target) await this.#checkTarget(tx, organization, input.target, 'target');
      const changes: Partial<RouteRow> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.enabled !== undefined) changes.enabled = input.enabled;
      if (input.condition !== undefined) changes.condition = input.condition as Record<string, unknown>;
      if (input.target !== undefined) changes.target = input.target as Record<string, unknown>;
      let row = await updateRouteRow(tx, organization.id, id, changes);
      if (input.position !== undefined && input.position !== before.position) {
        const order = (await listRoutes(tx, organization.id))
          .map((route) => route.id)
          .filter((other) => other !== id);
        order.splice(Math.min(input.position, order.length + 1) - 1, 0, id);
        await setRoutePositions(tx, organization.id, order);
        row = (await findRoute(tx, organization.id, id)) as RouteRow;
      }
      const route = toRouteView(row);
      await this.#append(tx, organization.id, id, 'route.updated', actor, {
        route,
        changes: Object.fromEntries(
          (['name', 'enabled', 'condition', 'target', 'position'] as const)
            .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(row[key]))
            .map((key) => [key, { from: before[key], to: row[key] }]),
        ),
      });
      return route;
    });
  }

  async reorder(org: string, ids: string[], actor: Actor): Promise<RouteView[]> {
    const organization = await this.#orgs.require(org);
    return this.#database.transaction(async (tx) => {
      await lockRoutes(tx, organization.id);
      const existing = await listRoutes(tx, organization.id);
      const known = new Set(existing.map((route) => route.id));
      const given = new Set(ids);
      const unknown = ids.find((id) => !known.has(id));
      const missing = existing.find((route) => !given.has(route.id));
      if (unknown || missing || given.size !== ids.length) {
        throw new InvalidInput({
          code: 'route_order_incomplete',
          detail: unknown
            ? `ids: ${unknown} is not a route of this organization.`
            : missing
              ? `ids: route ${missing.id} ("${missing.name}") is missing; give every route once.`
              : 'ids: a route is listed twice.',
          field: 'ids',
          fix: 'Send every route id of the organization exactly once, in the new order.',
        });
      }
      await setRoutePositions(tx, organization.id, ids);
      const routes = (await listRoutes(tx, organization.id)).map(toRouteView);
      await this.#append(tx, organization.id, organization.id, 'route.reordered', actor, {
        order: routes.map((route) => route.id),
      });
      return routes;
    });
  }

  async delete(org: string, id: string, actor: Actor): Promise<void> {
    const organization = await this.#orgs.require(org);
    await this.#database.transaction(async (tx) => {
      await lockRoutes(tx, organization.id);
      const row = await findRoute(tx, organization.id, id);
      if (!row) throw notFound('route', id);
      await deleteRouteRow(tx, organization.id, id);
      await setRoutePositions(
        tx,
        organization.id,
        (await listRoutes(tx, organization.id)).map((route) => route.id),
      );
      await this.#append(tx, organization.id, id, 'route.deleted', actor, { route: toRouteView(row) });
    });
  }

  /** Where a user (or a hypothetical person) would go, route by route. */
  async preview(
    org: string,
    input: {
      user?: string | undefined;
      subject?: {
        email?: string | undefined;
        givenName?: string | undefined;
        familyName?: string | undefined;
        groups?: string[] | undefined;
        roles?: string[] | undefined;
        source?: string | undefined;
        profile?: Record<string, unknown> | undefined;
      };
      routes?: Array<Omit<CreateRouteInput, 'position'> & { id?: string | undefined }> | undefined;
    },
  ) {
    const organization = await this.#orgs.require(org);
    let subject: RouteSubject;
    let groupNames: string[];
    if (input.user) {
      const user = await this.#findUser(organization, input.user);
      ({ subject, groupNames } = await this.#subjectOf(user));
    } else {
      const given = input.subject ?? {};
      groupNames = given.groups ?? [];
      subject = {
        userId: null,
        email: given.email ?? null,
        givenName: given.givenName ?? null,
        familyName: given.familyName ?? null,
        source: given.source ?? 'sso',
        profile: given.profile ?? {},
        groups: new Set(groupNames.map((group) => group.toLowerCase())),
        roles: new Set(
          [...(given.roles ?? []), ...rolesOf(given.profile ?? {})].map((role) => role.toLowerCase()),
        ),
      };
    }
    const routes: CandidateRoute[] = input.routes
      ? input.routes.map((route, index) => ({
          id: route.id ?? null,
          name: route.name,
          position: index + 1,
          enabled: route.enabled ?? true,
          condition: route.condition,
          target: route.target,
        }))
      : (await listRoutes(this.#database.db, organization.id)).map(toCandidate);
    const evaluation = await this.evaluate(organization, subject, routes);
    return {
      destination: evaluation.destination
        ? {
            routeId: evaluation.destination.routeId,
            routeName: evaluation.destination.routeName,
            type: evaluation.destination.type,
            url: evaluation.destination.url,
            ...(evaluation.destination.application
              ? { application: evaluation.destination.application }
              : {}),
            ...(evaluation.destination.site ? { site: evaluation.destination.site } : {}),
          }
        : null,
      evaluated: evaluation.evaluated,
      subject: {
        userId: subject.userId,
        email: subject.email,
        groups: groupNames,
        roles: [...subject.roles],
      },
    };
  }

  /** Applies the routes in order to one person. */
  async evaluate(
    organization: Organization,
    subject: RouteSubject,
    routes: CandidateRoute[],
  ): Promise<Evaluation> {
    const evaluated: Evaluation['evaluated'] = [];
    let destination: Destination | null = null;
    for (const route of routes) {
      const base = { routeId: route.id, name: route.name, position: route.position };
      if (destination) {
        evaluated.push({ ...base, outcome: 'not_reached', detail: 'An earlier route applied.' });
        continue;
      }
      if (!route.enabled) {
        evaluated.push({ ...base, outcome: 'disabled', detail: 'The route is disabled.' });
        continue;
      }
      if (!matchesCondition(route.condition, subject)) {
        evaluated.push({
          ...base,
          outcome: 'condition_false',
          detail: `Condition not met: ${describeCondition(route.condition)}.`,
        });
        continue;
      }
      const resolved = await this.#resolveTarget(organization, route.target, subject);
      if ('unavailable' in resolved) {
        evaluated.push({ ...base, outcome: 'target_unavailable', detail: resolved.unavailable });
        continue;
      }
      destination = { routeId: route.id, routeName: route.name, ...resolved };
      evaluated.push({
        ...base,
        outcome: 'chosen',
        detail: `Condition met (${describeCondition(route.condition)}); sends to ${resolved.url}.`,
      });
    }
    return { destination, evaluated };
  }

  /** The default SSO completion: routes a person nothing asked for. */
  readonly completion: DefaultCompletion = async (completion) => {
    const { organization, user, request, reply } = completion;
    const rows = await listRoutes(this.#database.db, organization.id);
    if (rows.length === 0) return false;
    const { subject } = await this.#subjectOf(user);
    const { destination, evaluated } = await this.evaluate(organization, subject, rows.map(toCandidate));
    if (!destination) {
      await completion.recordTrace(true, 'No post-login route applies; showing the signed-in page', {
        routes: evaluated.map(({ name, outcome }) => ({ name, outcome })),
      });
      return false;
    }
    let url = destination.url;
    if (destination.type === 'thinkific') {
      const site = await this.#sites.open(organization.id, destination.site as string);
      if (!site || !user.email) {
        await completion.recordTrace(
          false,
          'The Thinkific site is gone or the user has no email; not routed',
        );
        return false;
      }
      url = await thinkificSsoUrl({
        site,
        person: user as UserView & { email: string },
        returnTo: destination.returnTo ?? null,
        errorUrl: this.#handoffErrorUrl(completion.traceId),
      });
    }
    await this.#openSession(request, reply, user.id);
    await completion.recordTrace(true, `Routed by "${destination.routeName}" to ${destination.type}`, {
      routeId: destination.routeId,
      target: destination.type,
      destination: destination.type === 'thinkific' ? destination.url : url,
      routes: evaluated.map(({ name, outcome }) => ({ name, outcome })),
    });
    this.#logger.debug({ route: destination.routeId, userId: user.id }, 'post-login routing');
    await reply.redirect(url, 303);
    return true;
  };

  /** The trace id goes in the path: whatever query the LMS appends (`?error=…`) stays well formed. */
  #handoffErrorUrl(traceId: string): string {
    return `${this.#config.PUBLIC_URL}/login/handoff-error/${encodeURIComponent(traceId)}`;
  }

  async #resolveTarget(
    organization: Organization,
    target: RouteTarget,
    subject: RouteSubject,
  ): Promise<Omit<Destination, 'routeId' | 'routeName'> | { unavailable: string }> {
    switch (target.type) {
      case 'application': {
        const application = await this.#applications.find(target.application);
        if (!application)
          return { unavailable: `Application ${target.application} does not exist or is disabled.` };
        if (!this.#applications.allowsOrganization(application, organization.id)) {
          return { unavailable: `${application.name} is not available to ${organization.name}.` };
        }
        if (!application.startUrl) {
          return { unavailable: `${application.name} has no startUrl to send people to.` };
        }
        let start = application.startUrl;
        if (start.includes('{instance}')) {
          const instance = organization.instances[application.instanceKey ?? ''];
          if (!instance) {
            return {
              unavailable: `${organization.name} has no "${application.instanceKey}" instance URL for ${application.name}.`,
            };
          }
          start = start.replace('{instance}', instance.replace(/\/$/, ''));
        }
        const url = new URL(start);
        // OIDC Core §4: third-party initiated login.
        url.searchParams.set('iss', this.#issuer);
        if (subject.email) url.searchParams.set('login_hint', subject.email);
        return { type: 'application', url: url.href, application: application.id };
      }
      case 'url': {
        const expanded = expandInstances(target.url, organization);
        if ('missing' in expanded) {
          return { unavailable: `${organization.name} has no "${expanded.missing}" instance URL.` };
        }
        return { type: 'url', url: expanded.url };
      }
      case 'thinkific': {
        const site = await this.#sites.open(organization.id, target.site);
        if (!site) return { unavailable: `LMS site ${target.site} does not exist.` };
        if (!subject.email) return { unavailable: 'Thinkific needs an email and this person has none.' };
        const returnTo = target.returnTo ?? site.row.defaultReturnTo;
        // The JWT is signed when the person leaves (it lives for moments); the preview shows where.
        const query = returnTo ? `&${new URLSearchParams({ return_to: returnTo })}` : '';
        const url = `${thinkificSsoEndpoint(site)}?jwt=${JWT_PLACEHOLDER}${query}`;
        return { type: 'thinkific', url, site: site.row.id, returnTo };
      }
    }
  }

  async #checkTarget(tx: Tx, organization: Organization, target: RouteTarget, field: string): Promise<void> {
    switch (target.type) {
      case 'application': {
        const application = await this.#applications.find(target.application, { includeDisabled: true });
        if (!application) {
          throw new InvalidInput({
            code: 'application_not_found',
            detail: `${field}.application: no application "${target.application}" exists.`,
            field: `${field}.application`,
            fix: 'Give an application id (app_...); list them with GET /api/v1/applications.',
          });
        }
        if (!this.#applications.allowsOrganization(application, organization.id)) {
          throw new Conflict({
            code: 'application_not_allowed',
            detail: `${application.name} does not admit users of ${organization.name}, so a route cannot send them there.`,
            field: `${field}.application`,
            fix: "Add the organization to the application's allowedOrganizations first.",
          });
        }
        if (!application.startUrl) {
          throw new InvalidInput({
            code: 'application_without_start_url',
            detail: `${application.name} has no startUrl, so there is nowhere to send people.`,
            field: `${field}.application`,
            fix: "Set the application's startUrl (where a person starts using it, e.g. https://app.example.com/login).",
          });
        }
        return;
      }
      case 'url': {
        const leftovers = target.url.replace(INSTANCE_PLACEHOLDER, '').match(/\{[^}]*\}/);
        if (leftovers) {
          throw new InvalidInput({
            code: 'invalid_url_template',
            detail: `${field}.url: unknown placeholder ${leftovers[0]}.`,
            field: `${field}.url`,
            fix: 'The only placeholder is {instance:<key>}, e.g. {instance:coaching}/home.',
          });
        }
        const sample = target.url.replace(INSTANCE_PLACEHOLDER, 'https://instance.example');
        const parsed = URL.parse(sample);
        const loopback =
          parsed?.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
        if (!parsed || (parsed.protocol !== 'https:' && !loopback)) {
          throw new InvalidInput({
            code: 'invalid_url',
            detail: `${field}.url: "${target.url}" is not an https URL.`,
            field: `${field}.url`,
            fix: 'Give a full https URL, or {instance:<key>}/path.',
          });
        }
        return;
      }
      case 'thinkific': {
        if (!(await this.#sites.exists(organization.id, target.site, tx))) {
          throw new InvalidInput({
            code: 'lms_site_not_found',
            detail: `${field}.site: ${organization.name} has no LMS site "${target.site}".`,
            field: `${field}.site`,
            fix: `Create it with POST /api/v1/organizations/${organization.slug}/lms-sites, then use its id.`,
          });
        }
        if (target.returnTo) checkHttpsUrl(target.returnTo, `${field}.returnTo`);
        return;
      }
    }
  }

  async #findUser(organization: Organization, key: string): Promise<UserView> {
    const user = key.includes('@')
      ? await this.#directory.findUserByEmail(organization.id, key)
      : await this.#directory.getUserInOrganization(organization.id, key);
    if (!user) {
      throw new InvalidInput({
        code: 'user_not_found',
        detail: `user: ${organization.name} has no user "${key}".`,
        field: 'user',
        fix: 'Give the id (usr_...) or email of a user of this organization, or a hypothetical `subject`.',
      });
    }
    return user;
  }

  async #subjectOf(user: UserView): Promise<{ subject: RouteSubject; groupNames: string[] }> {
    const groups = await this.#directory.listUserGroups(user.id);
    return {
      groupNames: groups.map((group) => group.name),
      subject: {
        userId: user.id,
        email: user.email,
        givenName: user.givenName,
        familyName: user.familyName,
        source: user.source,
        profile: user.profile,
        groups: new Set(groups.flatMap((group) => [group.name.toLowerCase(), group.id])),
        roles: new Set(rolesOf(user.profile).map((role) => role.toLowerCase())),
      },
    };
  }

  async #append(
    tx: Tx,
    organizationId: string,
    subjectId: string,
    type: string,
    actor: Actor,
    data: Record<string, unknown>,
  ) {
    await this.#events.append(tx, {
      organizationId,
      type,
      actor,
      subjectType: type === 'route.reordered' ? 'organization' : 'route',
      subjectId,
      data,
    });
  }
}

function expandInstances(
  template: string,
  organization: Organization,
): { url: string } | { missing: string } {
  let missing: string | undefined;
  const url = template.replace(INSTANCE_PLACEHOLDER, (_match, key: string) => {
    const instance = organization.instances[key];
    if (!instance) missing ??= key;
    return (instance ?? '').replace(/\/$/, '');
  });
  return missing ? { missing } : { url };
}

function toCandidate(row: RouteRow): CandidateRoute {
  return {
    id: row.id,
    name: row.name,
    position: row.position,
    enabled: row.enabled,
    condition: row.condition as Condition,
    target: row.target as RouteTarget,
  };
}

export function toRouteView(row: RouteRow): RouteView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    position: row.position,
    name: row.name,
    enabled: row.enabled,
    condition: row.condition,
    target: row.target,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
