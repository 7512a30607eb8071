/**
 * The SuccessFactors client. OAuth: a SAML 2.0 assertion signed here (RSA-SHA256, exclusive
 * c14n, enveloped, like SAP's own offline generator) is traded at `/oauth/token` for a bearer
 * token (https://help.sap.com/docs/SAP_SUCCESSFACTORS_PLATFORM/d599f15995d348a1b45ba5603e2aba9b/6b3c741483de47b290d075d798163bc1.html),
 * refreshed before expiry and on 401. Basic: `user@companyId` (deprecated). OData calls through
 * {@link HrHttpClient} with `$format=json`.
 */
import { randomBytes } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { z } from 'zod';
import { type HrClientEnvironment, HrConnectorError } from '../hris-contract.ts';
import { basicAuth, type HrAuth, HrHttpClient, tokenSourceAuth } from '../hris-http-client.ts';
import {
  type SuccessFactorsConfig,
  type SuccessFactorsCredentials,
  successFactorsManifest,
} from './manifest.ts';
import { SfOAuthErrorSchema, SfODataErrorSchema, SfTokenSchema, sfListSchema } from './schemas.ts';

function sfErrorMessage(response: { json: unknown }): string | undefined {
  const odata = SfODataErrorSchema.safeParse(response.json);
  if (odata.success) return `${odata.data.error.code}: ${odata.data.error.message.value}`;
  const oauth = SfOAuthErrorSchema.safeParse(response.json);
  return oauth.success ? oauth.data.errorMessage : undefined;
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A signed SAML 2.0 bearer assertion for `userId`, valid `validForSeconds`, for SuccessFactors' token endpoint. */
export function buildSignedSamlAssertion(input: {
  clientId: string;
  userId: string;
  tokenUrl: string;
  privateKeyPem: string;
  now?: number;
  validForSeconds?: number;
}): string {
  const now = input.now ?? Date.now();
  const issued = new Date(now).toISOString();
  const notBefore = new Date(now - 60_000).toISOString();
  const notOnOrAfter = new Date(now + (input.validForSeconds ?? 600) * 1000).toISOString();
  const id = `_${randomBytes(16).toString('hex')}`;
  const xml = `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${id}" IssueInstant="${issued}" Version="2.0"><saml2:Issuer>${escapeXml(input.clientId)}</saml2:Issuer><saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${escapeXml(input.userId)}</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(input.tokenUrl)}"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml2:AudienceRestriction><saml2:Audience>www.successfactors.com</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant="${issued}" SessionIndex="${id}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement><saml2:Attribute Name="api_key"><saml2:AttributeValue xsi:type="xs:string">${escapeXml(input.clientId)}</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>`;
  const signer = new SignedXml({
    privateKey: input.privateKeyPem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  signer.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: [
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      'http://www.w3.org/2001/10/xml-exc-c14n#',
    ],
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' },
  });
  return signer.getSignedXml();
}

export class SuccessFactorsClient {
  readonly http: HrHttpClient;
  readonly config: SuccessFactorsConfig;

  constructor(options: {
    config: SuccessFactorsConfig;
    credentials: SuccessFactorsCredentials;
    env?: HrClientEnvironment;
  }) {
    this.config = options.config;
    const env = options.env ? { env: options.env } : {};
    const apiUrl = options.config.apiUrl.replace(/\/+$/, '');
    const credentials = options.credentials;
    let auth: HrAuth;
    if (credentials.type === 'basic') {
      const user = credentials.username.includes('@')
        ? credentials.username
        : `${credentials.username}@${options.config.companyId}`;
      auth = basicAuth(user, credentials.password);
    } else {
      const tokenUrl = `${apiUrl}/oauth/token`;
      const tokenHttp = new HrHttpClient({
        baseUrl: apiUrl,
        manifest: successFactorsManifest,
        ...env,
        errorMessage: sfErrorMessage,
      });
      const now = options.env?.now ?? Date.now;
      auth = tokenSourceAuth(
        async () => {
          let assertion: string;
          try {
            assertion = buildSignedSamlAssertion({
              clientId: credentials.clientId,
              userId: credentials.userId,
              tokenUrl,
              privateKeyPem: credentials.privateKey,
              now: now(),
            });
          } catch (error) {
            throw new HrConnectorError(
              'invalid_credentials',
              'The SuccessFactors private key could not sign the SAML assertion',
              { cause: error },
            );
          }
          try {
            const token = await tokenHttp.getJson(
              SfTokenSchema,
              {
                method: 'POST',
                url: tokenUrl,
                anonymous: true,
                form: {
                  client_id: credentials.clientId,
                  company_id: options.config.companyId,
                  grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer',
                  assertion: Buffer.from(assertion).toString('base64'),
                },
              },
              'SuccessFactors token response',
            );
            return {
              token: token.access_token,
              ...(token.expires_in === undefined ? {} : { expiresInSeconds: token.expires_in }),
            };
          } catch (error) {
            if (
              error instanceof HrConnectorError &&
              error.status !== null &&
              error.status >= 400 &&
              error.status < 500
            ) {
              throw new HrConnectorError(
                'invalid_credentials',
                `SuccessFactors refused the OAuth SAML assertion: ${error.vendorMessage ?? error.message}`,
                {
                  status: error.status,
                  ...(error.vendorMessage ? { vendorMessage: error.vendorMessage } : {}),
                },
              );
            }
            throw error;
          }
        },
        { now },
      );
    }
    this.http = new HrHttpClient({
      baseUrl: `${apiUrl}/odata/v2`,
      auth,
      manifest: successFactorsManifest,
      defaultHeaders: { accept: 'application/json' },
      ...env,
      errorMessage: sfErrorMessage,
    });
  }

  /** One OData page (a first query or a `__next` link). */
  async list<T extends z.ZodType>(
    item: T,
    url: string,
    query?: Record<string, string | number>,
    signal?: AbortSignal,
  ) {
    return this.http.getJson(sfListSchema(item), {
      url,
      ...(query ? { query: { $format: 'json', ...query } } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Every row of a query, following `__next`. */
  async all<T extends z.ZodType>(
    item: T,
    path: string,
    query: Record<string, string | number>,
    signal?: AbortSignal,
  ): Promise<z.output<T>[]> {
    const out: z.output<T>[] = [];
    let page = await this.list(item, path, query, signal);
    out.push(...page.d.results);
    while (page.d.__next) {
      page = await this.list(item, page.d.__next, undefined, signal);
      out.push(...page.d.results);
    }
    return out;
  }
}
