/**
 * BambooHR training write-back through the BambooHR fake, over HTTP with the API key: types must
 * exist before records, the spec's 201s (POST and PUT), the key owner's permissions (403), the
 * DELETE 405 quirk, and the shapes a client parses (ids as object keys, numbers as strings).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BamboohrFake, startBamboohrFake } from './index.ts';

describe('BambooHR training fake', () => {
  let fake: BamboohrFake;

  beforeAll(async () => {
    fake = await startBamboohrFake();
    fake.seed([
      {
        id: '41',
        employeeNumber: 'E41',
        firstName: 'Ada',
        lastName: 'Lovelace',
        email: 'ada@example.test',
        jobTitle: 'Engineer',
        department: 'R&D',
        status: 'active',
        hireDate: '2024-02-01',
      },
    ]);
  });
  afterAll(async () => {
    await fake.close();
  });

  function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const auth = Buffer.from(`${(fake.credentials as { apiKey: string }).apiKey}:x`).toString('base64');
    return fetch(`${fake.url}${path}`, {
      method,
      headers: {
        authorization: `Basic ${auth}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  it('needs the training type first, then records a completion (201, type as integer)', async () => {
    expect(await (await call('GET', '/training/type')).json()).toEqual([]);
    const record = { completed: '2026-12-01', type: 1, hours: 2, credits: '1.5', instructor: 'Thinkific' };
    const unknownType = await call('POST', '/training/record/employee/41', record);
    expect(unknownType.status).toBe(400);
    expect(unknownType.headers.get('x-bamboohr-error-message')).toMatch(/does not exist/);

    const renewableWithoutFrequency = await call('POST', '/training/type', {
      name: 'Fire safety',
      renewable: true,
    });
    expect(renewableWithoutFrequency.status).toBe(400);
    const dueWithoutRequired = await call('POST', '/training/type', {
      name: 'Fire safety',
      dueFromHireDate: 30,
    });
    expect(dueWithoutRequired.status).toBe(400);
    const created = await call('POST', '/training/type', {
      name: 'Onboarding Essentials',
      category: { name: 'Thinkific' },
    });
    expect(created.status).toBe(201);
    const type = (await created.json()) as { id: number; category: { name: string } };
    expect(type.category.name).toBe('Thinkific');
    const types = (await (await call('GET', '/training/type')).json()) as Record<string, { name: string }>;
    expect(types[String(type.id)]?.name).toBe('Onboarding Essentials');

    const posted = await call('POST', '/training/record/employee/41', {
      ...record,
      type: type.id,
      cost: { currency: 'USD', amount: '100' },
    });
    expect(posted.status).toBe(201);
    expect(await posted.json()).toMatchObject({
      employeeId: '41',
      completed: '2026-12-01',
      type: type.id,
      hours: '2',
      credits: '1.5',
      cost: '100.00 USD',
      notes: null,
    });
    expect(fake.training.recordsOf('41')).toHaveLength(1);
  });

  it('validates the record: date format, unknown employee, JSON body', async () => {
    const type = fake.training.addType({ name: 'Leadership Foundations' });
    expect(
      (await call('POST', '/training/record/employee/41', { completed: '12/01/2026', type: type.id })).status,
    ).toBe(400);
    expect(
      (await call('POST', '/training/record/employee/41', { completed: '2026-02-30', type: type.id })).status,
    ).toBe(400);
    expect(
      (await call('POST', '/training/record/employee/999', { completed: '2026-12-01', type: type.id }))
        .status,
    ).toBe(404);
    const notJson = await call('POST', '/training/record/employee/41', undefined, {
      'content-type': 'text/plain',
    });
    expect(notJson.status).toBe(400);
  });

  it('updates with PUT (201, type as string), refuses locked records (405) and DELETE (405)', async () => {
    const [record] = fake.training.recordsOf('41');
    const id = record?.id as number;
    const put = await call('PUT', `/training/record/${id}`, {
      completed: '2026-12-02',
      notes: 'from Switchboard',
    });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({
      id,
      completed: '2026-12-02',
      notes: 'from Switchboard',
      instructor: 'Thinkific',
      type: String(record?.type),
    });
    expect((await call('PUT', `/training/record/${id}`, { notes: 'no date' })).status).toBe(400);
    fake.training.lockRecord(id);
    expect((await call('PUT', `/training/record/${id}`, { completed: '2026-12-03' })).status).toBe(405);

    const refused = await call('DELETE', `/training/record/${id}`);
    expect(refused.status).toBe(405);
    expect(refused.headers.get('x-bamboohr-error-message')).toBe('Unable to delete training record.');
    const listed = (await (await call('GET', '/training/record/employee/41')).json()) as Record<
      string,
      { type: string }
    >;
    expect(Object.keys(listed)).toEqual([String(id)]);
    expect(typeof listed[String(id)]?.type).toBe('string');
  });

  it("refuses with 403 when the key's owner lacks add-trainings or training-settings access", async () => {
    const type = [...fake.training.types.values()][0] as { id: number };
    fake.training.canAddTrainings = false;
    expect(
      (await call('POST', '/training/record/employee/41', { completed: '2026-12-01', type: type.id })).status,
    ).toBe(403);
    fake.training.canAddTrainings = true;
    fake.training.canManageTrainingSettings = false;
    expect((await call('GET', '/training/type')).status).toBe(403);
    expect((await call('POST', '/training/type', { name: 'New' })).status).toBe(403);
    fake.training.canManageTrainingSettings = true;
  });

  it('keeps the fake-wide rules: a wrong key is 401, no Accept header gets XML, throttling applies', async () => {
    const wrong = await fetch(`${fake.url}/training/type`, {
      headers: {
        authorization: `Basic ${Buffer.from('nope:x').toString('base64')}`,
        accept: 'application/json',
      },
    });
    expect(wrong.status).toBe(401);
    expect(
      (await call('GET', '/training/type', undefined, { accept: '*/*' })).headers.get('content-type'),
    ).toMatch(/xml/);
    fake.throttleNext(1);
    expect((await call('GET', '/training/type')).status).toBe(429);
  });
});
