/**
 * Dry runs: headers in English and Spanish, CSV from Excel (semicolons, BOM), Latin-1, workbooks
 * with several sheets, and the reasons rows are rejected. A dry run writes nothing to the user store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, eventsOf, importFile, rowsOf, usersOf, workbook } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub({ workers: true });
});
afterAll(async () => t?.close());

describe('column mapping', () => {
  it('reads English headers and previews every row as a creation, writing nothing', async () => {
    const org = await createOrganization(t);
    const csv = [
      'Email,First name,Last name,Employee ID,Department,Job Title,Cohort',
      'ada@example.com,Ada,Lovelace,E-1,Engineering,Analyst,',
      'grace@example.com,Grace,Hopper,E-2,Navy,Admiral,',
    ].join('\n');
    const result = await importFile(t, org.id, { filename: 'roster.csv', content: csv });
    expect(result).toMatchObject({
      status: 'previewed',
      mode: 'preview',
      format: 'csv',
      encoding: 'utf-8',
      delimiter: ',',
      counts: { created: 2 },
      progress: { phase: 'done', rowsDone: 2, totalRows: 2 },
    });
    expect(result.mapping.map((column: any) => column.target)).toEqual([
      'email',
      'given_name',
      'family_name',
      'employee_id',
      'department',
      'title',
      'group',
    ]);
    const rows = await rowsOf(t, org.id, result.id);
    expect(rows.map((row) => [row.rowNumber, row.email, row.outcome])).toEqual([
      [2, 'ada@example.com', 'created'],
      [3, 'grace@example.com', 'created'],
    ]);
    expect(await usersOf(t, org.id)).toEqual([]);
    expect((await eventsOf(t, org.id)).map((event) => event.type)).toEqual([
      'organization.created',
      'import.created',
    ]);
  });

  it('reads Spanish headers with and without accents, in any case', async () => {
    const org = await createOrganization(t);
    const csv = [
      'CORREO ELECTRÓNICO,Nombre,Apellidos,Número de empleado,Área,Puesto,Cohorte',
      'lucia@example.com,Lucía,Pérez,1001,Ventas,Gerente,',
    ].join('\n');
    const result = await importFile(t, org.id, { filename: 'participantes.csv', content: csv });
    expect(result.mapping.map((column: any) => column.target)).toEqual([
      'email',
      'given_name',
      'family_name',
      'employee_id',
      'department',
      'title',
      'group',
    ]);
    const variants = await importFile(t, org.id, {
      filename: 'variantes.csv',
      content: 'correo_electronico,E-Mail de contacto,Apellido,nombre\nana@example.com,x,Ruiz,Ana\n',
    });
    expect(variants.mapping.map((column: any) => [column.header, column.target])).toEqual([
      ['correo_electronico', 'email'],
      ['E-Mail de contacto', 'ignore'],
      ['Apellido', 'family_name'],
      ['nombre', 'given_name'],
    ]);
  });

  it('takes an admin override, keeps unmapped columns as attributes, and saves the mapping for the next file', async () => {
    const org = await createOrganization(t);
    const csv = 'Contacto,Talla,Nombre\nana@example.com,M,Ana\n';
    const first = await importFile(
      t,
      org.id,
      { filename: 'a.csv', content: csv },
      { mapping: JSON.stringify({ Contacto: 'email' }), keepUnmapped: 'true', saveMapping: 'true' },
    );
    expect(first.status).toBe('previewed');
    expect(first.mapping.map((column: any) => [column.target, column.origin])).toEqual([
      ['email', 'override'],
      ['custom:talla', 'kept'],
      ['given_name', 'detected'],
    ]);
    const saved = await t.api('GET', `/api/v1/organizations/${org.id}/import-mapping`);
    expect(saved.body).toMatchObject({
      columns: { contacto: 'email', nombre: 'given_name' },
      keepUnmapped: true,
    });
    // The next file of the organization needs no override.
    const second = await importFile(t, org.id, {
      filename: 'b.csv',
      content: 'CONTACTO;Talla\nluis@example.com;L\n',
    });
    expect(second.mapping.map((column: any) => [column.target, column.origin])).toEqual([
      ['email', 'saved'],
      ['custom:talla', 'kept'],
    ]);
  });

  it('refuses an override naming a column the file does not have, or an unknown field', async () => {
    const org = await createOrganization(t);
    const { upload } = await import('./support.ts');
    const typo = await upload(
      t,
      org.id,
      { filename: 'a.csv', content: 'Email\na@example.com\n' },
      {
        mapping: JSON.stringify({ Emial: 'email' }),
      },
    );
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ code: 'mapping_unknown_column', field: 'mapping.emial' });
    const field = await upload(
      t,
      org.id,
      { filename: 'a.csv', content: 'Email\na@example.com\n' },
      {
        mapping: JSON.stringify({ Email: 'mail' }),
      },
    );
    expect(field.status).toBe(400);
    expect(field.body.code).toBe('mapping_invalid_target');
  });
});

describe('encodings and delimiters', () => {
  it('reads a semicolon CSV saved by Excel with a UTF-8 BOM', async () => {
    const org = await createOrganization(t);
    const csv = `\uFEFFCorreo electrónico;Nombre;Apellido\r\nmaria@example.com;María;Núñez\r\n"jose@example.com";"José; el segundo";Ibáñez\r\n`;
    const result = await importFile(t, org.id, { filename: 'excel.csv', content: Buffer.from(csv, 'utf8') });
    expect(result).toMatchObject({
      status: 'previewed',
      encoding: 'utf-8-bom',
      delimiter: ';',
      counts: { created: 2 },
    });
    expect(result.headers).toEqual(['Correo electrónico', 'Nombre', 'Apellido']);
    const applied = await importFile(
      t,
      org.id,
      { filename: 'excel.csv', content: Buffer.from(csv, 'utf8') },
      { dryRun: 'false' },
    );
    expect(applied.status).toBe('applied');
    const users = await usersOf(t, org.id);
    expect(users.map((user) => [user.email, user.givenName, user.familyName]).sort()).toEqual([
      ['jose@example.com', 'José; el segundo', 'Ibáñez'],
      ['maria@example.com', 'María', 'Núñez'],
    ]);
  });

  it('detects a Latin-1 (Windows-1252) CSV and decodes its accents', async () => {
    const org = await createOrganization(t);
    const csv = 'Email\tNombre\tÁrea\r\nnunez@example.com\tIñaki\tDirección\r\n';
    const result = await importFile(
      t,
      org.id,
      { filename: 'latin1.csv', content: Buffer.from(csv, 'latin1') },
      { dryRun: 'false' },
    );
    expect(result).toMatchObject({ status: 'applied', encoding: 'windows-1252', delimiter: '\t' });
    const [user] = await usersOf(t, org.id);
    expect(user).toMatchObject({ givenName: 'Iñaki', profile: { department: 'Dirección' } });
  });

  it('reads the sheet chosen by name or position in a workbook with several sheets', async () => {
    const org = await createOrganization(t);
    const file = await workbook({
      Instructions: [['Fill in the second sheet'], ['Thanks']],
      Participantes: [
        ['Correo', 'Nombre', 'Apellido', 'Fecha de alta'],
        [
          'pablo@example.com',
          'Pablo',
          { formula: 'UPPER("ruiz")', result: 'RUIZ' },
          new Date('2024-03-01T00:00:00Z'),
        ],
        ['ines@example.com', 'Inés', 'Gil', 12345],
      ],
      Otros: [['Email'], ['other@example.com']],
    });
    const byName = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: 'participantes', keepUnmapped: 'true' },
    );
    expect(byName).toMatchObject({
      status: 'previewed',
      format: 'xlsx',
      sheet: 'Participantes',
      sheets: ['Instructions', 'Participantes', 'Otros'],
      counts: { created: 2 },
    });
    const byPosition = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: '3' },
    );
    expect(byPosition).toMatchObject({ sheet: 'Otros', counts: { created: 1 } });
    const applied = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: 'Participantes', keepUnmapped: 'true', dryRun: 'false' },
    );
    expect(applied.status).toBe('applied');
    const users = await usersOf(t, org.id);
    const pablo = users.find((user) => user.email === 'pablo@example.com');
    // A formula cell yields its cached result as text; dates and numbers become text.
    expect(pablo).toMatchObject({ familyName: 'RUIZ', profile: { fecha_de_alta: '2024-03-01' } });
    expect(users.find((user) => user.email === 'ines@example.com')?.profile.fecha_de_alta).toBe('12345');
  });

  it('names the sheets when the one asked for does not exist; the first sheet without an email column is refused', async () => {
    const org = await createOrganization(t);
    const { upload } = await import('./support.ts');
    const file = await workbook({ Hoja1: [['Notas'], ['x']], Hoja2: [['Email'], ['a@example.com']] });
    const missing = await upload(t, org.id, { filename: 'w.xlsx', content: file }, { sheet: 'Hoja9' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'import_sheet_not_found', field: 'sheet' });
    expect(missing.body.detail).toContain('Hoja1, Hoja2');
    const first = await upload(t, org.id, { filename: 'w.xlsx', content: file });
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ code: 'import_no_email_column', field: 'mapping' });
  });
});

describe('rejected rows', () => {
  it('rejects duplicates, invalid emails, missing required fields, unknown groups and other organizations’ domains', async () => {
    const other = await createOrganization(t, { domain: `other-${process.pid}.example` });
    expect(other.id).toBeTruthy();
    const org = await createOrganization(t);
    await t.api('POST', `/api/v1/organizations/${org.id}/groups`, { body: { name: 'Cohort A' } });
    const csv = [
      'Email,First name,Last name,Cohort',
      'ok@example.com,Ok,Person,Cohort A',
      'OK@example.com,Dup,Person,Cohort A',
      'not-an-email,Bad,Email,',
      ',No,Email,',
      'nofirst@example.com,,Person,',
      `someone@other-${process.pid}.example,Other,Org,`,
      'lost@example.com,Lost,Person,Cohort Z',
    ].join('\n');
    const result = await importFile(
      t,
      org.id,
      { filename: 'mixed.csv', content: csv },
      { required: 'given_name' },
    );
    expect(result.counts).toEqual({ created: 1, rejected: 6 });
    const rows = await rowsOf(t, org.id, result.id);
    expect(
      rows.map((row) => [row.rowNumber, row.outcome, row.reasons.map((reason: any) => reason.code)]),
    ).toEqual([
      [2, 'created', []],
      [3, 'rejected', ['duplicate_row']],
      [4, 'rejected', ['invalid_email']],
      [5, 'rejected', ['missing_required_field']],
      [6, 'rejected', ['missing_required_field']],
      [7, 'rejected', ['email_domain_of_another_organization']],
      [8, 'rejected', ['unknown_group']],
    ]);
    expect(rows[1].reasons[0].message).toContain('row 2');
    expect(rows[6].reasons[0].message).toContain('Cohort Z');
    const rejected = await rowsOf(t, org.id, result.id, 'rejected');
    expect(rejected).toHaveLength(6);
  });

  it('creates missing groups only when asked to', async () => {
    const org = await createOrganization(t);
    const csv = 'Email,Grupo\nnew@example.com,Cohorte 2025\n';
    const preview = await importFile(
      t,
      org.id,
      { filename: 'g.csv', content: csv },
      { createGroups: 'true' },
    );
    expect(preview.counts).toEqual({ created: 1 });
    const groups = await t.api('GET', `/api/v1/organizations/${org.id}/groups`);
    expect(groups.body.data).toEqual([]);
  });
});
