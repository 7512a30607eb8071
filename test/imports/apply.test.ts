/**
 * Applying an import: the same events as SCIM, valid rows applied while others are rejected,
 * idempotent re-imports, groups from a column or for the whole file, full-roster deactivation,
 * and the report as formula-safe CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_USER, createScimDirectory } from '../scim/support.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  applyImport,
  createOrganization,
  eventsOf,
  importFile,
  rowsOf,
  usersOf,
  workbook,
} from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub({ workers: true });
});
afterAll(async () => t?.close());

const directoryEvents = (events: any[]) => events.filter((event) => !event.type.startsWith('import.'));

describe('apply', () => {
  it('applies valid rows, rejects the others, and writes the events SCIM writes', async () => {
    const org = await createOrganization(t);
    const group = await t.api('POST', `/api/v1/organizations/${org.id}/groups`, {
      body: { name: 'Cohort A' },
    });
    const csv = [
      'Email,First name,Last name,Employee ID,Department,Cohort',
      'ada@example.com,Ada,Lovelace,E-1,Engineering,Cohort A',
      'broken,Bad,Row,E-2,,',
      'grace@example.com,Grace,Hopper,E-3,Navy,',
    ].join('\n');
    const preview = await importFile(t, org.id, { filename: 'cohort.csv', content: csv });
    expect(preview.counts).toEqual({ created: 2, rejected: 1 });
    const before = await eventsOf(t, org.id);
    const applied = await applyImport(t, org.id, preview.id);
    expect(applied).toMatchObject({
      status: 'applied',
      mode: 'apply',
      counts: { created: 2, rejected: 1 },
      previewCounts: { created: 2, rejected: 1 },
      progress: { phase: 'done', rowsDone: 3, totalRows: 3 },
    });
    const users = await usersOf(t, org.id);
    const ada = users.find((user) => user.email === 'ada@example.com');
    expect(ada).toMatchObject({
      givenName: 'Ada',
      familyName: 'Lovelace',
      displayName: 'Ada Lovelace',
      source: 'import',
      status: 'active',
      externalIds: { employee_id: 'E-1' },
      profile: { employee_id: 'E-1', department: 'Engineering' },
    });
    const events = (await eventsOf(t, org.id)).slice(before.length);
    expect(events.map((event) => event.type)).toEqual([
      'import.apply_requested',
      'user.created',
      'user.created',
      'group.member_added',
      'import.applied',
    ]);
    const created = events.find((event) => event.type === 'user.created' && event.subject.id === ada.id);
    // The shape DirectoryService.createUser and the SCIM server write.
    expect(created).toMatchObject({
      actor: { type: 'import', id: preview.id },
      subject: { type: 'user', id: ada.id },
      data: { source: 'import', user: { id: ada.id, email: 'ada@example.com', status: 'active' } },
    });
    expect(events.find((event) => event.type === 'group.member_added')).toMatchObject({
      subject: { type: 'group', id: group.body.id },
      data: { group: { id: group.body.id, name: 'Cohort A' }, userId: ada.id, source: 'import' },
    });
    const members = await t.api('GET', `/api/v1/groups/${group.body.id}/members`);
    expect(members.body.data.map((user: any) => user.email)).toEqual(['ada@example.com']);
    const rows = await rowsOf(t, org.id, preview.id);
    expect(rows.map((row) => [row.rowNumber, row.outcome, row.userId !== null])).toEqual([
      [2, 'created', true],
      [3, 'rejected', false],
      [4, 'created', true],
    ]);
  });

  it('re-importing the same file changes nothing and emits no user or group events', async () => {
    const org = await createOrganization(t);
    const file = await workbook({
      Roster: [
        ['E-mail', 'Nombre', 'Apellido', 'Área', 'Cohorte'],
        ['uno@example.com', 'Uno', 'Primero', 'Ventas', 'Cohorte 1'],
        ['dos@example.com', 'Dos', 'Segundo', 'Ventas', 'Cohorte 1; Cohorte 2'],
      ],
    });
    const first = await importFile(
      t,
      org.id,
      { filename: 'roster.xlsx', content: file },
      { dryRun: 'false', createGroups: 'true' },
    );
    expect(first).toMatchObject({ status: 'applied', counts: { created: 2 } });
    const groups = await t.api('GET', `/api/v1/organizations/${org.id}/groups`);
    expect(groups.body.data.map((group: any) => [group.name, group.memberCount]).sort()).toEqual([
      ['Cohorte 1', 2],
      ['Cohorte 2', 1],
    ]);
    const before = await eventsOf(t, org.id);
    const preview = await importFile(
      t,
      org.id,
      { filename: 'roster.xlsx', content: file },
      { createGroups: 'true' },
    );
    expect(preview.counts).toEqual({ unchanged: 2 });
    const second = await applyImport(t, org.id, preview.id);
    expect(second.counts).toEqual({ unchanged: 2 });
    const after = (await eventsOf(t, org.id)).slice(before.length);
    expect(directoryEvents(after)).toEqual([]);
    expect(after.map((event) => event.type)).toEqual([
      'import.created',
      'import.apply_requested',
      'import.applied',
    ]);
  });

  it('updates only what changed, never clears a field from an empty cell, and reactivates a deprovisioned person', async () => {
    const org = await createOrganization(t);
    const ana = await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: {
        email: 'ana@example.com',
        givenName: 'Ana',
        familyName: 'Ruiz',
        profile: { department: 'Sales', title: 'Rep' },
      },
    });
    const leo = await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: 'leo@example.com' },
    });
    await t.api('POST', `/api/v1/users/${leo.body.id}/deprovision`);
    const before = await eventsOf(t, org.id);
    const csv = 'Email,First name,Department,Title\nANA@example.com,Ana,Marketing,\nleo@example.com,,,\n';
    const result = await importFile(t, org.id, { filename: 'u.csv', content: csv }, { dryRun: 'false' });
    expect(result.counts).toEqual({ updated: 2 });
    const rows = await rowsOf(t, org.id, result.id);
    expect(rows.map((row) => row.changes)).toEqual([['profile.department'], ['status']]);
    const updated = await t.api('GET', `/api/v1/users/${ana.body.id}`);
    expect(updated.body).toMatchObject({
      familyName: 'Ruiz',
      profile: { department: 'Marketing', title: 'Rep' },
      source: 'api',
    });
    expect((await t.api('GET', `/api/v1/users/${leo.body.id}`)).body.status).toBe('active');
    const events = directoryEvents((await eventsOf(t, org.id)).slice(before.length));
    expect(events.map((event) => event.type)).toEqual(['user.updated', 'user.reactivated']);
    expect(events[0].data.changes).toEqual({
      profile: {
        from: { department: 'Sales', title: 'Rep' },
        to: { department: 'Marketing', title: 'Rep' },
      },
    });
  });

  it('puts everyone of the file in a whole-file group', async () => {
    const org = await createOrganization(t);
    const group = await t.api('POST', `/api/v1/organizations/${org.id}/groups`, {
      body: { name: 'Hybrid 2025' },
    });
    const result = await importFile(
      t,
      org.id,
      { filename: 'g.csv', content: 'Email\na@example.com\nb@example.com\n' },
      { dryRun: 'false', group: 'hybrid 2025' },
    );
    expect(result.counts).toEqual({ created: 2 });
    const members = await t.api('GET', `/api/v1/groups/${group.body.id}/members`);
    expect(members.body.data).toHaveLength(2);
  });
});

describe('full roster', () => {
  it('previews then deactivates the active people missing from the file, except those a SCIM directory manages', async () => {
    const org = await createOrganization(t);
    const create = async (email: string) =>
      (await t.api('POST', `/api/v1/organizations/${org.id}/users`, { body: { email } })).body.id as string;
    const stays = await create('stays@example.com');
    const leaves = await create('leaves@example.com');
    const rejectedButListed = await create('listed@example.com');
    const directory = await createScimDirectory(t, { organizationId: org.id });
    const scimUser = await directory.scim('POST', '/Users', {
      body: {
        schemas: [CORE_USER],
        userName: 'scim@example.com',
        emails: [{ value: 'scim@example.com', primary: true }],
        active: true,
      },
    });
    expect(scimUser.status).toBe(201);
    const csv = 'Email,Cohort\nstays@example.com,\nnew@example.com,\nlisted@example.com,Unknown cohort\n';
    const preview = await importFile(
      t,
      org.id,
      { filename: 'roster.csv', content: csv },
      { fullRoster: 'true' },
    );
    expect(preview.counts).toEqual({ unchanged: 1, created: 1, rejected: 1, deactivated: 1 });
    const deactivations = await rowsOf(t, org.id, preview.id, 'deactivated');
    expect(deactivations).toEqual([
      expect.objectContaining({
        rowNumber: null,
        email: 'leaves@example.com',
        userId: leaves,
        changes: ['status'],
      }),
    ]);
    // The preview changed nobody.
    expect((await t.api('GET', `/api/v1/users/${leaves}`)).body.status).toBe('active');
    const before = await eventsOf(t, org.id);
    const applied = await applyImport(t, org.id, preview.id);
    expect(applied.counts).toEqual({ unchanged: 1, created: 1, rejected: 1, deactivated: 1 });
    expect((await t.api('GET', `/api/v1/users/${leaves}`)).body.status).toBe('deprovisioned');
    expect((await t.api('GET', `/api/v1/users/${stays}`)).body.status).toBe('active');
    expect((await t.api('GET', `/api/v1/users/${rejectedButListed}`)).body.status).toBe('active');
    expect((await t.api('GET', `/api/v1/users/${scimUser.body.id}`)).body.status).toBe('active');
    const events = directoryEvents((await eventsOf(t, org.id)).slice(before.length));
    expect(events.map((event) => [event.type, event.subject.id])).toEqual([
      ['user.created', expect.any(String)],
      ['user.deactivated', leaves],
    ]);
    expect(events[1].data.changes).toEqual({ status: { from: 'active', to: 'deprovisioned' } });
  });

  it('refuses to deactivate anybody when no row of a full roster can be imported', async () => {
    const org = await createOrganization(t);
    const keep = (
      await t.api('POST', `/api/v1/organizations/${org.id}/users`, { body: { email: 'keep@example.com' } })
    ).body.id;
    const result = await importFile(
      t,
      org.id,
      { filename: 'bad.csv', content: 'Email\nnot an email\n' },
      { fullRoster: 'true', dryRun: 'false' },
    );
    expect(result).toMatchObject({ status: 'failed', error: { code: 'import_roster_without_valid_rows' } });
    expect((await t.api('GET', `/api/v1/users/${keep}`)).body.status).toBe('active');
  });
});

describe('formula injection', () => {
  it('stores formula-like values as text and escapes them in the CSV report', async () => {
    const org = await createOrganization(t);
    const csv = [
      'Email,First name,Last name,Notes',
      `ok@example.com,"=cmd|' /C calc'!A0",+SUM(1),@import`,
      `"=HYPERLINK(""http://evil"")@example.com",Eve,Evil,x`,
      'phone@example.com,Pat,-Minus,+34 600 000 000',
    ].join('\n');
    const result = await importFile(
      t,
      org.id,
      { filename: 'inject.csv', content: csv },
      { dryRun: 'false', keepUnmapped: 'true' },
    );
    expect(result.counts).toEqual({ created: 2, rejected: 1 });
    const users = await usersOf(t, org.id);
    const ok = users.find((user) => user.email === 'ok@example.com');
    expect(ok).toMatchObject({
      givenName: "=cmd|' /C calc'!A0",
      familyName: '+SUM(1)',
      profile: { notes: '@import' },
    });
    const rows = await rowsOf(t, org.id, result.id);
    expect(rows[0].warnings.map((warning: any) => warning.code)).toEqual([
      'formula_like_value',
      'formula_like_value',
      'formula_like_value',
    ]);
    expect(rows[1]).toMatchObject({
      outcome: 'rejected',
      reasons: [expect.objectContaining({ code: 'invalid_email' })],
    });
    expect(rows[2].warnings.map((warning: any) => warning.field)).toEqual(['Last name']);

    const report = await t.api('GET', `/api/v1/organizations/${org.id}/imports/${result.id}/report.csv`);
    expect(report.status).toBe(200);
    expect(report.headers['content-type']).toContain('text/csv');
    const lines = report.text.split('\r\n');
    expect(lines.slice(0, 8)).toEqual([
      `import,${result.id}`,
      'file,inject.csv',
      'status,applied',
      'created,2',
      'updated,0',
      'unchanged,0',
      'deactivated,0',
      'rejected,1',
    ]);
    const rejectedLine = lines.find((line) => line.startsWith('3,'));
    // The email cell starts with = and is quoted: the spreadsheet sees text.
    expect(rejectedLine).toContain(`"'=HYPERLINK(""http://evil"")@example.com"`);
    for (const line of lines.filter(Boolean)) {
      for (const cell of parseCsvLine(line)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
  });
});

/** Splits one CSV line (RFC 4180 quoting). */
function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        current += '"';
        index++;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      cells.push(current);
      current = '';
    } else current += char;
  }
  cells.push(current);
  return cells;
}
