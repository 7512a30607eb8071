/**
 * The Entra fake is strict where flow-of-work.md §1.2 and §2 say the real one is: single-tenant
 * bots refused by the legacy tenant, both token-endpoint error shapes, per-tenant keys with
 * rotation, v1/v2 tab SSO tokens, and OBO's consent_required. The tab-token validator below is
 * the one the hub must implement (tid from the org's verified list picks the key set).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import {
  BOT_FRAMEWORK_RESOURCE,
  BOT_FRAMEWORK_TENANT_ID,
  FakeEntra,
  type FakeEntraApp,
  type FakeEntraTenant,
  type FakeEntra as FakeEntraType,
  GRAPH_RESOURCE,
  type TeamsSsoForgery,
} from './index.ts';

let entra: FakeEntraType;
let home: FakeEntraTenant;
let customer: FakeEntraTenant;
let outsider: FakeEntraTenant;
let bot: FakeEntraApp;
let hubApp: FakeEntraApp;
const clock = new FakeClock();
const fqdn = 'hub.example.com';

beforeAll(async () => {
  entra = await FakeEntra.start({ clock });
  home = await entra.addTenant({ displayName: 'Switchboard Inc', domains: ['switchboard.onmicrosoft.com'] });
  customer = await entra.addTenant({ displayName: 'Contoso' });
  outsider = await entra.addTenant({ displayName: 'Fabrikam' });
  bot = entra.registerApp({ homeTenantId: home.id, displayName: 'Switchboard bot' });
  const hubClientId = '6f0c3c5e-2f4a-4d55-9a43-3c7d8b0c1e11';
  hubApp = entra.registerApp({
    homeTenantId: home.id,
    clientId: hubClientId,
    signInAudience: 'AzureADMultipleOrgs',
    identifierUris: [`api://${fqdn}/${hubClientId}`],
  });
});

afterAll(async () => {
  await entra.close();
});

async function postToken(tenant: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(entra.tokenEndpoint(tenant), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const botTokenForm = (tenant: FakeEntraApp, secret = tenant.secrets[0]?.value ?? '') => ({
  grant_type: 'client_credentials',
  client_id: tenant.clientId,
  client_secret: secret,
  scope: `${BOT_FRAMEWORK_RESOURCE}/.default`,
});

function expectAadError(body: Record<string, unknown>, error: string, code: number) {
  expect(body.error).toBe(error);
  expect(body.error_codes).toEqual([code]);
  expect(String(body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `));
  expect(String(body.error_description)).toMatch(/\r\nTrace ID: .+\r\nCorrelation ID: .+\r\nTimestamp: /);
  expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
}

describe('bot token (§1.2)', () => {
  it('issues an RS256 Bot Framework token from the bot home tenant', async () => {
    const { status, body } = await postToken(home.id, botTokenForm(bot));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    const token = String(body.access_token);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const jwks = createRemoteJWKSet(new URL(`${entra.url}/${home.id}/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ['RS256'],
      audience: 'https://api.botframework.com',
      issuer: `https://sts.windows.net/${home.id}/`,
    });
    expect(payload).toMatchObject({ appid: bot.clientId, tid: home.id, ver: '1.0' });
  });

  it('accepts the client secret by HTTP Basic too', async () => {
    const basic = Buffer.from(`${bot.clientId}:${bot.secrets[0]?.value}`).toString('base64');
    const { status } = await postToken(
      home.id,
      { grant_type: 'client_credentials', scope: `${BOT_FRAMEWORK_RESOURCE}/.default` },
      { authorization: `Basic ${basic}` },
    );
    expect(status).toBe(200);
  });

  it('refuses the legacy botframework.com tenant for a single-tenant bot (AADSTS700016)', async () => {
    const { status, body } = await postToken('botframework.com', botTokenForm(bot));
    expect(status).toBe(400);
    expectAadError(body, 'unauthorized_client', 700016);
    expect(String(body.error_description)).toContain(
      `'${bot.clientId}' was not found in the directory 'Bot Framework'`,
    );
  });

  it('still serves botframework.com to a legacy multi-tenant app', async () => {
    const { status, body } = await postToken('botframework.com', botTokenForm(hubApp));
    expect(status).toBe(200);
    expect(decodeJwt(String(body.access_token)).iss).toBe(
      `https://sts.windows.net/${BOT_FRAMEWORK_TENANT_ID}/`,
    );
  });

  it('answers a wrong secret with 401 invalid_client (AADSTS7000215)', async () => {
    const { status, body } = await postToken(home.id, botTokenForm(bot, 'not-the-secret'));
    expect(status).toBe(401);
    expectAadError(body, 'invalid_client', 7000215);
  });

  it('answers an expired secret with AADSTS7000222', async () => {
    const expiring = entra.registerApp({ homeTenantId: home.id, secretExpiresAt: clock.now() - 1 });
    const { status, body } = await postToken(home.id, botTokenForm(expiring));
    expect(status).toBe(401);
    expectAadError(body, 'invalid_client', 7000222);
  });

  it('refuses a client-credentials scope without /.default, and an unknown tenant', async () => {
    const scoped = await postToken(home.id, { ...botTokenForm(bot), scope: 'https://api.botframework.com' });
    expect(scoped.status).toBe(400);
    expectAadError(scoped.body, 'invalid_scope', 1002012);
    const unknown = await postToken('no-such-tenant.onmicrosoft.com', botTokenForm(bot));
    expect(unknown.status).toBe(400);
    expectAadError(unknown.body, 'invalid_tenant', 90002);
  });

  it('puts consented Graph application permissions in `roles` of a customer-tenant token', async () => {
    const before = await postToken(customer.id, {
      ...botTokenForm(hubApp),
      scope: `${GRAPH_RESOURCE}/.default`,
    });
    expect(before.status).toBe(400);
    expectAadError(before.body, 'unauthorized_client', 700016);
    entra.grantAdminConsent(customer.id, hubApp.clientId, ['TeamsAppInstallation.ReadWriteSelfForUser.All']);
    const after = await postToken(customer.id, {
      ...botTokenForm(hubApp),
      scope: `${GRAPH_RESOURCE}/.default`,
    });
    expect(after.status).toBe(200);
    const claims = await entra.verifyAccessToken(String(after.body.access_token), GRAPH_RESOURCE);
    expect(claims).toMatchObject({
      tid: customer.id,
      roles: ['TeamsAppInstallation.ReadWriteSelfForUser.All'],
    });
  });
});

describe('metadata and keys', () => {
  it('publishes per-tenant v2 and v1 metadata, by id or domain', async () => {
    const v2 = (await (
      await fetch(`${entra.url}/switchboard.onmicrosoft.com/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(v2.issuer).toBe(`${entra.url}/${home.id}/v2.0`);
    expect(v2.jwks_uri).toBe(`${entra.url}/${home.id}/discovery/v2.0/keys`);
    expect(v2.token_endpoint).toBe(`${entra.url}/${home.id}/oauth2/v2.0/token`);
    const v1 = (await (
      await fetch(`${entra.url}/${home.id}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(v1.issuer).toBe(`https://sts.windows.net/${home.id}/`);
  });

  it("publishes common metadata with Entra's literal {tenantid} issuer template", async () => {
    const common = (await (
      await fetch(`${entra.url}/common/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(common.issuer).toBe(`${entra.url}/{tenantid}/v2.0`);
    const missing = await fetch(`${entra.url}/nowhere.example/v2.0/.well-known/openid-configuration`);
    expect(missing.status).toBe(400);
    expectAadError((await missing.json()) as Record<string, unknown>, 'invalid_tenant', 90002);
  });

  it('rotates keys: new tokens carry the new kid, retired keys stop verifying', async () => {
    const rotating = await entra.addTenant();
    const app = entra.registerApp({ homeTenantId: rotating.id });
    const oldToken = String((await postToken(rotating.id, botTokenForm(app))).body.access_token);
    const oldKid = decodeProtectedHeader(oldToken).kid as string;
    const newKid = await entra.rotateSigningKey(rotating.id);
    const newToken = String((await postToken(rotating.id, botTokenForm(app))).body.access_token);
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    const keys = async () =>
      (
        (await (await fetch(`${entra.url}/${rotating.id}/discovery/v2.0/keys`)).json()) as {
          keys: Array<{ kid: string }>;
        }
      ).keys;
    expect((await keys()).map((key) => key.kid)).toEqual([oldKid, newKid]);
    entra.retireSigningKey(rotating.id, oldKid);
    expect((await keys()).map((key) => key.kid)).toEqual([newKid]);
    const jwks = createLocalJWKSet({ keys: await keys() });
    await expect(jwtVerify(oldToken, jwks)).rejects.toThrow();
    await expect(jwtVerify(newToken, jwks, { algorithms: ['RS256'] })).resolves.toBeTruthy();
  });
});

/** The hub's tab-token check (§2): the org's verified tenants pick the key set, never the token. */
async function validateTabToken(token: string, allowedTenants: string[]): Promise<JWTPayload> {
  const tid = decodeJwt(token).tid;
  if (typeof tid !== 'string' || !allowedTenants.includes(tid))
    throw new Error('tenant not verified for this org');
  const jwks = createRemoteJWKSet(new URL(`${entra.url}/${tid}/discovery/v2.0/keys`));
  const { payload } = await jwtVerify(token, jwks, {
    algorithms: ['RS256'],
    issuer: [`https://sts.windows.net/${tid}/`, `${entra.issuerBase}/${tid}/v2.0`],
    audience: [hubApp.clientId, `api://${fqdn}/${hubApp.clientId}`],
    currentDate: new Date(clock.now()),
  });
  if (payload.tid !== tid) throw new Error('tid changed');
  if (
    !String(payload.scp ?? '')
      .split(' ')
      .includes('access_as_user')
  )
    throw new Error('scope access_as_user missing');
  return payload;
}

