/**
 * The audit log: who changed what, from where, with before/after values and no secrets; filters,
 * cursor paging, and the CSV export with formula-injection escaping.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { closeHub, createHub } from '../../src/hub.ts';
import { cliActor, csvCell } from '../../src/modules/events/index.ts';
import { createLogger } from '../../src/platform/logging.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

interface Entry {
  id: string;
  cursor: string;
  occurredAt: string;
  organizationId: string | null;
  organizationName: string | null;
  type: string;
  actor: { type: string; id?: string; name?: string; ip?: string; requestId?: string };
  resource: { type: string | null; id: string | null; name: string | null };
  changes: Record<string, { from: unknown; to: unknown }> | null;
  data: Record<string, unknown>;
}

let t: TestHub;
let orgId: string;
let otherOrgId: string;

async function audit(query: string): Promise<{ data: Entry[]; nextCursor: string | null }> {
  const response = await t.api('GET', `/api/v1/audit?${query}`, { key: t.readKey });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

beforeAll(async () => {
  t = await createTestHub();
  const org = await t.api('POST', '/api/v1/organizations', {
    body: { name: 'Audit Corp', environment: 'sandbox', domains: ['audit-corp.test'] },
    headers: { 'x-request-id': 'req-create-org-1' },
  });
  expect(org.status, org.text).toBe(201);
  orgId = org.body.id;
  const other = await t.api('POST', '/api/v1/organizations', { body: { name: 'Other Corp' } });
  otherOrgId = other.body.id;
});

afterAll(async () => {
  await t?.close();
});

describe('audit log API', () => {
  it('records who made a change, from which IP and in which request', async () => {
    const page = await audit(`organization=${orgId}&types=organization.created`);
    expect(page.data).toHaveLength(1);
    const [entry] = page.data;
    expect(entry?.actor).toMatchObject({
      type: 'api_key',
      name: 'test-admin',
      ip: '127.0.0.1',
      requestId: 'req-create-org-1',
    });
    expect(entry?.actor.id).toMatch(/^key_/);
    expect(entry?.resource).toEqual({ type: 'organization', id: orgId, name: 'Audit Corp' });
  });

  it('records before and after values of an update', async () => {
    const response = await t.api('PATCH', `/api/v1/organizations/${orgId}`, {
      body: { name: 'Audit Corp Ltd' },
    });
    expect(response.status, response.text).toBe(200);
    const page = await audit(`organization=${orgId}&types=organization.updated`);
    expect(page.data[0]?.changes?.name).toEqual({ from: 'Audit Corp', to: 'Audit Corp Ltd' });
  });

  it('compares values, not serialisations: the same policies in another key order are no change', async () => {
    const current = await t.api('GET', `/api/v1/organizations/${orgId}`);
    // The console sends every policy back, in its own key order, whichever field changed.
    const policies = Object.fromEntries(Object.entries(current.body.policies).reverse());
    const response = await t.api('PATCH', `/api/v1/organizations/${orgId}`, {
      body: { region: 'eu-west', policies },
    });
    expect(response.status, response.text).toBe(200);
    const page = await audit(`organization=${orgId}&types=organization.updated`);
    expect(page.data[0]?.changes).toEqual({ region: { from: current.body.region, to: 'eu-west' } });
    // Saving again with nothing changed records nothing.
    const again = await t.api('PATCH', `/api/v1/organizations/${orgId}`, {
      body: { region: 'eu-west', policies: current.body.policies },
    });
    expect(again.status, again.text).toBe(200);
    expect((await audit(`organization=${orgId}&types=organization.updated`)).data).toHaveLength(
      page.data.length,
    );
  });

  it('names the organization and the resource of each entry, beside their ids', async () => {
    const current = (await t.api('GET', `/api/v1/organizations/${orgId}`)).body;
    const page = await audit(`organization=${orgId}&types=organization.created,organization.domain_added`);
    const created = page.data.find((entry) => entry.type === 'organization.created');
    const domain = page.data.find((entry) => entry.type === 'organization.domain_added');
    expect(created).toMatchObject({
      organizationId: orgId,
      organizationName: current.name,
      // The name the event recorded (the organization was renamed since).
      resource: { type: 'organization', id: orgId, name: 'Audit Corp' },
    });
    expect(domain).toMatchObject({
      organizationName: current.name,
      resource: { type: 'domain', id: expect.stringMatching(/^dom_/), name: 'audit-corp.test' },
    });
    // An entry of no organization has no organization name.
    const [key] = (await audit('types=api_key.created&limit=1')).data;
    expect(key?.organizationId).toBeNull();
    expect(key?.organizationName).toBeNull();
  });

  it('records a connection update field by field', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgId}/connections`, {
      body: { name: 'Test IdP', protocol: 'saml', testIdp: true },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    const updated = await t.api('PATCH', `/api/v1/organizations/${orgId}/connections/${id}`, {
      body: { name: 'Test IdP (renamed)', saml: { clockSkewSeconds: 30 } },
    });
    expect(updated.status, updated.text).toBe(200);
    const page = await audit(`resource=${id}&types=connection.updated`);
    expect(page.data[0]?.changes).toEqual({
      name: { from: 'Test IdP', to: 'Test IdP (renamed)' },
      'saml.clockSkewSeconds': { from: 120, to: 30 },
    });
  });

  it('records that an LMS API key changed, never the key', async () => {
    const site = await t.api('POST', `/api/v1/organizations/${orgId}/lms-sites`, {
      body: { name: 'Academy', subdomain: 'audit-academy', apiKey: 'first-api-key-0123456789' },
    });
    expect(site.status, site.text).toBe(201);
    const secret = 'second-api-key-9876543210';
    const updated = await t.api('PATCH', `/api/v1/organizations/${orgId}/lms-sites/${site.body.id}`, {
      body: { name: 'Academy 2', apiKey: secret },
    });
    expect(updated.status, updated.text).toBe(200);
    const page = await audit(`resource=${site.body.id}&types=lms_site.updated`);
    expect(page.data[0]?.changes).toMatchObject({
      name: { from: 'Academy', to: 'Academy 2' },
      apiKey: { from: '[redacted]', to: '[redacted]' },
    });
    expect(JSON.stringify(page)).not.toContain(secret);
    expect(JSON.stringify(page)).not.toContain('first-api-key');
  });

  it('redacts secret-named members a service let through', async () => {
    await t.hub.database.transaction((tx) =>
      t.hub.events.append(tx, {
        organizationId: orgId,
        type: 'test.leaky',
        actor: { type: 'system' },
        data: {
          clientSecret: 'leaked-secret',
          nested: { api_key: 'leaked-key', tokenHash: 'abc', tokenId: 'dtk_1', clientSecretSet: true },
          code: 'mapping_no_email',
        },
      }),
    );
    const [entry] = (await audit(`organization=${orgId}&types=test.leaky`)).data;
    expect(entry?.data).toEqual({
      clientSecret: '[redacted]',
      nested: { api_key: '[redacted]', tokenHash: '[redacted]', tokenId: 'dtk_1', clientSecretSet: true },
      code: 'mapping_no_email',
    });
  });

  it('reads an event without an actor type as "unknown" rather than failing the page', async () => {
    await t.hub.database.transaction((tx) =>
      t.hub.events.append(tx, {
        organizationId: otherOrgId,
        type: 'test.actorless',
        actor: {} as never,
      }),
    );
    const [entry] = (await audit(`organization=${otherOrgId}&types=test.actorless`)).data;
    expect(entry?.actor).toEqual({ type: 'unknown' });
  });

  it('filters by organization, actor, type prefix, resource type and time range', async () => {
    const all = await audit(`organization=${orgId}&limit=500`);
    expect(all.data.length).toBeGreaterThan(4);
    expect(all.data.every((entry) => entry.organizationId === orgId)).toBe(true);
    // Newest first.
    const positions = all.data.map((entry) => BigInt(entry.cursor));
    expect([...positions].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(positions);

    const byOther = await audit(`organization=${otherOrgId}&limit=500`);
    expect(byOther.data.some((entry) => entry.organizationId === orgId)).toBe(false);

    const system = await audit(`organization=${orgId}&actorType=system`);
    expect(system.data.map((entry) => entry.type)).toEqual(['test.leaky']);

    const keyId = all.data.find((entry) => entry.type === 'organization.created')?.actor.id as string;
    const byKey = await audit(`actor=${keyId}&limit=500`);
    expect(byKey.data.length).toBeGreaterThan(3);
    expect(byKey.data.every((entry) => entry.actor.id === keyId)).toBe(true);

    const connections = await audit(`organization=${orgId}&types=connection.*`);
    expect(new Set(connections.data.map((entry) => entry.type))).toEqual(
      new Set(['connection.created', 'connection.updated']),
    );
    const domains = await audit(`organization=${orgId}&resourceType=domain`);
    expect(domains.data.map((entry) => entry.type)).toEqual(['organization.domain_added']);

    const future = await audit(`organization=${orgId}&since=2999-01-01`);
    expect(future.data).toEqual([]);
    const past = await audit(`organization=${orgId}&until=2000-01-01T00:00:00Z`);
    expect(past.data).toEqual([]);
    const now = await audit(`organization=${orgId}&since=2000-01-01&until=2999-01-01&limit=500`);
    expect(now.data).toHaveLength(all.data.length);
  });

  it('pages with a cursor: no entry twice, none skipped', async () => {
    const all = await audit(`organization=${orgId}&limit=500`);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { data: Entry[]; nextCursor: string | null } = await audit(
        `organization=${orgId}&limit=2${after ? `&after=${after}` : ''}`,
      );
      seen.push(...page.data.map((entry) => entry.id));
      after = page.nextCursor;
    } while (after);
    expect(seen).toEqual(all.data.map((entry) => entry.id));
  });

  it('answers bad filters with problem+json naming the field', async () => {
    for (const [query, field] of [
      ['after=abc', 'after'],
      ['since=yesterday', 'since'],
      ['since=2026-02-01&until=2026-01-01', 'since'],
      ['limit=0', 'limit'],
    ] as const) {
      const response = await t.api('GET', `/api/v1/audit?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.field, query).toBe(field);
    }
    const unknown = await t.api('GET', '/api/v1/audit?organization=no-such-org');
    expect(unknown.status).toBe(404);
    const anonymous = await t.api('GET', '/api/v1/audit', { key: null });
    expect(anonymous.status).toBe(401);
    const csvAnonymous = await t.api('GET', '/api/v1/audit.csv', { key: null });
    expect(csvAnonymous.status).toBe(401);
  });
});

describe('API reference', () => {
  it('documents the audit, overview and setup-link endpoints, not the setup pages', async () => {
    const spec = await t.api('GET', '/openapi.json', { key: null });
    expect(spec.status).toBe(200);
    const paths = Object.keys(spec.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/audit',
        '/api/v1/audit.csv',
        '/api/v1/organizations/{org}/overview',
        '/api/v1/organizations/{org}/setup-links',
        '/api/v1/organizations/{org}/setup-links/{id}/revoke',
      ]),
    );
    expect(paths.some((path) => path.startsWith('/setup/'))).toBe(false);
    expect(spec.body.components.schemas).toHaveProperty('AuditEntry');
    expect(spec.body.components.schemas).toHaveProperty('OrganizationOverview');
  });
});

describe('audit CSV export', () => {
  it('exports the filtered log with formula cells escaped', async () => {
    const hostile = ['=HYPERLINK("http://evil.test","x")', '+1+1', '-2+3', '@SUM(A1)'];
    for (const [index, name] of hostile.entries()) {
      const response = await t.api('POST', `/api/v1/organizations/${orgId}/groups`, {
        body: { name: `${name} ${index}` },
      });
      expect(response.status, response.text).toBe(201);
    }
    const response = await t.api('GET', `/api/v1/audit.csv?organization=${orgId}&types=group.created`, {
      key: t.readKey,
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(response.text.startsWith('\ufeff')).toBe(true);
    const rows = parseCsv(response.text.slice(1));
    expect(rows[0]).toEqual([
      'occurred_at',
      'id',
      'organization_id',
      'type',
      'actor_type',
      'actor_id',
      'actor_name',
      'actor_ip',
      'request_id',
      'resource_type',
      'resource_id',
      'changes',
      'data',
    ]);
    expect(rows).toHaveLength(1 + hostile.length);
    for (const row of rows.slice(1)) {
      expect(row[3]).toBe('group.created');
      expect(row[2]).toBe(orgId);
      expect(row[4]).toBe('api_key');
      // No cell starts with a formula character.
      for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      const data = JSON.parse(row[12] as string);
      expect(hostile.some((name) => data.group.name.startsWith(name))).toBe(true);
    }
  });

  it('escapes each formula lead character, and quotes per RFC 4180', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@x')).toBe("'@x");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=a,"b"')).toBe('"\'=a,""b"""');
    expect(csvCell(null)).toBe('');
    expect(csvCell('plain')).toBe('plain');
  });
});

describe('CLI actor', () => {
  it('names the operating-system user and host', () => {
    const actor = cliActor();
    expect(actor.type).toBe('cli');
    expect(actor.id).toBe(userInfo().username);
    expect(actor.name).toMatch(new RegExp(`^${userInfo().username}@.+`));
  });

  it('records switchboard commands with the cli actor', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-audit-cli-'));
    const secretKey = randomBytes(32).toString('base64');
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/main.ts'), ...args], {
          // A misleading $USER or $LOGNAME must not become the actor: the OS account is.
          env: {
            PATH: process.env.PATH ?? '',
            DATA_DIR: dataDir,
            SECRET_KEY: secretKey,
            USER: 'mallory',
            LOGNAME: 'mallory',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk) => {
          output += chunk;
        });
        child.stderr.on('data', (chunk) => {
          output += chunk;
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
    try {
      const keys = await cli(['admin-keys', 'create', '--name', 'from-cli']);
      expect(keys.code, keys.output).toBe(0);
      const link = await cli(['admin', 'login-link']);
      expect(link.code, link.output).toBe(0);
      const hub = await createHub(loadConfig({ DATA_DIR: dataDir, SECRET_KEY: secretKey }), {
        logger: createLogger('silent'),
      });
      try {
        const { entries } = await hub.events.audit({
          types: ['api_key.created', 'console.login_link_created'],
          limit: 10,
        });
        expect(entries.map((entry) => entry.type).sort()).toEqual([
          'api_key.created',
          'console.login_link_created',
        ]);
        for (const entry of entries) {
          expect(entry.actor).toMatchObject({
            type: 'cli',
            id: userInfo().username,
            name: `${userInfo().username}@${hostname()}`,
          });
        }
      } finally {
        await closeHub(hub, 1000);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
