/**
 * An imported cohort becomes enrollments with no further step: the import writes the same
 * directory events as SCIM, and the provisioning rules run on them (Thinkific fake as destination).
 * A full-roster re-import without someone expires their enrollments.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRule,
  eventually,
  type ProvisioningSetup,
  setupProvisioning,
} from '../provisioning/helpers.ts';
import { applyImport, importFile } from './support.ts';

let setup: ProvisioningSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('imports trigger provisioning rules', { timeout: 240_000 }, () => {
  it('an imported cohort gets its Thinkific accounts and enrollments; leaving the roster expires them', async () => {
    setup = await setupProvisioning();
    const { t, fake, organizationId, destinationId } = setup;
    const group = await t.api('POST', `/api/v1/organizations/${organizationId}/groups`, {
      body: { name: 'Cohort 7' },
    });
    expect(group.status, group.text).toBe(201);
    await createRule(setup, {
      name: 'Cohort 7 programme',
      condition: { group: 'Cohort 7' },
      effects: [{ destinationId, enrollments: [{ id: 101 }], groups: ['Cohort 7'] }],
    });

    // A semicolon-separated Spanish roster, as Excel writes it, with the cohort in a column.
    const roster = (people: string[]) =>
      ['\uFEFFCorreo electrónico;Nombre;Apellido;Cohorte', ...people].join('\r\n');
    const everyone = ['ana@example.com;Ana;García;Cohort 7', 'luis@example.com;Luis;Pérez;Cohort 7'];
    const first = await importFile(t, organizationId, { filename: 'cohorte.csv', content: roster(everyone) });
    expect(first.counts, JSON.stringify(first)).toEqual({ created: 2 });
    expect((await applyImport(t, organizationId, first.id)).status).toBe('applied');

    await eventually(
      () =>
        fake.enrollmentsOf('ana@example.com').length === 1 &&
        fake.enrollmentsOf('luis@example.com').length === 1 &&
        fake.groupNamesOf('ana@example.com').includes('Cohort 7'),
      'imported people enrolled in Thinkific',
    );
    expect(fake.users.map((user) => user.email).sort()).toEqual(['ana@example.com', 'luis@example.com']);

    // Luis is no longer on the full roster: deactivated, and his enrollment expires.
    const second = await importFile(
      t,
      organizationId,
      { filename: 'cohorte.csv', content: roster(everyone.slice(0, 1)) },
      { fullRoster: 'true' },
    );
    expect(second.counts, JSON.stringify(second)).toMatchObject({ deactivated: 1 });
    await applyImport(t, organizationId, second.id);
    await eventually(() => {
      const [enrollment] = fake.enrollmentsOf('luis@example.com');
      return enrollment?.expiry_date != null && Date.parse(enrollment.expiry_date) <= Date.now();
    }, "the leaver's enrollment expired");
    const [kept] = fake.enrollmentsOf('ana@example.com');
    expect(kept?.expiry_date ?? null).toBeNull();
    expect(fake.users).toHaveLength(2);
  });
});