describe('Teams tab SSO tokens (§2)', () => {
  const user = {
    oid: '9b2b5f4e-0e2a-4bd4-8c2c-3f2f0b8f3a11',
    name: 'Ada Lovelace',
    upn: 'ada@contoso.example',
  };
  const sso = () => ({ tenantId: customer.id, clientId: hubApp.clientId, user });

  it('issues the v2 shape (aud = client id, azp, preferred_username)', async () => {
    const payload = await validateTabToken(await entra.issueTeamsSsoToken({ ...sso(), version: 2 }), [
      customer.id,
    ]);
    expect(payload).toMatchObject({
      aud: hubApp.clientId,
      iss: `${entra.url}/${customer.id}/v2.0`,
      azp: '1fec8e78-bce4-4aaf-ab1b-5451cc387264',
      preferred_username: user.upn,
      oid: user.oid,
      tid: customer.id,
      scp: 'access_as_user',
      ver: '2.0',
    });
  });

  it('issues the v1 shape (aud = api://fqdn/client id, appid, upn, no azp)', async () => {
    const payload = await validateTabToken(
      await entra.issueTeamsSsoToken({ ...sso(), version: 1, teamsClient: 'web' }),
      [customer.id],
    );
    expect(payload).toMatchObject({
      aud: `api://${fqdn}/${hubApp.clientId}`,
      iss: `https://sts.windows.net/${customer.id}/`,
      appid: '5e3ce6c0-2b1f-4285-8d4b-75ee78787346',
      upn: user.upn,
      ver: '1.0',
    });
    expect(payload.azp).toBeUndefined();
    expect(payload.preferred_username).toBeUndefined();
  });

  const forgeries: TeamsSsoForgery[] = [
    'other-tenant-key',
    'foreign-tid',
    'wrong-scp',
    'other-app-aud',
    'expired',
    'alg-none',
    'unknown-kid',
    'issuer-tid-mismatch',
  ];
  for (const kind of forgeries) {
    it(`a ${kind} token is refused by the hub's check`, async () => {
      const token = await entra.forgeTeamsSsoToken(kind, {
        ...sso(),
        version: 2,
        foreignTenantId: outsider.id,
      });
      await expect(validateTabToken(token, [customer.id])).rejects.toThrow();
    });
  }

  it('a validator that trusts the common key set would accept another tenant key: why the org tenant picks the keys', async () => {
    const token = await entra.forgeTeamsSsoToken('other-tenant-key', { ...sso(), version: 2 });
    const common = createRemoteJWKSet(new URL(`${entra.url}/common/discovery/v2.0/keys`));
    await expect(jwtVerify(token, common, { algorithms: ['RS256'] })).resolves.toBeTruthy();
  });
});

