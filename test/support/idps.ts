/**
 * Upstream identity providers for SSO tests, each a real third-party implementation on a local
 * port: `oidc-provider` (OpenID Certified) as the OIDC IdP, `samlify` as the SAML IdP producing
 * signed (optionally encrypted) responses. Plus a deliberately malicious OIDC IdP whose token
 * endpoint returns whatever ID token a test forges, for the refusal cases.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import * as samlify from 'samlify';
import { createKeyAndCertificate } from '../../src/modules/sso/certificates.ts';

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Upstream IdPs' keys, made once per test process: RSA key generation is the costliest thing these
 * suites do, and sharing one key between unrelated IdPs changes nothing the tests check (each
 * connection still trusts only the certificate from its IdP's metadata).
 */
let samlIdpKeys: Promise<{ privateKeyPem: string; certificatePem: string }> | undefined;
let oidcIdpKey: ReturnType<typeof generateKeyPair> | undefined;

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// OIDC: oidc-provider

export interface OidcIdp {
  issuer: string;
  /** Registers the client's redirect URIs (rebuilds the provider, same keys and issuer). */
  setRedirectUris(uris: string[]): void;
  clientId: string;
  clientSecret: string;
  /** Claims of each account, by login name (typed in oidc-provider's dev login form). */
  accounts: Map<string, Record<string, unknown>>;
  provider: Provider;
  close(): Promise<void>;
}

