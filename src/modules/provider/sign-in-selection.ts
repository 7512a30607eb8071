/**
 * What an application may say about how the person signs in, as authorization request parameters
 * (the ones WorkOS offers on its authorize endpoint, https://workos.com/docs/reference/sso/get-authorization-url):
 *
 * - `connection=<id>`: sign in with that connection's IdP, no discovery, no picker;
 * - `organization=<id or slug>`: sign in with one of that organization's connections (its picker
 *   when it has several);
 * - `login_hint=<email>` (standard OIDC) and `domain_hint=<domain>`: pre-fill home-realm discovery.
 *
 * A connection or organization the application may not serve, a connection of another
 * organization than the one named, or one that does not exist is refused at the authorization
 * endpoint with `invalid_request` (sent back to the application's redirect URI, which is checked
 * before) and a description naming the parameter.
 */
import type { Organization, OrganizationService } from '../orgs/index.ts';
import type { LoginService } from '../sso/index.ts';
import type { ApplicationPolicy, ApplicationService } from './applications.ts';

/** The sign-in an application asked for, resolved: the organization and, when named, the connection. */
export interface SignInSelection {
  organization: Organization;
  connectionId: string | undefined;
}

/** The application asked for a sign-in it cannot have; `message` is the OAuth error_description. */
export class SelectionRefused extends Error {
  override name = 'SelectionRefused';
}

/** `domain_hint`: a DNS name (letters, digits, hyphens, dots), at most 253 characters. */
const DOMAIN_HINT = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export class SignInSelector {
  readonly #orgs: OrganizationService;
  readonly #login: LoginService;
  readonly #applications: ApplicationService;

  constructor(deps: { orgs: OrganizationService; login: LoginService; applications: ApplicationService }) {
    this.#orgs = deps.orgs;
    this.#login = deps.login;
    this.#applications = deps.applications;
  }

  /**
   * Resolves `organization` and `connection` for an application; undefined when neither is given.
   * Throws SelectionRefused when the application may not have what it asked for.
   */
  async resolve(
    policy: Pick<ApplicationPolicy, 'organizationId' | 'allowedOrganizationIds'> | undefined,
    params: { organization?: unknown; connection?: unknown },
  ): Promise<SignInSelection | undefined> {
    const organizationKey = stringParam(params.organization);
    const connectionId = stringParam(params.connection);
    if (organizationKey === undefined && connectionId === undefined) return undefined;
    const serves = (organizationId: string) =>
      !policy || this.#applications.allowsOrganization(policy, organizationId);
    let named: Organization | undefined;
    if (organizationKey !== undefined) {
      named = await this.#orgs.require(organizationKey.slice(0, 100)).catch(() => undefined);
      // An unknown organization and one the application does not serve get the same answer.
      if (!named || !serves(named.id)) {
        throw new SelectionRefused(
          `organization "${organizationKey}" is not an organization this application serves`,
        );
      }
    }
    if (connectionId === undefined) return { organization: named as Organization, connectionId: undefined };
    const found = await this.#login.findConnection(connectionId.slice(0, 100)).catch(() => undefined);
    if (!found) throw new SelectionRefused(`connection "${connectionId}" does not exist`);
    if (named && found.organization.id !== named.id) {
      throw new SelectionRefused(
        `connection "${connectionId}" does not belong to organization "${organizationKey}"; send the connection alone, or the organization it belongs to`,
      );
    }
    if (!serves(found.organization.id)) {
      throw new SelectionRefused(
        `connection "${connectionId}" belongs to an organization this application does not serve`,
      );
    }
    return { organization: found.organization, connectionId: found.connection.id };
  }
}

/** Checks `domain_hint`; returns it lower-cased, or undefined when absent. */
export function readDomainHint(value: unknown): string | undefined {
  const hint = stringParam(value);
  if (hint === undefined) return undefined;
  if (!DOMAIN_HINT.test(hint)) {
    throw new SelectionRefused('domain_hint must be a domain name, such as acme.com');
  }
  return hint.toLowerCase();
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
