/**
 * The built-in test IdP: a real SAML identity provider inside the hub, attachable to sandbox
 * organizations only. Its form lets anyone choose the email, name and groups to assert; the answer
 * is a SAML response signed with the connection's own key (generated on creation, encrypted at
 * rest), posted to the connection's ACS, and so checked, mapped and provisioned exactly like an
 * Entra or Okta response. No shortcut around the pipeline.
 *
 * Production guard, twice: a test IdP cannot be created or enabled on a production organization,
 * an organization with one cannot be switched to production (orgs update guard), and every request
 * here re-checks the organization's environment in case it changed anyway.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import { connectionUrls, inactiveReason, privateKeyContext } from './connections.ts';
import type { LoginService } from './login.ts';
import { sendPage } from './login.ts';
import { autoPostPage, errorPage, testIdpPage } from './pages.ts';
import {
  buildResponseXml,
  readRedirectAuthnRequest,
  renderIdpMetadata,
  signSamlXml,
} from './saml/identity-provider.ts';

export class TestIdentityProvider {
  readonly #config: Config;
  readonly #secrets: SecretBox;
  readonly #login: LoginService;

  constructor(deps: { config: Config; secrets: SecretBox; login: LoginService }) {
    this.#config = deps.config;
    this.#secrets = deps.secrets;
    this.#login = deps.login;
  }

  async #load(reply: FastifyReply, connectionId: string) {
    const found = await this.#login.findConnection(connectionId);
    if (!found?.connection.settings.testIdp) {
      sendPage(
        reply,
        404,
        errorPage({ title: 'Test IdP', message: 'There is no test identity provider here.' }),
      );
      return undefined;
    }
    const reason = inactiveReason(found.connection, found.organization);
    if (reason) {
      sendPage(reply, 403, errorPage({ title: 'Test IdP unavailable', message: reason }));
      return undefined;
    }
    return found;
  }

  /** SingleSignOnService (HTTP-Redirect): shows the form. */
  async showForm(request: FastifyRequest, reply: FastifyReply, connectionId: string) {
    const found = await this.#load(reply, connectionId);
    if (!found) return reply;
    const query = request.query as Record<string, string | undefined>;
    const urls = connectionUrls(this.#config.PUBLIC_URL, connectionId);
    let requestId: string | undefined;
    if (query.SAMLRequest) {
      try {
        const authnRequest = readRedirectAuthnRequest(query.SAMLRequest);
        if (authnRequest.issuer !== urls.spEntityId) {
          return sendPage(
            reply,
            400,
            errorPage({ title: 'Test IdP', message: `This test IdP only answers ${urls.spEntityId}.` }),
          );
        }
        requestId = authnRequest.id;
      } catch (error) {
        return sendPage(
          reply,
          400,
          errorPage({
            title: 'Test IdP',
            message: `The SAMLRequest is not usable: ${(error as Error).message}`,
          }),
        );
      }
    }
    const hint =
      query.login_hint && /^[^\s@]+@[^\s@]+$/.test(query.login_hint) ? query.login_hint : undefined;
    const domain = hint?.split('@')[1] ?? 'example.com';
    return sendPage(
      reply,
      200,
      testIdpPage({
        action: urls.testIdpSsoUrl,
        connectionName: found.connection.name,
        organizationName: found.organization.name,
        fields: { request_id: requestId, RelayState: query.RelayState },
        defaults: { email: hint ?? `test.user@${domain}`, givenName: 'Test', familyName: 'User', groups: '' },
      }),
    );
  }

  /** The form's answer: a signed SAML response, auto-posted to the connection's ACS. */
  async answer(request: FastifyRequest, reply: FastifyReply, connectionId: string) {
    const found = await this.#load(reply, connectionId);
    if (!found) return reply;
    const body = (request.body ?? {}) as Record<string, string | undefined>;
    const email = (body.email ?? '').trim();
    if (!email)
      return sendPage(
        reply,
        400,
        errorPage({
          title: 'Test IdP',
          message: 'Give an email to assert.',
          retryHref: urls(this.#config, connectionId).testIdpSsoUrl,
        }),
      );
    const groups = (body.groups ?? '')
      .split(',')
      .map((group) => group.trim())
      .filter(Boolean);
    const given = (body.given_name ?? '').trim();
    const family = (body.family_name ?? '').trim();
    const attributes: Record<string, string | string[]> = { email };
    if (given) attributes.given_name = given;
    if (family) attributes.family_name = family;
    if (given || family) attributes.name = [given, family].filter(Boolean).join(' ');
    if (groups.length) attributes.groups = groups;
    const connectionUrlsFor = urls(this.#config, connectionId);
    const { xml } = buildResponseXml({
      issuer: connectionUrlsFor.testIdpEntityId,
      acsUrl: connectionUrlsFor.acsUrl,
      audience: connectionUrlsFor.spEntityId,
      inResponseTo: body.request_id || undefined,
      nameId: email,
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      attributes,
    });
    const signed = signSamlXml(xml, {
      target: 'assertion',
      privateKeyPem: this.#secrets.open(
        found.connection.row.privateKeySealed ?? '',
        privateKeyContext(connectionId),
      ),
      certificatePem: found.connection.row.certificate ?? '',
    });
    return sendPage(
      reply,
      200,
      autoPostPage({
        action: connectionUrlsFor.acsUrl,
        title: 'Signing you in…',
        fields: { SAMLResponse: Buffer.from(signed).toString('base64'), RelayState: body.RelayState },
      }),
    );
  }

  async metadata(reply: FastifyReply, connectionId: string) {
    const found = await this.#load(reply, connectionId);
    if (!found) return reply;
    const u = urls(this.#config, connectionId);
    return reply.type('application/samlmetadata+xml; charset=utf-8').send(
      renderIdpMetadata({
        entityId: u.testIdpEntityId,
        ssoUrl: u.testIdpSsoUrl,
        certificatePem: found.connection.row.certificate ?? '',
      }),
    );
  }
}

function urls(config: Config, connectionId: string) {
  return connectionUrls(config.PUBLIC_URL, connectionId);
}
