import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { createTestHub, type TestHub, type TestHubOptions } from '../support/hub.ts';

export async function startHub(options: TestHubOptions = {}): Promise<TestHub> {
  return createTestHub({ listen: true, ...options });
}

let counter = 0;

/** An organization with a verified domain (verified directly in the database: DNS is not under test here). */
export async function createOrganization(
  t: TestHub,
  options: {
    environment?: 'production' | 'sandbox';
    domain?: string;
    policies?: Record<string, unknown>;
  } = {},
) {
  const domain = options.domain ?? `acme${++counter}-${process.pid}.test`;
  const response = await t.api('POST', '/api/v1/organizations', {
    body: {
      name: `Acme ${counter}`,
      environment: options.environment ?? 'sandbox',
      domains: [domain],
      ...(options.policies ? { policies: options.policies } : {}),
    },
  });
  expect(response.status, response.text).toBe(201);
  await t.hub.database.db.execute(
    sql`update organization_domains set verified = true, verified_at = now() where domain = ${domain}`,
  );
  return { id: response.body.id as string, slug: response.body.slug as string, domain };
}

export async function createConnection(t: TestHub, orgId: string, body: Record<string, unknown>) {
  const response = await t.api('POST', `/api/v1/organizations/${orgId}/connections`, { body });
  expect(response.status, response.text).toBe(201);
  return response.body as {
    id: string;
    saml?: { spMetadataUrl: string; acsUrl: string; spEntityId: string };
    oidc?: { redirectUri: string };
    loginUrl: string;
    warnings: unknown[];
  };
}

export async function traceOf(t: TestHub, orgId: string, traceId: string) {
  const response = await t.api('GET', `/api/v1/organizations/${orgId}/login-traces/${traceId}`);
  expect(response.status, response.text).toBe(200);
  return response.body as {
    status: string;
    errorCode: string | null;
    reason: string | null;
    steps: Array<{ step: string; ok: boolean; message: string; data?: Record<string, unknown> }>;
    userId: string | null;
    email: string | null;
  };
}
