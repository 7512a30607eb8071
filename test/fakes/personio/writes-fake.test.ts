/**
 * Personio's write side attached to the read fake, over HTTP: custom attributes written with the v1
 * PATCH and read back through the read fake's GET, unknown attributes and the email silently
 * ignored, 422s, documents (201, the spec's 404 for a bad category, 422s, 60 a minute on a frozen
 * clock) and the v2 PATCH with its write scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import { startPersonioFake } from './index.ts';
import { attachPersonioWrites, type PersonioWritesFake } from './writes.ts';

const people = [
  { id: '1', first: 'Ada', department: 'Engineering' },
  { id: '2', first: 'Ben', department: 'Sales' },
  { id: '3', first: 'Chloé', department: 'Engineering' },
].map((p) => ({
  id: p.id,
  employeeNumber: `E${p.id}`,
  firstName: p.first,
  lastName: 'Tester',
  email: `${p.first.toLowerCase()}@acme.test`,
  jobTitle: 'Analyst',
  department: p.department,
  managerId: null,
  status: 'active' as const,
  hireDate: '2024-01-15',
}));

describe('Personio writes fake', () => {
  const clock = new FakeClock({ frozenAt: Date.UTC(2026, 11, 10, 9, 0, 0) });
  let fake: PersonioWritesFake;
  let token: string;

  beforeAll(async () => {
    fake = await attachPersonioWrites(await startPersonioFake(), { clock });
    fake.seed(people);
    const { clientId, clientSecret } = fake.credentials as { clientId: string; clientSecret: string };
    const auth = await fetch(`${fake.url}/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
    });
    token = ((await auth.json()) as { data: { token: string } }).data.token;
  });
  afterAll(async () => {
    await fake.close();
  });

  const v1 = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && typeof body === 'string' ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  async function attributesOf(id: string): Promise<Record<string, { value: unknown }>> {
    const response = await v1('GET', `/company/employees/${id}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: { attributes: Record<string, { value: unknown }> } }).data
      .attributes;
  }

  it('writes a custom attribute (200, success shape) that the read API then shows', async () => {
    const response = await v1('PATCH', '/company/employees/1', {
      employee: {
        custom_attributes: { dynamic_990001: 'Onboarding Essentials', dynamic_990002: '2026-12-01' },
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, data: { id: 1 }, meta: [] });
    const attributes = await attributesOf('1');
    expect(attributes.dynamic_990001?.value).toBe('Onboarding Essentials');
    expect(attributes.dynamic_990002?.value).toBe('2026-12-01');
    const list = (await (await v1('GET', '/company/employees?email=ada%40acme.test')).json()) as {
      data: Array<{ attributes: Record<string, { value: unknown }> }>;
    };
    expect(list.data[0]?.attributes.dynamic_990001?.value).toBe('Onboarding Essentials');
  });

  it('silently ignores unknown attributes and the email (still 200, nothing changes)', async () => {
    const response = await v1('PATCH', '/company/employees/2', {
      employee: {
        email: 'new@acme.test',
        custom_attributes: { dynamic_123456: 'lost' },
        favourite_colour: 'blue',
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, data: { id: 2 }, meta: [] });
    const attributes = await attributesOf('2');
    expect(attributes.email?.value).toBe('ben@acme.test');
    expect(attributes.dynamic_123456).toBeUndefined();
    expect(fake.patches.at(-1)?.ignored.sort()).toEqual([
      'custom_attributes.dynamic_123456',
      'email',
      'favourite_colour',
    ]);
  });

  it('answers 422 for bad values, meta for an unknown department, 404/401/403 otherwise', async () => {
    const badDate = await v1('PATCH', '/company/employees/1', {
      employee: { custom_attributes: { dynamic_990002: '01.12.2026' } },
    });
    expect(badDate.status).toBe(422);
    expect(await badDate.json()).toMatchObject({ success: false, error: { code: 422 } });
    const supervisor = await v1('PATCH', '/company/employees/1', { employee: { supervisor_id: 77 } });
    expect(await supervisor.json()).toEqual({
      success: false,
      error: { code: 422, message: 'Supervisor with ID 77 not found' },
    });
    expect((await attributesOf('1')).dynamic_990002?.value).toBe('2026-12-01');

    const department = await v1('PATCH', '/company/employees/1', {
      employee: { department: 'Astrology', position: 'Lead' },
    });
    const answer = (await department.json()) as { meta: string[] };
    expect(answer.meta).toEqual(["The department 'Astrology' does not exist and was ignored."]);
    expect((await attributesOf('1')).position?.value).toBe('Lead');

    expect((await v1('PATCH', '/company/employees/99', { employee: { position: 'x' } })).status).toBe(404);
    expect((await v1('PATCH', '/company/employees/1', { employee: {} }, { authorization: '' })).status).toBe(
      401,
    );
    expect(
      (await v1('PATCH', '/company/employees/1', { employee: {} }, { authorization: 'Bearer nope' })).status,
    ).toBe(403);
  });

  it('accepts the form encoding of the spec', async () => {
    const form = new URLSearchParams({
      'employee[first_name]': 'Chloe',
      'employee[custom_attributes][dynamic_990001]': 'Coaching',
    });
    const response = await v1('PATCH', '/company/employees/3', form.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(200);
    const attributes = await attributesOf('3');
    expect([attributes.first_name?.value, attributes.dynamic_990001?.value]).toEqual(['Chloe', 'Coaching']);
  });

  function document(
    fields: Record<string, string>,
    file?: { name: string; bytes: Buffer },
  ): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (file)
      form.append('file', new Blob([new Uint8Array(file.bytes)], { type: 'application/pdf' }), file.name);
    return fetch(`${fake.url}/company/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
  }

  it('uploads a certificate (201 in the spec shape) and refuses a bad category with the spec 404', async () => {
    expect(fake.maxDocumentBytes).toBe(30 * 1024 * 1024);
    const pdf = Buffer.from('%PDF-1.7\n\x00\xff binary certificate\n%%EOF');
    const created = await document(
      { title: 'Certificate: Onboarding Essentials', employee_id: '1', category_id: '3', date: '2026-12-01' },
      { name: 'certificate.pdf', bytes: pdf },
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      success: true,
      data: {
        type: 'Document',
        attributes: { title: 'Certificate: Onboarding Essentials', category: { id: 3 } },
      },
    });
    expect(fake.documents.at(-1)?.content.equals(pdf)).toBe(true);

    const badCategory = await document(
      { title: 't', employee_id: '1', category_id: '1234' },
      { name: 'c.pdf', bytes: pdf },
    );
    expect(badCategory.status).toBe(404);
    expect(await badCategory.json()).toEqual({
      success: false,
      error: { message: 'No query results for model [DocumentCategory] 1234', code: 0 },
    });
    const badType = await document(
      { title: 't', employee_id: '1', category_id: '3' },
      { name: 'c.exe', bytes: pdf },
    );
    expect(badType.status).toBe(422);
    expect(await badType.json()).toMatchObject({
      error: {
        message: 'The given data was invalid.',
        code: 0,
        error_data: { file: [expect.stringMatching(/must be a file of type/)] },
      },
    });
    const missing = await document({ employee_id: '1' }, { name: 'c.pdf', bytes: pdf });
    expect(
      ((await missing.json()) as { error: { error_data: Record<string, unknown> } }).error.error_data,
    ).toHaveProperty('title');
  });

  it('refuses a file over the size limit with 422 (30 MB by default; 1 KB here)', async () => {
    const small = await attachPersonioWrites(await startPersonioFake(), { maxDocumentBytes: 1024 });
    try {
      small.seed(people);
      const { clientId, clientSecret } = small.credentials as { clientId: string; clientSecret: string };
      const auth = await fetch(`${small.url}/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
      });
      const bearer = ((await auth.json()) as { data: { token: string } }).data.token;
      const upload = (bytes: number) => {
        const form = new FormData();
        for (const [name, value] of Object.entries({ title: 't', employee_id: '1', category_id: '3' })) {
          form.append(name, value);
        }
        form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), 'c.pdf');
        return fetch(`${small.url}/company/documents`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}` },
          body: form,
        });
      };
      const tooBig = await upload(1025);
      expect(tooBig.status).toBe(422);
      expect(await tooBig.json()).toMatchObject({
        error: { error_data: { file: ['The file may not be greater than 1 kilobytes.'] } },
      });
      expect((await upload(1024)).status).toBe(201);
    } finally {
      await small.close();
    }
  });

  it('limits documents to 60 requests a minute (429), counted on the clock', async () => {
    clock.advance(120_000);
    const pdf = { name: 'c.pdf', bytes: Buffer.from('%PDF') };
    const statuses: number[] = [];
    for (let index = 0; index < 61; index += 1) {
      statuses.push((await document({ title: `t${index}`, employee_id: '2', category_id: '3' }, pdf)).status);
    }
    expect(statuses.filter((status) => status === 201)).toHaveLength(60);
    expect(statuses[60]).toBe(429);
    clock.advance(60_000);
    expect((await document({ title: 'later', employee_id: '2', category_id: '3' }, pdf)).status).toBe(201);
  });

  it('patches a v2 person (204) only with the personio:persons:write scope', async () => {
    const { clientId, clientSecret } = fake.credentials as { clientId: string; clientSecret: string };
    const v2Token = async (scope?: string) => {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        ...(scope ? { scope } : {}),
      });
      return fetch(`${new URL(fake.url).origin}/v2/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
    };
    expect((await v2Token('personio:persons:delete')).status).toBe(400);
    const readOnly = ((await (await v2Token('personio:persons:read')).json()) as { access_token: string })
      .access_token;
    const writeOnly = ((await (await v2Token('personio:persons:write')).json()) as { access_token: string })
      .access_token;
    const patch = (bearer: string, body: unknown) =>
      fetch(`${new URL(fake.url).origin}/v2/persons/2`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const body = { custom_attributes: [{ id: 'dynamic_990001', value: 'Leadership Foundations' }] };
    expect((await patch(readOnly, body)).status).toBe(403);
    expect((await patch(writeOnly, { nickname: 'B' })).status).toBe(400);
    expect((await patch(writeOnly, { custom_attributes: [{ id: 'dynamic_1', value: 'x' }] })).status).toBe(
      400,
    );
    expect((await patch(writeOnly, body)).status).toBe(204);
    const persons = await fetch(`${new URL(fake.url).origin}/v2/persons?id=2`, {
      headers: { authorization: `Bearer ${readOnly}` },
    });
    const found = (await persons.json()) as {
      _data: Array<{ custom_attributes: Array<{ id: string; value: unknown }> }>;
    };
    expect(
      found._data[0]?.custom_attributes.find((attribute) => attribute.id === 'dynamic_990001')?.value,
    ).toBe('Leadership Foundations');
    const withoutRead = await fetch(`${new URL(fake.url).origin}/v2/persons`, {
      headers: { authorization: `Bearer ${writeOnly}` },
    });
    expect(withoutRead.status).toBe(403);
  });
});
