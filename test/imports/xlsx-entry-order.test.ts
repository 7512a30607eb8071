/**
 * Through the API: a workbook whose ZIP stores its sheets first and its shared strings, styles and
 * workbook part after them (ExcelJS's ordinary writer's order) is applied as written, every time,
 * and reading it leaves no temp file behind. The reader's own tests (every order, every writer,
 * 1,000 reads of one file) are in xlsx-reader.test.ts.
 */
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, importFile, usersOf } from './support.ts';
import { excelJsWorkbook, reorderedWorkbook } from './workbooks.ts';

/** Temp files named as the `tmp` package names them for this process (ExcelJS spooled sheets there). */
async function tempFilesOfThisProcess(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith(`tmp-${process.pid}-`));
}

describe('xlsx entry order through the API', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await createTestHub({ workers: true });
  });
  afterAll(async () => t?.close());

  it('applies a workbook whose workbook part, styles and shared strings come after its sheets, leaving no temp file', async () => {
    const before = await tempFilesOfThisProcess();
    const org = await createOrganization(t);
    const written = await excelJsWorkbook({
      Instructions: [['Fill in the second sheet']],
      Participantes: [
        ['Correo', 'Nombre', 'Fecha de alta'],
        ['pablo@example.com', 'Pablo', new Date('2024-03-01T00:00:00Z')],
        ['ines@example.com', 'Inés', new Date('2024-03-02T00:00:00Z')],
      ],
      Otros: [['Email'], ['other@example.com']],
    });
    const file = await reorderedWorkbook(written, {
      first: ['xl/_rels/workbook.xml.rels'],
      last: ['xl/sharedStrings.xml', 'xl/styles.xml', 'xl/workbook.xml'],
    });
    const applied = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: 'Participantes', dryRun: 'false', keepUnmapped: 'true' },
    );
    expect(applied).toMatchObject({ status: 'applied', sheet: 'Participantes', counts: { created: 2 } });
    const users = await usersOf(t, org.id);
    expect(users.map((user) => [user.email, user.profile.fecha_de_alta]).sort()).toEqual([
      ['ines@example.com', '2024-03-02'],
      ['pablo@example.com', '2024-03-01'],
    ]);
    // The same file again: the same values, so nothing changes (a date read as 45352 once would
    // have updated every row).
    const again = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: 'Participantes', dryRun: 'false', keepUnmapped: 'true' },
    );
    expect(again).toMatchObject({ status: 'applied', counts: { unchanged: 2 } });
    expect(await tempFilesOfThisProcess()).toEqual(before);
  });
});
