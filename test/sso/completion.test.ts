/**
 * The login completion pipeline other modules take part in: ordered completion steps (provisioning
 * waits), then the continuation's handler, or the default completions (post-login routing), or the
 * signed-in page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

describe('login completion pipeline', () => {
  let t: TestHub;
  const calls: string[] = [];
  let answerDefault: ((email: string) => boolean) | undefined;
  let stepAnswers: ((email: string) => boolean) | undefined;
  beforeAll(async () => {
    t = await startHub();
    const login = t.hub.sso.login;
    // Registered out of order on purpose: `order` decides.
    login.registerCompletionStep({
      name: 'test.second',
      order: 200,
      run: async (completion) => {
        calls.push(`second:${completion.continuation?.type ?? 'none'}`);
        if (stepAnswers?.(completion.user.email ?? '')) {
          await completion.reply.redirect('/answered-by-step', 303);
        }
      },
    });
    login.registerCompletionStep({
      name: 'test.first',
      order: 50,
      run: async (completion) => {
        calls.push(`first:${completion.created}`);
        if (completion.user.email?.startsWith('broken')) throw new Error('step exploded');
      },
    });
    login.registerDefaultCompletion('test.routing', async (completion) => {
      calls.push('default');
      if (!answerDefault?.(completion.user.email ?? '')) return false;
      await completion.recordTrace(true, 'Routed by the test');
      await completion.reply.redirect('/routed', 303);
      return true;
    });
    login.registerCompletion('test_resume', async (completion) => {
      calls.push(`handler:${completion.continuation.uid}`);
      return completion.reply.redirect('/resumed', 303);
    });
  });
  afterAll(async () => t?.close());

  async function signIn(start: string, email: string, stopAt: string[]) {
    const browser = new Browser();
    browser.stopAt = stopAt.map((path) => `${t.url}${path}`);
    const first = await browser.get(start);
    const idp = first.html.includes('Work email') ? await browser.submit(first, { email }) : first;
    return browser.submit(idp, { email });
  }

  it('runs steps in order, then the continuation handler', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    calls.length = 0;
    const request = await t.hub.sso.login.createLoginRequest({
      continuation: { type: 'test_resume', uid: 'u1' },
      loginHint: `ann@${org.domain}`,
    });
    const done = await signIn(request.url, `ann@${org.domain}`, ['/resumed']);
    expect(done.url).toBe(`${t.url}/resumed`);
    expect(calls).toEqual(['first:true', 'second:test_resume', 'handler:u1']);
  });

  it('without a continuation: steps, then the default completion, which may record in the trace', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    calls.length = 0;
    answerDefault = (email) => email.startsWith('rita');
    const done = await signIn(`${t.url}/login?login_hint=rita@${org.domain}`, `rita@${org.domain}`, [
      '/routed',
    ]);
    expect(done.url).toBe(`${t.url}/routed`);
    expect(calls).toEqual(['first:true', 'second:none', 'default']);
    const traces = await t.api('GET', `/api/v1/organizations/${org.id}/login-traces?limit=1`);
    const trace = await traceOf(t, org.id, traces.body.data[0].id);
    expect(trace.steps.at(-1)).toMatchObject({ step: 'completion', ok: true, message: 'Routed by the test' });
  });

  it('falls back to the signed-in page when no default completion answers', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    calls.length = 0;
    answerDefault = () => false;
    const done = await signIn(`${t.url}/login?login_hint=sam@${org.domain}`, `sam@${org.domain}`, []);
    expect(done.status).toBe(200);
    expect(done.html).toContain('Signed in');
    expect(calls).toEqual(['first:true', 'second:none', 'default']);
  });

  it('a step that fails is traced and the login goes on; a step that answers ends the login there', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    calls.length = 0;
    answerDefault = () => false;
    const broken = await signIn(`${t.url}/login?login_hint=broken@${org.domain}`, `broken@${org.domain}`, []);
    expect(broken.html).toContain('Signed in');
    const trace = await traceOf(t, org.id, textById(broken.html, 'trace-id') as string);
    expect(trace.steps.find((step) => step.step === 'completion')).toMatchObject({
      ok: false,
      message: 'Completion step test.first failed: step exploded',
    });

    calls.length = 0;
    stepAnswers = (email) => email.startsWith('early');
    const early = await signIn(`${t.url}/login?login_hint=early@${org.domain}`, `early@${org.domain}`, [
      '/answered-by-step',
    ]);
    expect(early.url).toBe(`${t.url}/answered-by-step`);
    expect(calls).toEqual(['first:true', 'second:none']);
    stepAnswers = undefined;
  });

  it('refuses duplicate names', () => {
    expect(() => t.hub.sso.login.registerCompletionStep({ name: 'test.first', run: async () => {} })).toThrow(
      /already registered/,
    );
    expect(() => t.hub.sso.login.registerDefaultCompletion('test.routing', async () => false)).toThrow(
      /already registered/,
    );
  });
});
