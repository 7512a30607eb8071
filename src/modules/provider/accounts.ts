/**
 * The people behind tokens: oidc-provider's `findAccount`. `sub` is the stable Switchboard user id.
 *
 * Claims by scope (see contracts.ts SCOPE_CLAIMS): `openid` → `sub`, `org_id`, `org_slug`;
 * `profile` → `name`, `given_name`, `family_name`, `updated_at`; `email` → `email`,
 * `email_verified`; `groups` → group names; `roles` → the profile's `roles`.
 *
 * `email_verified` is true when the email's domain is one of the organization's verified domains
 * (the same proof home-realm discovery relies on); otherwise false.
 */

import type { Account, AccountClaims, KoaContextWithOIDC } from 'oidc-provider';
import { rolesOf } from '../../platform/conditions.ts';
import type { DirectoryService, UserView } from '../directory/index.ts';
import type { Organization, OrganizationService } from '../orgs/index.ts';
import type { ApplicationPolicy } from './applications.ts';

/** The account oidc-provider holds, with what the interaction policy needs to know. */
export interface SwitchboardAccount extends Account {
  user: UserView;
  organization: Organization;
}

export class AccountService {
  readonly #directory: DirectoryService;
  readonly #orgs: OrganizationService;
  readonly #allows: (policy: ApplicationPolicy, organizationId: string) => boolean;

  constructor(deps: {
    directory: DirectoryService;
    orgs: OrganizationService;
    allows: (policy: ApplicationPolicy, organizationId: string) => boolean;
  }) {
    this.#directory = deps.directory;
    this.#orgs = deps.orgs;
    this.#allows = deps.allows;
  }

  /**
   * oidc-provider's findAccount. Unknown, suspended or deprovisioned users and suspended
   * organizations have no account: a refresh or userinfo call for them fails (`invalid_grant`,
   * `invalid_token`). At the token and userinfo endpoints (`token` given) a user whose organization
   * the application no longer admits has none either; at the authorization endpoint that case is
   * answered by the `application_access` prompt with a readable refusal instead.
   */
  async findAccount(
    ctx: KoaContextWithOIDC,
    sub: string,
    token?: unknown,
    policyOf?: (client: unknown) => ApplicationPolicy | undefined,
  ): Promise<SwitchboardAccount | undefined> {
    const user = await this.#directory.getUser(sub).catch(() => undefined);
    if (user?.status !== 'active') return undefined;
    const organization = await this.#orgs.require(user.organizationId).catch(() => undefined);
    if (organization?.status !== 'active') return undefined;
    if (token !== undefined && ctx.oidc?.client && policyOf) {
      const policy = policyOf(ctx.oidc.client);
      if (!policy || !this.#allows(policy, organization.id)) return undefined;
    }
    return {
      accountId: user.id,
      user,
      organization,
      claims: (_use, scope) => this.claims(user, organization, scope),
    };
  }

  /** The organization of a user, even a deleted one's last known (null when unknown). */
  async organizationIdOf(userId: string): Promise<string | undefined> {
    return (await this.#directory.getUser(userId).catch(() => undefined))?.organizationId;
  }

  async claims(user: UserView, organization: Organization, scope: string): Promise<AccountClaims> {
    const scopes = new Set(scope.split(' '));
    const claims: AccountClaims = { sub: user.id, org_id: organization.id, org_slug: organization.slug };
    // The two lookups some scopes need, at once.
    const [emailVerified, groups] = await Promise.all([
      scopes.has('email') && user.email ? this.#emailVerified(user, organization) : undefined,
      scopes.has('groups') ? this.#directory.listUserGroups(user.id) : undefined,
    ]);
    if (scopes.has('email') && user.email) {
      claims.email = user.email;
      claims.email_verified = emailVerified ?? false;
    }
    if (scopes.has('profile')) {
      const name =
        user.displayName ?? ([user.givenName, user.familyName].filter(Boolean).join(' ') || undefined);
      if (name) claims.name = name;
      if (user.givenName) claims.given_name = user.givenName;
      if (user.familyName) claims.family_name = user.familyName;
      claims.updated_at = Math.floor(Date.parse(user.updatedAt) / 1000);
    }
    if (groups) claims.groups = groups.map((group) => group.name).sort();
    if (scopes.has('roles')) claims.roles = rolesOf(user.profile);
    return claims;
  }

  async #emailVerified(user: UserView, organization: Organization): Promise<boolean> {
    const domain = user.email?.split('@')[1]?.toLowerCase();
    if (!domain) return false;
    return (await this.#orgs.verifiedDomains(organization.id)).includes(domain);
  }
}

export { rolesOf };