export async function startOidcIdp(options: {
  redirectUris: string[];
  /** Extra claim names the IdP may put in ID tokens (e.g. `oid`, `mail`, `upn`). */
  extraClaims?: string[];
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}): Promise<OidcIdp> {
  const accounts = new Map<string, Record<string, unknown>>();
  const clientId = `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  oidcIdpKey ??= generateKeyPair('RS256', { extractable: true });
  const { privateKey } = await oidcIdpKey;
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' } as JWK;
  let provider: Provider | undefined;
  const { server, url } = await listen((req, res) => provider?.callback()(req, res));
  const cookieKey = randomBytes(16).toString('hex');
  const build = (redirectUris: string[]) =>
    new Provider(url, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1/unset'],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? 'client_secret_basic',
        },
      ],
      jwks: { keys: [jwk] },
      cookies: { keys: [cookieKey] },
      claims: {
        openid: ['sub', ...(options.extraClaims ?? [])],
        email: ['email', 'email_verified'],
        profile: ['name', 'given_name', 'family_name'],
        groups: ['groups'],
      },
      scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'allatclaims'],
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx, id) {
        const claims = accounts.get(id) ?? { email: `${id}@unknown.test` };
        return {
          accountId: id,
          async claims() {
            const all: Record<string, unknown> = { sub: id, ...claims };
            return all as { sub: string };
          },
        };
      },
    });
  provider = build(options.redirectUris);
  return {
    issuer: url,
    setRedirectUris(uris) {
      provider = build(uris);
    },
    clientId,
    clientSecret,
    accounts,
    get provider() {
      return provider as Provider;
    },
    close: () => close(server),
  };
}

// OIDC: a malicious IdP that issues the ID token a test forges

export interface ForgingOidcIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Builds the ID token for a code request; the nonce and client id come from the authorization request. */
  forge: (input: {
    nonce: string;
    clientId: string;
    issuer: string;
    sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
  }) => Promise<string>;
  /** When set, the IdP ignores the browser's state and returns this one. */
  overrideState?: string;
  /** Code verifiers received at the token endpoint (to see PKCE was sent). */
  codeVerifiers: string[];
  /** Require a PKCE code_verifier whose challenge matches (RFC 7636 §4.6). */
  enforcePkce: boolean;
  /** Replaces the signing key with a new one under a new `kid` (the old one leaves the JWKS). */
  rotateKey(): Promise<string>;
  /** How many times the JWKS was fetched. */
  jwksFetches: number;
  close(): Promise<void>;
}

export async function startForgingOidcIdp(): Promise<ForgingOidcIdp> {
  const first = await generateKeyPair('RS256', { extractable: true });
  let privateKey = first.privateKey;
  let kid = 'forge-1';
  let publicJwk: JWK = { ...(await exportJWK(first.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string; challenge?: string }>();
  const idp: ForgingOidcIdp = {
    issuer: '',
    clientId: 'forged-client',
    clientSecret: 'forged-secret',
    codeVerifiers: [],
    enforcePkce: true,
    jwksFetches: 0,
    async rotateKey() {
      const next = await generateKeyPair('RS256', { extractable: true });
      privateKey = next.privateKey;
      kid = `forge-${Date.now()}`;
      publicJwk = { ...(await exportJWK(next.publicKey)), kid, alg: 'RS256', use: 'sig' };
      return kid;
    },
    forge: async ({ nonce, clientId, issuer, sign }) =>
      sign({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: 'forged@acme.test',
        iat: now(),
        exp: now() + 300,
      }),
    close: async () => {},
  };
  const sign = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    if (header.alg === 'none') {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
    }
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, ...header }).sign(privateKey);
  };
  const { server, url } = await listen(async (req, res) => {
    const requestUrl = new URL(req.url ?? '/', idp.issuer);
    if (requestUrl.pathname === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: idp.issuer,
          authorization_endpoint: `${idp.issuer}/authorize`,
          token_endpoint: `${idp.issuer}/token`,
          jwks_uri: `${idp.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
      return;
    }
    if (requestUrl.pathname === '/jwks') {
      idp.jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    if (requestUrl.pathname === '/authorize') {
      const code = randomBytes(16).toString('hex');
      const challenge = requestUrl.searchParams.get('code_challenge') ?? undefined;
      codes.set(code, {
        nonce: requestUrl.searchParams.get('nonce') ?? '',
        ...(challenge ? { challenge } : {}),
      });
      const redirect = new URL(requestUrl.searchParams.get('redirect_uri') ?? '');
      redirect.searchParams.set('code', code);
      redirect.searchParams.set('state', idp.overrideState ?? requestUrl.searchParams.get('state') ?? '');
      redirect.searchParams.set('iss', idp.issuer);
      res.statusCode = 302;
      res.setHeader('location', redirect.href);
      res.end();
      return;
    }
    if (requestUrl.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const entry = codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      idp.codeVerifiers.push(verifier);
      res.setHeader('content-type', 'application/json');
      const { createHash } = await import('node:crypto');
      const pkceOk =
        !entry?.challenge || createHash('sha256').update(verifier).digest('base64url') === entry.challenge;
      if (!entry || (idp.enforcePkce && !pkceOk)) {
        res.statusCode = 400;
        res.end(
          JSON.stringify({
            error: 'invalid_grant',
            error_description: entry ? 'PKCE verification failed' : 'unknown code',
          }),
        );
        return;
      }
      codes.delete(form.get('code') ?? '');
      const idToken = await idp.forge({
        nonce: entry.nonce,
        clientId: idp.clientId,
        issuer: idp.issuer,
        sign,
      });
      res.end(
        JSON.stringify({
          access_token: randomBytes(16).toString('hex'),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: idToken,
        }),
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  idp.issuer = url;
  idp.close = () => close(server);
  return idp;
}

export function now(): number {
  return Math.floor(Date.now() / 1000);
}

// SAML: samlify

samlify.setSchemaValidator({
  validate: async () => 'skipped: the test IdP trusts the hub’s AuthnRequest schema',
});

export interface SamlUser {
  nameId: string;
  nameIdFormat?: string;
  attributes: Record<string, string | string[]>;
}

export interface SamlIdp {
  entityId: string;
  ssoUrl: string;
  metadataXml: string;
  certificatePem: string;
  privateKeyPem: string;
  /** Who the IdP signs in next. */
  user: SamlUser;
  /** When set, picks the user for each SSO request instead of `user` (concurrent logins). */
  nextUser?: () => SamlUser;
  /** Points the IdP at the hub's SP metadata (after the connection exists). */
  trustServiceProvider(spMetadataXml: string): void;
  /** A signed response for the current user, IdP-initiated unless `inResponseTo` is given. */
  createResponse(options?: { inResponseTo?: string; user?: SamlUser }): Promise<string>;
  close(): Promise<void>;
}

export async function startSamlIdp(
  options: { encryptAssertions?: boolean; user?: SamlUser } = {},
): Promise<SamlIdp> {
  samlIdpKeys ??= createKeyAndCertificate({ commonName: 'samlify test IdP', validDays: 365 });
  const keys = await samlIdpKeys;
  let sp: ReturnType<typeof samlify.ServiceProvider> | undefined;
  let idp: ReturnType<typeof samlify.IdentityProvider> | undefined;
  const state: SamlIdp = {
    entityId: '',
    ssoUrl: '',
    metadataXml: '',
    certificatePem: keys.certificatePem,
    privateKeyPem: keys.privateKeyPem,
    user: options.user ?? { nameId: 'jane@acme.test', attributes: { email: 'jane@acme.test' } },
    trustServiceProvider(spMetadataXml) {
      sp = samlify.ServiceProvider({ metadata: spMetadataXml });
    },
    async createResponse(responseOptions: { inResponseTo?: string; user?: SamlUser } = {}) {
      if (!sp || !idp) throw new Error('call trustServiceProvider first');
      const user = responseOptions.user ?? state.user;
      const requestInfo = responseOptions.inResponseTo
        ? { extract: { request: { id: responseOptions.inResponseTo } } }
        : ({} as never);
      const result = await idp.createLoginResponse(
        sp,
        requestInfo,
        'post',
        { email: user.nameId },
        {
          customTagReplacement: () => {
            const meta = (
              sp as unknown as {
                entityMeta: { getAssertionConsumerService(binding: string): string; getEntityID(): string };
              }
            ).entityMeta;
            const { id, xml } = samlResponseXml({
              issuer: state.entityId,
              acsUrl: meta.getAssertionConsumerService('post'),
              audience: meta.getEntityID(),
              inResponseTo: responseOptions.inResponseTo,
              user: state.user,
            });
            return { id, context: xml };
          },
        },
      );
      return (result as { context: string }).context;
    },
    close: async () => {},
  };
  const { server, url } = await listen(async (req, res) => {
    const requestUrl = new URL(req.url ?? '/', url);
    if (requestUrl.pathname !== '/sso' || !sp || !idp) {
      res.statusCode = 404;
      res.end();
      return;
    }
    try {
      const query = Object.fromEntries(requestUrl.searchParams);
      const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: '' } as never);
      const requestId = (parsed.extract as { request?: { id?: string } }).request?.id;
      const user = state.nextUser?.() ?? state.user;
      const samlResponse = await state.createResponse(
        requestId ? { inResponseTo: requestId, user } : { user },
      );
      const action = (
        sp as unknown as { entityMeta: { getAssertionConsumerService(binding: string): string } }
      ).entityMeta.getAssertionConsumerService('post');
      res.setHeader('content-type', 'text/html');
      res.end(
        `<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="${action}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"><input type="hidden" name="RelayState" value="${(query.RelayState ?? '').replace(/"/g, '&quot;')}"><button>Continue</button></form></body></html>`,
      );
    } catch (error) {
      res.statusCode = 400;
      res.end(`samlify refused the request: ${(error as Error).message}`);
    }
  });
  state.entityId = `${url}/metadata`;
  state.ssoUrl = `${url}/sso`;
  idp = samlify.IdentityProvider({
    entityID: state.entityId,
    privateKey: keys.privateKeyPem,
    signingCert: keys.certificatePem,
    isAssertionEncrypted: options.encryptAssertions ?? false,
    singleSignOnService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: state.ssoUrl },
    ],
    singleLogoutService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${url}/slo` },
    ],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
  } as never);
  state.metadataXml = idp.getMetadata();
  state.close = () => close(server);
  return state;
}

/** A Response in the shape samlify's default template has, carrying the user's attributes. */
export function samlResponseXml(input: {
  issuer: string;
  acsUrl: string;
  audience: string;
  inResponseTo?: string | undefined;
  user: SamlUser;
  notOnOrAfter?: Date;
  notBefore?: Date;
}): { id: string; xml: string } {
  const escapeXml = (value: string) =>
    value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const id = `_${randomBytes(16).toString('hex')}`;
  const assertionId = `_${randomBytes(16).toString('hex')}`;
  const issued = new Date().toISOString();
  const notBefore = (input.notBefore ?? new Date(Date.now() - 30_000)).toISOString();
  const notOnOrAfter = (input.notOnOrAfter ?? new Date(Date.now() + 300_000)).toISOString();
  const irt = input.inResponseTo ? ` InResponseTo="${escapeXml(input.inResponseTo)}"` : '';
  const attributes = Object.entries(input.user.attributes)
    .map(
      ([name, value]) =>
        `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${(Array.isArray(
          value,
        )
          ? value
          : [value]
        )
          .map(
            (item) =>
              `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(item)}</saml:AttributeValue>`,
          )
          .join('')}</saml:Attribute>`,
    )
    .join('');
  const xml = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${issued}" Destination="${escapeXml(input.acsUrl)}"${irt}><saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${issued}"><saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer><saml:Subject><saml:NameID Format="${escapeXml(input.user.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress')}">${escapeXml(input.user.nameId)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(input.acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(input.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${issued}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : ''}</saml:Assertion></samlp:Response>`;
  return { id, xml };
}
