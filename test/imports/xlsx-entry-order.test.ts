/**
 * Workbooks whose ZIP entries come in any order are read the same: the workbook part (sheet names)
 * may be stored before the sheets (Excel), after them with the shared strings (ExcelJS's streaming
 * writer), or after them with the shared strings before (ExcelJS's `writeBuffer`, at times).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readXlsxRows, type WorkbookInfo } from '../../src/modules/imports/spreadsheet-reader.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, importFile, reorderedWorkbook, usersOf, workbook } from './support.ts';

const SHEETS = ['xl/worksheets/sheet1.xml', 'xl/worksheets/sheet2.xml', 'xl/worksheets/sheet3.xml'];
const ORDERS: Record<string, string[]> = {
  'workbook part first': ['xl/_rels/workbook.xml.rels', 'xl/workbook.xml', 'xl/sharedStrings.xml', ...SHEETS],
  'shared strings and workbook part after the sheets': [...SHEETS, 'xl/sharedStrings.xml', 'xl/workbook.xml'],
  'shared strings before the sheets, workbook part after them': [
    'xl/_rels/workbook.xml.rels',
    'xl/sharedStrings.xml',
    ...SHEETS,
    'xl/workbook.xml',
  ],
};

async function original(): Promise<Buffer> {
  return workbook({
    Instructions: [['Fill in the second sheet']],
    Participantes: [
      ['Correo', 'Nombre'],
      ['pablo@example.com', 'Pablo'],
      ['ines@example.com', 'Inés'],
    ],
    Otros: [['Email'], ['other@example.com']],
  });
}

async function read(file: Buffer, sheet?: string) {
  const info: WorkbookInfo = { sheets: [] };
  const rows: string[][] = [];
  for await (const row of readXlsxRows(
    async function* () {
      // In small pieces, as the file store hands them out.
      for (let start = 0; start < file.length; start += 512) yield file.subarray(start, start + 512);
    },
    { ...(sheet ? { sheet } : {}), info },
  )) {
    rows.push(row.cells);
  }
  return { rows, info };
}

describe('xlsx entry order', () => {
  for (const [label, order] of Object.entries(ORDERS)) {
    it(`reads the chosen sheet by name, by position and by default: ${label}`, async () => {
      const file = await reorderedWorkbook(await original(), order);
      const byName = await read(file, 'participantes');
      expect(byName.info).toEqual({
        sheet: 'Participantes',
        sheets: ['Instructions', 'Participantes', 'Otros'],
      });
      expect(byName.rows).toEqual([
        ['Correo', 'Nombre'],
        ['pablo@example.com', 'Pablo'],
        ['ines@example.com', 'Inés'],
      ]);
      expect((await read(file, '3')).rows).toEqual([['Email'], ['other@example.com']]);
      const first = await read(file);
      expect(first.info.sheet).toBe('Instructions');
      expect(first.rows).toEqual([['Fill in the second sheet']]);
    });
  }
});

describe('xlsx entry order through the API', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await createTestHub({ workers: true });
  });
  afterAll(async () => t?.close());

  it('applies a workbook whose workbook part comes after its sheets and shared strings', async () => {
    const org = await createOrganization(t);
    const file = await reorderedWorkbook(
      await original(),
      ORDERS['shared strings before the sheets, workbook part after them'] as string[],
    );
    const applied = await importFile(
      t,
      org.id,
      { filename: 'cohorte.xlsx', content: file },
      { sheet: 'Participantes', dryRun: 'false' },
    );
    expect(applied).toMatchObject({ status: 'applied', sheet: 'Participantes', counts: { created: 2 } });
    expect((await usersOf(t, org.id)).map((user) => user.email).sort()).toEqual([
      'ines@example.com',
      'pablo@example.com',
    ]);
  });
});