describe('on-behalf-of (§2)', () => {
  const user = {
    oid: '0d5c6a0e-1d3b-4a52-8f9e-5b7d2c4a9e21',
    name: 'Grace Hopper',
    upn: 'grace@contoso.example',
  };
  const obo = async (assertion: string) =>
    postToken(customer.id, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      client_id: hubApp.clientId,
      client_secret: hubApp.secrets[0]?.value ?? '',
      assertion,
      requested_token_use: 'on_behalf_of',
      scope: 'https://graph.microsoft.com/User.Read',
    });

  it('answers consent_required (AADSTS65001) until the tenant consented, then issues a Graph token', async () => {
    entra.revokeDelegatedConsent(customer.id, hubApp.clientId);
    entra.grantAdminConsent(customer.id, hubApp.clientId, []);
    const assertion = await entra.issueTeamsSsoToken({
      tenantId: customer.id,
      clientId: hubApp.clientId,
      user,
      version: 2,
    });
    const refused = await obo(assertion);
    expect(refused.status).toBe(400);
    expectAadError(refused.body, 'invalid_grant', 65001);
    expect(refused.body.suberror).toBe('consent_required');

    entra.grantDelegatedConsent(customer.id, hubApp.clientId, ['https://graph.microsoft.com/User.Read']);
    const granted = await obo(assertion);
    expect(granted.status).toBe(200);
    expect(granted.body.scope).toBe('https://graph.microsoft.com/User.Read');
    const claims = await entra.verifyAccessToken(String(granted.body.access_token), GRAPH_RESOURCE);
    expect(claims).toMatchObject({
      scp: 'User.Read',
      oid: user.oid,
      tid: customer.id,
      appid: hubApp.clientId,
    });
  });

  it('refuses an expired assertion (AADSTS500133) and a forged one (AADSTS50013)', async () => {
    entra.grantDelegatedConsent(customer.id, hubApp.clientId, ['https://graph.microsoft.com/User.Read']);
    const forged = await obo(
      await entra.forgeTeamsSsoToken('unknown-kid', {
        tenantId: customer.id,
        clientId: hubApp.clientId,
        user,
        version: 2,
      }),
    );
    expect(forged.status).toBe(400);
    expectAadError(forged.body, 'invalid_grant', 50013);
    const assertion = await entra.issueTeamsSsoToken({
      tenantId: customer.id,
      clientId: hubApp.clientId,
      user,
      version: 2,
    });
    clock.advance(2 * 3600_000);
    const expired = await obo(assertion);
    expect(expired.status).toBe(400);
    expectAadError(expired.body, 'invalid_grant', 500133);
  });
});
