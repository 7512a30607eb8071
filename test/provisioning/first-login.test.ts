/**
 * First SSO login: a person created by JIT waits (up to PROVISIONING_LOGIN_WAIT_MS) for their
 * Thinkific account and enrollment, so they land in their course on the first try; with the
 * destination down they are sent on anyway and the work completes in the background.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeThinkific } from '../fakes/thinkific/server.ts';
import { createConnection, createOrganization, startHub, traceOf } from '../sso/helpers.ts';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { eventually } from './helpers.ts';

describe('first SSO login waits for provisioning', { timeout: 240_000 }, () => {
  let t: TestHub | undefined;
  let fake: FakeThinkific | undefined;
  afterEach(async () => {
    await t?.close();
    await fake?.stop();
    t = undefined;
    fake = undefined;
  });

  /** A hub whose first logins wait `waitMs`, with a Thinkific destination and a rule for SSO users. */
  async function scenario(waitMs: number) {
    fake = await new FakeThinkific({ rateLimit: null }).start();
    t = await startHub({
      workers: true,
      env: {
        PROVISIONING_RETRY_DELAY_SECONDS: '1',
        PROVISIONING_RECONCILE_CRON: '',
        PROVISIONING_LOGIN_WAIT_MS: String(waitMs),
      },
    });
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    const destination = await t.api('POST', `/api/v1/organizations/${org.id}/destinations`, {
      body: {
        kind: 'thinkific',
        name: 'Academy',
        settings: { baseUrl: fake.url, subdomain: fake.subdomain },
        credentials: { apiKey: fake.apiKey },
        maxAttempts: 20,
      },
    });
    expect(destination.status).toBe(201);
    const rule = await t.api('POST', `/api/v1/organizations/${org.id}/provisioning/rules`, {
      body: {
        name: 'Everyone who signs in',
        condition: { source: 'sso' },
        effects: [{ destinationId: destination.body.id, enrollments: [{ id: 101 }] }],
      },
    });
    expect(rule.status).toBe(201);
    return { t, fake, org };
  }

  async function signIn(hub: TestHub, email: string) {
    const browser = new Browser();
    const first = await browser.get(`${hub.url}/login?login_hint=${encodeURIComponent(email)}`);
    const idp = first.html.includes('Work email') ? await browser.submit(first, { email }) : first;
    return browser.submit(idp, { email });
  }

  it('the login is answered only once the account and enrollment exist', async () => {
    // The longest wait allowed, so a loaded machine cannot make the login give up first.
    const { t: hub, fake: lms, org } = await scenario(60_000);
    const email = `new.hire@${org.domain}`;
    const done = await signIn(hub, email);
    expect(done.html).toContain('Signed in');
    // Checked right after the answer, without waiting: the login itself waited.
    expect(lms.enrollmentsOf(email)).toHaveLength(1);
    expect(lms.enrollmentsOf(email)[0]?.activated_at).not.toBeNull();
    const trace = await traceOf(hub, org.id, textById(done.html, 'trace-id') as string);
    expect(
      trace.steps.find((step) => step.step === 'completion' && step.message.startsWith('Provisioned')),
    ).toMatchObject({ ok: true, message: 'Provisioned in 1 destination(s) before sending on' });
  });

  it('with the destination down the person is sent on, and the work completes later', async () => {
    const { t: hub, fake: lms, org } = await scenario(1500);
    lms.down = true;
    const email = `late.hire@${org.domain}`;
    const done = await signIn(hub, email);
    expect(done.html).toContain('Signed in');
    expect(lms.enrollmentsOf(email)).toHaveLength(0);
    const trace = await traceOf(hub, org.id, textById(done.html, 'trace-id') as string);
    const step = trace.steps.find(
      (item) => item.step === 'completion' && item.message.includes('sending on'),
    );
    expect(step?.ok).toBe(false);
    lms.down = false;
    await eventually(() => lms.enrollmentsOf(email).length === 1, 'background completion');
  });
});
