/**
 * The LTI platform fake refuses what a strict LMS refuses, and every forged launch it can produce
 * is caught by the checks ltijs makes (run here by `MinimalLtiTool`, a tool on jose). Launches go
 * through the real HTTP round trip (login initiation → auth request → form_post) with the test
 * browser of test/support/browser.ts; the platform-storage launch runs in Chromium with
 * third-party cookies blocked, the tool on another site (localhost) than the LMS (127.0.0.1).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium } from '../../portal/chromium.ts';
import { Browser, parseForms } from '../../support/browser.ts';
import { FakeClock } from '../fake-clock.ts';
import { createRsaSigningKey } from '../rsa-signing-keys.ts';
import {
  CLAIM,
  FakeLtiPlatform,
  LAUNCH_FORGERIES,
  type LaunchForgery,
  type LaunchRecord,
  type LtiCourse,
  type LtiPlatformConfig,
  type LtiToolRegistration,
  type LtiUser,
  MEDIA_TYPE,
  MESSAGE_TYPE,
  SCOPE,
} from './index.ts';
import { MinimalLtiTool } from './minimal-tool.ts';

interface Stage {
  platform: FakeLtiPlatform;
  registration: LtiToolRegistration;
  config: LtiPlatformConfig;
  course: LtiCourse;
  learner: LtiUser;
  instructor: LtiUser;
}

const clock = new FakeClock();
let tool: MinimalLtiTool;
let canvas: Stage;
let moodle: Stage;
let blackboard: Stage;

async function stage(
  profile: 'canvas' | 'moodle' | 'blackboard',
  toolUnderTest: MinimalLtiTool,
): Promise<Stage> {
  const platform = await FakeLtiPlatform.start({ profile, clock, membershipPageSize: 2 });
  const registration = register(platform, toolUnderTest);
  const course = platform.addCourse({ title: 'Onboarding 101' });
  const learner = platform.addUser({ givenName: 'Lea', familyName: 'Learner' });
  const instructor = platform.addUser({ givenName: 'Ian', familyName: 'Instructor' });
  platform.enrol(course.id, learner.id, ['Learner']);
  platform.enrol(course.id, instructor.id, ['Instructor']);
  return {
    platform,
    registration,
    config: platform.configFor(registration.clientId),
    course,
    learner,
    instructor,
  };
}

function register(platform: FakeLtiPlatform, toolUnderTest: MinimalLtiTool): LtiToolRegistration {
  const registration = platform.registerTool({
    loginInitiationUrl: toolUnderTest.loginUrl,
    redirectUris: [toolUnderTest.launchUrl, toolUnderTest.deepLinkUrl],
    jwksUrl: toolUnderTest.jwksUrl,
    deepLinkingUrl: toolUnderTest.deepLinkUrl,
    custom: { hub_tenant: 'acme' },
  });
  toolUnderTest.register(platform.configFor(registration.clientId));
  return registration;
}

/** Runs a launch through the browser round trip; returns the tool's verdict and the last page. */
async function runLaunch(launch: LaunchRecord) {
  const before = tool.outcomes.length;
  const page = await new Browser().get(launch.startUrl);
  expect(tool.outcomes.length, `no verdict from the tool: ${page.url} ${page.html.slice(0, 300)}`).toBe(
    before + 1,
  );
  return { outcome: tool.outcomes.at(-1)!, page };
}

function launchFor(
  s: Stage,
  options: Partial<Parameters<FakeLtiPlatform['startLaunch']>[0]> = {},
): LaunchRecord {
  return s.platform.startLaunch({
    clientId: s.registration.clientId,
    userId: s.learner.id,
    courseId: s.course.id,
    ...options,
  });
}

beforeAll(async () => {
  tool = await MinimalLtiTool.start();
  canvas = await stage('canvas', tool);
  moodle = await stage('moodle', tool);
  blackboard = await stage('blackboard', tool);
});

afterAll(async () => {
  await Promise.all([
    tool?.close(),
    canvas?.platform.close(),
    moodle?.platform.close(),
    blackboard?.platform.close(),
  ]);
});

