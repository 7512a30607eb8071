import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await createTestHub({ env: { BODY_LIMIT_BYTES: '4096' } });
});
afterAll(async () => {
  await t?.close();
});

describe('errors are problem documents, never a 500 for a client mistake', () => {
  const json = { 'content-type': 'application/json' };

  it('malformed JSON', async () => {
    const res = await t.api('POST', '/api/v1/organizations', { payload: '{"name": ', headers: json });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'malformed_json', field: 'body', status: 400 });
  });

  it('empty JSON body', async () => {
    const res = await t.api('POST', '/api/v1/organizations', { payload: '', headers: json });
    expect(res.status).toBe(400);
  });

  it('body over the limit', async () => {
    const res = await t.api('POST', '/api/v1/organizations', { body: { name: 'x'.repeat(10_000) } });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
  });

  it('wrong content type', async () => {
    const res = await t.api('POST', '/api/v1/organizations', {
      payload: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported_media_type');
  });

  it('unknown route and unknown resource', async () => {
    const route = await t.api('GET', '/api/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body.code).toBe('route_not_found');
    const resource = await t.api('GET', '/api/v1/groups/grp_nothing');
    expect(resource.body).toMatchObject({ status: 404, code: 'group_not_found' });
  });

  it('body of the wrong type names the field and lists every problem', async () => {
    const res = await t.api('POST', '/api/v1/organizations', {
      body: { name: 42, domains: 'x.example.com' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((error: { field: string }) => error.field).sort()).toEqual([
      'domains',
      'name',
    ]);
    const array = await t.api('POST', '/api/v1/organizations', { body: [] });
    expect(array.status).toBe(400);
  });

  it('carries the request id (and honours a sane incoming one)', async () => {
    const res = await t.api('GET', '/api/v1/organizations/missing', {
      headers: { 'x-request-id': 'req-abc.123' },
    });
    expect(res.headers['x-request-id']).toBe('req-abc.123');
    expect(res.body.requestId).toBe('req-abc.123');
    const hostile = await t.api('GET', '/healthz', { headers: { 'x-request-id': 'evil\nheader' } });
    expect(hostile.headers['x-request-id']).not.toContain('evil');
    expect(hostile.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('operations endpoints', () => {
  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await t.api('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    const ready = await t.api('GET', '/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', jobs: 'ok' } });
    const metrics = await t.api('GET', '/metrics', { key: null });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('switchboard_http_request_duration_seconds_bucket');
    expect(metrics.text).toContain('route="/readyz"');
    expect(metrics.text).toContain('process_cpu_seconds_total');
  });

  it('publishes OpenAPI 3.1 generated from the schemas, and the docs page', async () => {
    const spec = await t.api('GET', '/openapi.json', { key: null });
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toBe('3.1.0');
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/organizations',
        '/api/v1/organizations/{org}',
        '/api/v1/organizations/{org}/domains/{domain}/verify',
        '/api/v1/organizations/{org}/users',
        '/api/v1/users/{id}',
        '/api/v1/groups/{id}/members',
        '/api/v1/events',
        '/api/v1/api-keys',
      ]),
    );
    const create = spec.body.paths['/api/v1/organizations'].post;
    expect(create.requestBody.content['application/json'].schema).toBeTruthy();
    expect(spec.body.components.schemas.Problem).toBeTruthy();
    expect(spec.body.paths['/healthz']).toBeUndefined();
    const docs = await t.api('GET', '/docs/', { key: null });
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
  });
});

describe('roles', () => {
  it('a worker process serves only health and metrics', async () => {
    const worker = await createTestHub({ role: 'worker' });
    try {
      expect((await worker.api('GET', '/healthz', { key: null })).status).toBe(200);
      expect((await worker.api('GET', '/readyz', { key: null })).status).toBe(200);
      expect((await worker.api('GET', '/metrics', { key: null })).status).toBe(200);
      expect((await worker.api('GET', '/api/v1/organizations')).status).toBe(404);
    } finally {
      await worker.close();
    }
  });
});