describe('Canvas launch', () => {
  it('passes every check: POST login initiation with Canvas parameters, shared issuer, azp, storage target', async () => {
    const launch = launchFor(canvas, {
      resourceLink: { title: 'Week 1 quiz' },
      lineItem: { scoreMaximum: 10 },
      custom: { course_code: 'ONB101' },
    });
    const { outcome } = await runLaunch(launch);
    expect(outcome).toMatchObject({ ok: true, via: 'cookie' });
    const login = tool.loginRequests.at(-1)!;
    expect(login.method).toBe('POST');
    expect(login.params).toMatchObject({
      iss: 'https://canvas.instructure.com',
      client_id: canvas.registration.clientId,
      lti_deployment_id: launch.deploymentId,
      target_link_uri: tool.launchUrl,
      lti_storage_target: 'post_message_forwarding',
      canvas_environment: 'prod',
      canvas_region: 'not_configured',
    });
    expect(login.params.lti_message_hint).toBe(launch.messageHint);
    expect(outcome.extraFields).toEqual({ lti_storage_target: 'post_message_forwarding' });
    const claims = outcome.claims!;
    expect(claims).toMatchObject({
      iss: 'https://canvas.instructure.com',
      aud: canvas.registration.clientId,
      azp: canvas.registration.clientId,
      sub: canvas.learner.id,
      name: canvas.learner.name,
      email: canvas.learner.email,
      [CLAIM.messageType]: MESSAGE_TYPE.resourceLink,
      [CLAIM.version]: '1.3.0',
      [CLAIM.deploymentId]: launch.deploymentId,
      [CLAIM.custom]: { hub_tenant: 'acme', course_code: 'ONB101' },
      [CLAIM.resourceLink]: { id: launch.resourceLinkId, title: 'Week 1 quiz' },
      [CLAIM.context]: { id: canvas.course.id, title: 'Onboarding 101' },
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    expect(claims[CLAIM.roles]).toEqual(['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
    const ags = claims[CLAIM.ags] as Record<string, unknown>;
    expect(ags.lineitems).toBe(`${canvas.platform.url}/api/lti/courses/${canvas.course.id}/line_items`);
    expect(ags.lineitem).toBe(canvas.platform.lineItems.get(launch.lineItemId!)!.id);
    expect(ags.scope).toContain(SCOPE.score);
    expect(claims[CLAIM.nrps]).toEqual({
      context_memberships_url: `${canvas.platform.url}/api/lti/courses/${canvas.course.id}/names_and_roles`,
      service_versions: ['2.0'],
    });
    const paths = canvas.platform.requests.map((request) => request.path);
    expect(paths).toContain('/api/lti/authorize_redirect');
    expect(paths).toContain('/api/lti/authorize');
    expect(canvas.platform.launch(launch.id).status).toBe('answered');
  });

  it('accepts an array aud when azp names the tool', async () => {
    const { outcome } = await runLaunch(launchFor(canvas, { audience: 'array' }));
    expect(outcome.ok).toBe(true);
    expect(outcome.claims?.aud).toEqual([canvas.registration.clientId, expect.any(String)]);
  });

  const expected: Record<LaunchForgery, string> = {
    'wrong-key': 'INVALID_SIGNATURE',
    'unknown-kid': 'KEY_NOT_FOUND',
    'alg-none': 'ALG_NOT_RS256',
    'alg-hs256': 'ALG_NOT_RS256',
    'wrong-iss': 'ISS_CLAIM_DOES_NOT_MATCH',
    'wrong-aud': 'UNREGISTERED_PLATFORM',
    'azp-mismatch': 'AZP_DOES_NOT_MATCH_CLIENTID',
    'reused-nonce': 'NONCE_ALREADY_RECEIVED',
    'wrong-nonce': 'NONCE_MISMATCH',
    expired: 'TOKEN_EXPIRED',
    'missing-deployment-id': 'NO_DEPLOYMENT_ID_CLAIM',
    'unknown-deployment-id': 'UNKNOWN_DEPLOYMENT_ID',
    'wrong-version': 'WRONG_LTI_VERSION_CLAIM',
    'missing-version': 'NO_LTI_VERSION_CLAIM',
    'unknown-message-type': 'NO_MESSAGE_TYPE_CLAIM',
    'missing-sub': 'NO_SUB_CLAIM',
    'missing-roles': 'NO_ROLES_CLAIM',
    'missing-resource-link-id': 'NO_RESOURCE_LINK_ID_CLAIM',
    'missing-target-link-uri': 'NO_TARGET_LINK_URI_CLAIM',
    'state-mismatch': 'STATE_MISMATCH',
  };

  it.each(LAUNCH_FORGERIES)('a forged launch (%s) is refused by the ltijs check for it', async (forgery) => {
    const { outcome } = await runLaunch(launchFor(canvas, { forgery }));
    expect(outcome).toMatchObject({ ok: false, error: expected[forgery] });
  });

  it('an unknown kid makes the tool refetch the key set before refusing', async () => {
    const fetches = canvas.platform.jwksFetches;
    const { outcome } = await runLaunch(launchFor(canvas, { forgery: 'unknown-kid' }));
    expect(outcome.error).toBe('KEY_NOT_FOUND');
    expect(canvas.platform.jwksFetches).toBeGreaterThan(fetches);
  });

  it('rotates its keys: the new kid signs, the tool refetches, a retired key no longer verifies', async () => {
    const oldKid = canvas.platform.signingKid;
    const earlier = launchFor(canvas);
    const oldToken = await canvas.platform.idTokenFor(earlier.id, 'nonce-before-rotation');
    const newKid = await canvas.platform.rotateKey();
    const fetches = canvas.platform.jwksFetches;
    const { outcome } = await runLaunch(launchFor(canvas));
    expect(outcome.ok).toBe(true);
    expect(canvas.platform.launches.at(-1)!.answer!.idToken).toSatisfy(
      (token: string) => decodeProtectedHeader(token).kid === newKid,
    );
    expect(canvas.platform.jwksFetches).toBeGreaterThan(fetches);
    expect(canvas.platform.jwks().keys.map((key) => key.kid)).toEqual([oldKid, newKid]);
    // A fresh key-set fetch (a tool's cache may keep the old key until it expires).
    await expect(
      jwtVerify(oldToken, createRemoteJWKSet(new URL(canvas.config.jwksUri))),
    ).resolves.toBeDefined();
    canvas.platform.retireKey(oldKid);
    await expect(jwtVerify(oldToken, createRemoteJWKSet(new URL(canvas.config.jwksUri)))).rejects.toThrow(
      errors.JWKSNoMatchingKey,
    );
  });
});

describe('Canvas authorization endpoint', () => {
  function authParams(launch: LaunchRecord, changes: Record<string, string | undefined> = {}) {
    const params: Record<string, string | undefined> = {
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: launch.clientId,
      redirect_uri: tool.launchUrl,
      login_hint: launch.loginHint,
      lti_message_hint: launch.messageHint,
      state: 'state-1',
      nonce: 'nonce-1',
      ...changes,
    };
    const url = new URL(`${canvas.platform.url}/api/lti/authorize`);
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(key, value);
    return url;
  }

  async function answer(url: URL) {
    const response = await fetch(url);
    const html = await response.text();
    return { status: response.status, form: parseForms(html, url.href)[0], html };
  }

  it.each([
    ['a missing nonce', { nonce: undefined }, 'invalid_request'],
    ['a missing state', { state: undefined }, 'invalid_request'],
    ['scope other than openid', { scope: 'openid profile' }, 'invalid_scope'],
    ['response_type code', { response_type: 'code' }, 'unsupported_response_type'],
    ['a missing response_mode', { response_mode: undefined }, 'invalid_request'],
    ['prompt=login', { prompt: 'login' }, 'invalid_request'],
    ['another login_hint', { login_hint: 'someone-else' }, 'login_required'],
  ])('posts the error back to the redirect URI for %s', async (_what, changes, error) => {
    const launch = launchFor(canvas);
    const { status, form } = await answer(authParams(launch, changes));
    expect(status).toBe(200);
    expect(form).toMatchObject({ action: tool.launchUrl, method: 'POST' });
    expect(form?.fields.error).toBe(error);
    if ('state' in changes) expect(form?.fields.state).toBeUndefined();
    else expect(form?.fields.state).toBe('state-1');
    expect(form?.fields.id_token).toBeUndefined();
    expect(canvas.platform.launch(launch.id).status).toBe('initiated');
  });

  it.each([
    ['an unregistered redirect_uri', { redirect_uri: 'https://evil.example/collect' }, 'invalid_request'],
    ['an unknown lti_message_hint', { lti_message_hint: 'forged' }, 'invalid_request'],
    ['another client_id', { client_id: 'someone-else' }, 'unauthorized_client'],
  ])('never posts to an unverified redirect URI: %s gets an error page', async (_what, changes, error) => {
    const { status, form, html } = await answer(authParams(launchFor(canvas), changes));
    expect(status).toBe(400);
    expect(form).toBeUndefined();
    expect(html).toContain(`<p id="error">${error}</p>`);
  });

  it('answers a launch once: a second auth request gets launch_no_longer_valid', async () => {
    const launch = launchFor(canvas);
    const first = await answer(authParams(launch));
    expect(first.form?.fields.id_token).toBeTruthy();
    const second = await answer(authParams(launch, { nonce: 'nonce-2' }));
    expect(second.form?.fields).toMatchObject({ error: 'launch_no_longer_valid', state: 'state-1' });
  });
});

describe('Moodle launch', () => {
  it('POSTs the login initiation with its wwwroot as iss and the type id as lti_deployment_id, no storage target', async () => {
    const launch = launchFor(moodle);
    const { outcome } = await runLaunch(launch);
    expect(outcome.ok).toBe(true);
    const login = tool.loginRequests.at(-1)!;
    expect(login.method).toBe('POST');
    expect(login.params).toEqual({
      iss: moodle.platform.url,
      target_link_uri: tool.launchUrl,
      login_hint: moodle.learner.id,
      lti_message_hint: launch.messageHint,
      client_id: moodle.registration.clientId,
      lti_deployment_id: launch.deploymentId,
    });
    expect(launch.deploymentId).toMatch(/^\d+$/);
    expect(JSON.parse(launch.messageHint)).toMatchObject({ cmid: expect.any(Number) });
    expect(outcome.extraFields).toEqual({});
    expect(outcome.claims?.aud).toBe(moodle.registration.clientId);
    expect(outcome.claims?.azp).toBeUndefined();
    expect(Number(outcome.claims?.exp) - Number(outcome.claims?.iat)).toBe(60);
    expect(moodle.platform.requests.some((request) => request.path === '/mod/lti/auth.php')).toBe(true);
  });
});

describe('Blackboard launch', () => {
  it('GETs the login initiation with lti_storage_target but posts the launch without it', async () => {
    const launch = launchFor(blackboard);
    const { outcome } = await runLaunch(launch);
    expect(outcome.ok).toBe(true);
    const login = tool.loginRequests.at(-1)!;
    expect(login.method).toBe('GET');
    expect(login.params).toMatchObject({
      iss: 'https://blackboard.com',
      client_id: blackboard.registration.clientId,
      lti_deployment_id: launch.deploymentId,
      lti_storage_target: 'lti_storage_frame',
    });
    expect(outcome.extraFields).toEqual({});
    expect(blackboard.platform.configFor(blackboard.registration.clientId).jwksUri).toBe(
      `${blackboard.platform.url}/api/v1/management/applications/${blackboard.registration.clientId}/jwks.json`,
    );
    expect(
      (await fetch(`${blackboard.platform.url}/api/v1/management/applications/nope/jwks.json`)).status,
    ).toBe(404);
  });

  it('one client id, one deployment per institution: each launch carries its institution deployment', async () => {
    const second = blackboard.platform.addDeployment(blackboard.registration.clientId);
    const otherCourse = blackboard.platform.addCourse({ title: 'Other school' });
    blackboard.platform.installTool(otherCourse.id, blackboard.registration.clientId, second);
    const launch = launchFor(blackboard, { courseId: otherCourse.id });
    const { outcome } = await runLaunch(launch);
    // The tool was registered before the second institution deployed it.
    expect(outcome).toMatchObject({ ok: false, error: 'UNKNOWN_DEPLOYMENT_ID' });
    expect(launch.deploymentId).toBe(second);
  });
});

describe('token endpoint (client_credentials with a JWT client assertion)', () => {
  it('issues a bearer token for permitted scopes', async () => {
    const { status, body } = await tool.requestToken(canvas.config, [SCOPE.score, SCOPE.lineItem]);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: `${SCOPE.score} ${SCOPE.lineItem}`,
    });
    expect(canvas.platform.tokensIssued.at(-1)).toMatchObject({
      clientId: canvas.registration.clientId,
      aud: canvas.platform.tokenEndpoint,
    });
  });

  it('refuses a replayed jti', async () => {
    const assertion = await tool.clientAssertion(canvas.config);
    expect((await tool.requestToken(canvas.config, [SCOPE.score], assertion)).status).toBe(200);
    const replay = await tool.requestToken(canvas.config, [SCOPE.score], assertion);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_client' });
    expect(String(replay.body.error_description)).toContain('already used');
  });

  it.each([
    ['aud the platform issuer', { aud: 'https://canvas.instructure.com' }, 'aud'],
    ['aud another token URL', { aud: 'https://sso.canvaslms.com/login/oauth2/token' }, 'aud'],
    ['iss not the client id', { iss: 'someone-else' }, 'iss'],
    [
      'an expired assertion',
      { iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 },
      'exp',
    ],
  ])('refuses %s', async (_what, overrides, claim) => {
    const assertion = await tool.clientAssertion(canvas.config, overrides);
    const { status, body } = await tool.requestToken(canvas.config, [SCOPE.score], assertion);
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(String(body.error_description)).toContain(`"${claim}"`);
  });

  it('accepts an aud array that holds the token URL', async () => {
    const assertion = await tool.clientAssertion(canvas.config, {
      aud: [canvas.platform.tokenEndpoint, 'other'],
    });
    expect((await tool.requestToken(canvas.config, [SCOPE.score], assertion)).status).toBe(200);
  });

  it('refuses an assertion signed with a key the tool does not publish, and an unknown client', async () => {
    const stranger = await createRsaSigningKey();
    const forged = await tool.clientAssertion(canvas.config, { key: stranger });
    expect((await tool.requestToken(canvas.config, [SCOPE.score], forged)).status).toBe(401);
    const unknown = await tool.clientAssertion(canvas.config, { iss: 'nobody', sub: 'nobody' });
    const { status, body } = await tool.requestToken(canvas.config, [SCOPE.score], unknown);
    expect(status).toBe(401);
    expect(body.error_description).toBe('unknown client nobody');
  });

  it('follows the tool key rotation (refetches the tool key set on a new kid)', async () => {
    await tool.rotateKey();
    expect((await tool.requestToken(canvas.config, [SCOPE.score])).status).toBe(200);
  });

  it('refuses malformed requests with RFC 6749 errors', async () => {
    const post = async (body: Record<string, string>, type = 'application/x-www-form-urlencoded') => {
      const response = await fetch(canvas.platform.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': type },
        body: type === 'application/json' ? JSON.stringify(body) : new URLSearchParams(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const good = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await tool.clientAssertion(canvas.config),
      scope: SCOPE.score,
    };
    expect((await post(good, 'application/json')).body.error).toBe('invalid_request');
    expect((await post({ ...good, grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
    expect((await post({ ...good, client_assertion_type: 'jwt' })).body.error).toBe('invalid_request');
    const { status, body } = await post({ ...good, scope: 'https://example.com/admin' });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_scope');
  });

  it('Moodle keeps the permitted scopes of a request that also asks for others', async () => {
    const { status, body } = await tool.requestToken(moodle.config, [
      SCOPE.score,
      'https://example.com/admin',
    ]);
    expect(status).toBe(200);
    expect(body.scope).toBe(SCOPE.score);
  });
});

describe('Assignment and Grade Services', () => {
  let token: string;
  let lineItemUrl: string;

  beforeAll(async () => {
    const { body } = await tool.requestToken(canvas.config, [
      SCOPE.lineItem,
      SCOPE.score,
      SCOPE.resultReadOnly,
    ]);
    token = String(body.access_token);
    lineItemUrl = canvas.platform.createLineItem({
      courseId: canvas.course.id,
      clientId: canvas.registration.clientId,
      scoreMaximum: 100,
      label: 'Final exam',
    }).id;
  });

  const postScore = (
    url: string,
    score: Record<string, unknown>,
    type: string = MEDIA_TYPE.score,
    bearer = token,
  ) =>
    fetch(`${url}/scores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': type },
      body: JSON.stringify(score),
    });

  let tick = Date.now();
  const score = (changes: Record<string, unknown> = {}) => {
    tick += 1000;
    return {
      userId: canvas.learner.id,
      scoreGiven: 80,
      scoreMaximum: 100,
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
      timestamp: new Date(tick).toISOString(),
      ...changes,
    };
  };

  it('lists and creates line items with their media types only', async () => {
    const lineItemsUrl = `${canvas.platform.url}/api/lti/courses/${canvas.course.id}/line_items`;
    const noAccept = await fetch(lineItemsUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(noAccept.status).toBe(406);
    const list = await fetch(lineItemsUrl, {
      headers: { authorization: `Bearer ${token}`, accept: MEDIA_TYPE.lineItemContainer },
    });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe(MEDIA_TYPE.lineItemContainer);
    expect(((await list.json()) as Array<{ id: string }>).map((item) => item.id)).toContain(lineItemUrl);
    const create = (type: string, body: Record<string, unknown>) =>
      fetch(lineItemsUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body: JSON.stringify(body),
      });
    expect((await create('application/json', { label: 'Quiz', scoreMaximum: 5 })).status).toBe(415);
    expect((await create(MEDIA_TYPE.lineItem, { label: 'Quiz', scoreMaximum: 0 })).status).toBe(400);
    const created = await create(MEDIA_TYPE.lineItem, { label: 'Quiz', scoreMaximum: 5, tag: 'quiz' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      label: 'Quiz',
      scoreMaximum: 5,
      tag: 'quiz',
      id: expect.any(String),
    });
  });

  it('records a score sent as application/vnd.ims.lis.v1.score+json and shows it in results', async () => {
    const response = await postScore(lineItemUrl, score({ comment: 'Well done' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ resultUrl: expect.stringContaining(`${lineItemUrl}/results`) });
    const results = await fetch(`${lineItemUrl}/results`, {
      headers: { authorization: `Bearer ${token}`, accept: MEDIA_TYPE.resultContainer },
    });
    expect(await results.json()).toEqual([
      expect.objectContaining({
        userId: canvas.learner.id,
        resultScore: 80,
        resultMaximum: 100,
        scoreOf: lineItemUrl,
      }),
    ]);
  });

  it('refuses another media type (415) and a score missing its progress (400)', async () => {
    expect((await postScore(lineItemUrl, score(), 'application/json')).status).toBe(415);
    expect((await postScore(lineItemUrl, score({ activityProgress: undefined }))).status).toBe(400);
    expect((await postScore(lineItemUrl, score({ gradingProgress: 'Done' }))).status).toBe(400);
  });

  it('refuses a timestamp without sub-second precision, an older one and an equal one', async () => {
    const accepted = score();
    expect((await postScore(lineItemUrl, accepted)).status).toBe(200);
    expect((await postScore(lineItemUrl, score({ timestamp: '2030-01-01T00:00:00Z' }))).status).toBe(400);
    const older = new Date(Date.parse(accepted.timestamp) - 1).toISOString();
    const stale = await postScore(lineItemUrl, score({ timestamp: older }));
    expect(stale.status).toBe(400);
    expect(JSON.stringify(await stale.json())).toContain('is not after the last one');
    expect((await postScore(lineItemUrl, score({ timestamp: accepted.timestamp }))).status).toBe(400);
    expect(canvas.platform.results(lineItemUrl.split('/').at(-1)!).at(-1)?.score.timestamp).toBe(
      accepted.timestamp,
    );
  });

  it('refuses scoreGiven without scoreMaximum (422, Canvas), accepts and flags scoreGiven above it', async () => {
    expect((await postScore(lineItemUrl, score({ scoreMaximum: undefined }))).status).toBe(422);
    expect((await postScore(lineItemUrl, score({ scoreGiven: -1 }))).status).toBe(400);
    expect((await postScore(lineItemUrl, score({ scoreGiven: 105 }))).status).toBe(200);
    expect(canvas.platform.scores.at(-1)).toMatchObject({ aboveMaximum: true });
    expect((await postScore(lineItemUrl, score({ userId: 'not-a-member' }))).status).toBe(422);
  });

  it('checks the access token: none 401, without the scope 403, expired 401, another tool 404', async () => {
    expect((await postScore(lineItemUrl, score(), MEDIA_TYPE.score, '')).status).toBe(401);
    const readOnly = canvas.platform.issueAccessToken(canvas.registration.clientId, [SCOPE.lineItemReadOnly]);
    const forbidden = await postScore(lineItemUrl, score(), MEDIA_TYPE.score, readOnly);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    const other = await MinimalLtiTool.start();
    try {
      const otherRegistration = register(canvas.platform, other);
      canvas.platform.installTool(canvas.course.id, otherRegistration.clientId);
      const otherToken = canvas.platform.issueAccessToken(otherRegistration.clientId, [SCOPE.score]);
      expect((await postScore(lineItemUrl, score(), MEDIA_TYPE.score, otherToken)).status).toBe(404);
    } finally {
      await other.close();
    }
    const shortLived = canvas.platform.issueAccessToken(canvas.registration.clientId, [SCOPE.score]);
    canvas.platform.expireAccessTokens();
    expect((await postScore(lineItemUrl, score(), MEDIA_TYPE.score, shortLived)).status).toBe(401);
  });

  it('Moodle: scores go to …/lineitem/scores?type_id=…, and a same-second timestamp is 409', async () => {
    const item = moodle.platform.createLineItem({
      courseId: moodle.course.id,
      clientId: moodle.registration.clientId,
      scoreMaximum: 10,
    });
    moodle.platform.installTool(moodle.course.id, moodle.registration.clientId);
    expect(item.id).toMatch(/\/lineitem\?type_id=\d+$/);
    const { body } = await tool.requestToken(moodle.config, [SCOPE.score]);
    const bearer = String(body.access_token);
    const post = (url: string, timestamp: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': MEDIA_TYPE.score },
        body: JSON.stringify({
          ...score(),
          userId: moodle.learner.id,
          scoreMaximum: 10,
          scoreGiven: 7,
          timestamp,
        }),
      });
    const scoresUrl = new URL(item.id);
    scoresUrl.pathname += '/scores';
    expect((await post(`${item.id}/scores`, '2031-01-01T10:00:00.100Z')).status).toBeGreaterThanOrEqual(400);
    expect((await post(scoresUrl.href, '2031-01-01T10:00:00.100Z')).status).toBe(204);
    expect((await post(scoresUrl.href, '2031-01-01T10:00:00.900Z')).status).toBe(409);
    expect((await post(scoresUrl.href, '2031-01-01T10:00:01.000Z')).status).toBe(204);
    const withoutType = new URL(scoresUrl);
    withoutType.searchParams.delete('type_id');
    expect((await post(withoutType.href, '2031-01-01T10:00:02.000Z')).status).toBe(403);
  });
});

describe('Names and Role Provisioning Services', () => {
  let token: string;
  let membershipsUrl: string;

  beforeAll(async () => {
    for (const name of ['Ana', 'Ben', 'Cy']) {
      const user = canvas.platform.addUser({ givenName: name });
      canvas.platform.enrol(canvas.course.id, user.id, ['Learner'], name === 'Cy' ? 'Inactive' : 'Active');
    }
    const { body } = await tool.requestToken(canvas.config, [SCOPE.contextMembershipReadOnly]);
    token = String(body.access_token);
    membershipsUrl = `${canvas.platform.url}/api/lti/courses/${canvas.course.id}/names_and_roles`;
  });

  const get = (url: string, accept: string = MEDIA_TYPE.membershipContainer, bearer = token) =>
    fetch(url, { headers: { authorization: `Bearer ${bearer}`, accept } });

  it('pages the membership with Link rel="next" until every member is read', async () => {
    const seen: Array<{ user_id: string; status: string; roles: string[] }> = [];
    let next: string | undefined = membershipsUrl;
    let pages = 0;
    while (next) {
      const response = await get(next);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(MEDIA_TYPE.membershipContainer);
      const body = (await response.json()) as { members: typeof seen; context: { id: string } };
      expect(body.context.id).toBe(canvas.course.id);
      expect(body.members.length).toBeLessThanOrEqual(2);
      seen.push(...body.members);
      next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
      pages += 1;
    }
    expect(pages).toBe(Math.ceil(canvas.course.members.size / 2));
    expect(seen.map((member) => member.user_id).sort()).toEqual([...canvas.course.members.keys()].sort());
    expect(seen.filter((member) => member.status === 'Inactive')).toHaveLength(1);
    expect(seen.find((member) => member.user_id === canvas.instructor.id)?.roles).toEqual([
      'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
    ]);
  });

  it('honours limit and role, and refuses a wrong Accept (406) or a token without the scope (403)', async () => {
    const filtered = await get(`${membershipsUrl}?role=Instructor&limit=5`);
    expect(((await filtered.json()) as { members: unknown[] }).members).toHaveLength(1);
    expect(filtered.headers.get('link')).toBeNull();
    expect((await get(membershipsUrl, 'application/json')).status).toBe(406);
    const scoreOnly = canvas.platform.issueAccessToken(canvas.registration.clientId, [SCOPE.score]);
    expect((await get(membershipsUrl, MEDIA_TYPE.membershipContainer, scoreOnly)).status).toBe(403);
  });
});

describe('Deep Linking', () => {
  async function deepLinkRequest() {
    const launch = launchFor(canvas, {
      userId: canvas.instructor.id,
      messageType: MESSAGE_TYPE.deepLinkingRequest,
    });
    const claims = canvas.platform.claimsFor(launch.id, 'dl-nonce');
    return { launch, claims, returnUrl: launch.deepLinking!.returnUrl };
  }

  const postJwt = async (url: string, jwt: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ JWT: jwt }),
    });
    return { status: response.status, html: await response.text() };
  };

  it('completes a deep-linking launch: items recorded, a line item created for the graded one', async () => {
    tool.nextDeepLinkItems = [
      {
        type: 'ltiResourceLink',
        title: 'Course player',
        url: `${tool.url}/launch`,
        custom: { course: '42' },
      },
      { type: 'ltiResourceLink', title: 'Final quiz', lineItem: { scoreMaximum: 20, label: 'Final quiz' } },
    ];
    const launch = launchFor(canvas, {
      userId: canvas.instructor.id,
      messageType: MESSAGE_TYPE.deepLinkingRequest,
    });
    const { outcome, page } = await runLaunch(launch);
    expect(outcome.ok).toBe(true);
    expect(tool.loginRequests.at(-1)!.params.target_link_uri).toBe(tool.deepLinkUrl);
    expect(outcome.claims?.[CLAIM.deepLinkingSettings]).toMatchObject({
      deep_link_return_url: launch.deepLinking!.returnUrl,
      accept_types: ['ltiResourceLink'],
      data: launch.deepLinking!.data,
    });
    expect(page.status).toBe(200);
    expect(page.html).toContain('2 item(s) added');
    const result = canvas.platform.deepLinkResults.at(-1)!;
    expect(result).toMatchObject({ launchId: launch.id, deploymentId: launch.deploymentId });
    expect(result.items.map((item) => item.title)).toEqual(['Course player', 'Final quiz']);
    expect(canvas.platform.lineItems.get(result.lineItemIds[0]!)).toMatchObject({
      label: 'Final quiz',
      scoreMaximum: 20,
    });
  });

  it.each([
    ['aud not the platform issuer', { aud: 'https://lms.attacker.example' }, 'JWT refused'],
    ['the data claim not echoed', { [CLAIM.data]: undefined }, 'data claim of the request was not echoed'],
    ['another deployment_id', { [CLAIM.deploymentId]: 'other-deployment' }, 'deployment_id must be'],
    ['another message type', { [CLAIM.messageType]: 'LtiResourceLinkRequest' }, 'message_type must be'],
    ['version 1.1.0', { [CLAIM.version]: '1.1.0' }, 'version must be'],
    [
      'a type not accepted',
      { [CLAIM.contentItems]: [{ type: 'file', url: 'https://x.example/a.pdf' }] },
      'accept_types',
    ],
    ['no nonce', { nonce: undefined }, 'JWT refused'],
  ])('refuses a deep-linking response with %s', async (_what, overrides, reason) => {
    const { claims, returnUrl } = await deepLinkRequest();
    const jwt = await tool.deepLinkResponse(claims, [{ type: 'ltiResourceLink', title: 'x' }], overrides);
    const { status, html } = await postJwt(returnUrl, jwt);
    expect(status).toBe(400);
    expect(html).toContain(reason);
  });

  it('refuses a replayed response and one signed by a key the tool does not publish', async () => {
    const { claims, returnUrl } = await deepLinkRequest();
    const jwt = await tool.deepLinkResponse(claims, [{ type: 'ltiResourceLink', title: 'x' }]);
    expect((await postJwt(returnUrl, jwt)).status).toBe(200);
    const replay = await postJwt(returnUrl, jwt);
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('already answered');
    const second = await deepLinkRequest();
    const stranger = await createRsaSigningKey();
    const unsigned = await tool.deepLinkResponse(second.claims, []);
    const payload = decodeJwt(unsigned);
    const forged = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: stranger.kid })
      .sign(stranger.privateKey);
    expect((await postJwt(second.returnUrl, forged)).status).toBe(400);
  });
});

describe.skipIf(!hasChromium)('platform storage in Chromium with third-party cookies blocked', () => {
  let context: BrowserContext;
  let profileDir: string;
  let siteTool: MinimalLtiTool;

  beforeAll(async () => {
    // A profile that blocks third-party cookies, as Safari and Chrome's incognito do. Checked while
    // writing this: with `cookie_controls_mode: 0` the tool's probe cookie does come back.
    profileDir = mkdtempSync(join(tmpdir(), 'lti-fake-chromium-'));
    mkdirSync(join(profileDir, 'Default'));
    writeFileSync(
      join(profileDir, 'Default', 'Preferences'),
      JSON.stringify({ profile: { block_third_party_cookies: true, cookie_controls_mode: 1 } }),
    );
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--test-third-party-cookie-phaseout',
      ],
    });
    // The tool on another site (localhost) than the LMS (127.0.0.1): its frames are third-party.
    siteTool = await MinimalLtiTool.start({ host: 'localhost', platformStorage: true });
  });

  afterAll(async () => {
    await context?.close();
    await siteTool?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it.each(['canvas', 'blackboard'] as const)(
    '%s: the tool keeps its state in the storage frame and the launch completes without cookies',
    async (profile) => {
      const s = profile === 'canvas' ? canvas : blackboard;
      const registration = register(s.platform, siteTool);
      const launch = s.platform.startLaunch({
        clientId: registration.clientId,
        userId: s.learner.id,
        courseId: s.course.id,
      });
      const page = await context.newPage();
      try {
        await page.goto(launch.coursePageUrl);
        await expect
          .poll(() => siteTool.outcomes.length, { timeout: 30_000, interval: 100 })
          .toBeGreaterThan(0);
        const outcome = siteTool.outcomes.shift()!;
        expect(outcome).toMatchObject({ ok: true, via: 'platform-storage', probeCookieReturned: false });
        expect(outcome.extraFields).toEqual(
          profile === 'canvas' ? { lti_storage_target: 'post_message_forwarding' } : {},
        );
        const frame = page.frame({ name: 'tool_content' });
        await expect
          .poll(async () => frame?.locator('#status').textContent(), { timeout: 30_000 })
          .toBe('Launched');
        const events = () => s.platform.storageEvents.filter((event) => event.origin === siteTool.url);
        await expect
          .poll(() => events().map((event) => event.subject), { timeout: 30_000 })
          .toEqual(['lti.put_data', 'lti.put_data', 'lti.get_data']);
        expect(events().every((event) => !event.error)).toBe(true);
        // The storage frame answers only registered tool origins.
        const refusal = await page.evaluate(
          ({ target }) =>
            new Promise((resolve) => {
              const top = globalThis as any;
              top.addEventListener('message', (event: { data: unknown }) => resolve(event.data));
              top.frames[target].postMessage({ subject: 'lti.get_data', key: 'x', message_id: 'm1' }, '*');
            }),
          { target: profile === 'canvas' ? 'post_message_forwarding' : 'lti_storage_frame' },
        );
        expect(refusal).toMatchObject({
          subject: 'lti.get_data.response',
          message_id: 'm1',
          error: { code: 'wrong_origin' },
        });
      } finally {
        await page.close();
      }
    },
  );
});
