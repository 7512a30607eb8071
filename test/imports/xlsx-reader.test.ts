/**
 * The workbook reader, from memory (no hub): the same bytes give the same rows every time, in any
 * ZIP entry order and from several writers; every kind of cell (shared and inline strings, rich
 * text, dates in built-in and custom formats and the 1904 system, numbers, booleans, formulas
 * with cached results, errors); and hostile files (ZIP bombs, DTDs, corrupt or truncated data)
 * refused with the part named, without temp files, and, for the bombs, in a process whose heap is
 * capped at 256 MB that stays alive.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkbookInfo } from '../../src/modules/imports/spreadsheet-reader.ts';
import {
  isDateFormatCode,
  readXlsxRows,
  WorkbookFormatError,
} from '../../src/modules/imports/xlsx-reader.ts';
import { bufferFile, type RandomAccessFile } from '../../src/modules/imports/zip-archive.ts';
import { AppError } from '../../src/platform/errors.ts';
import {
  excelJsStreamedWorkbook,
  excelJsWorkbook,
  HAND_BUILT_ROWS,
  handBuiltWorkbook,
  reorderedWorkbook,
  type Sheets,
  sharedStringsBomb,
  workbookWithSheet,
  zipOf,
} from './workbooks.ts';

const LIMIT = 128 * 2 ** 20;

async function read(
  file: Buffer | RandomAccessFile,
  options: { sheet?: string; maxPartBytes?: number } = {},
): Promise<{ rows: Array<[number, string[]]>; info: WorkbookInfo; problems: unknown[] }> {
  const info: WorkbookInfo = { sheets: [] };
  const rows: Array<[number, string[]]> = [];
  const problems: unknown[] = [];
  for await (const row of readXlsxRows(Buffer.isBuffer(file) ? bufferFile(file) : file, {
    ...(options.sheet === undefined ? {} : { sheet: options.sheet }),
    info,
    maxPartBytes: options.maxPartBytes ?? LIMIT,
  })) {
    rows.push([row.rowNumber, row.cells]);
    if (row.problems.length) problems.push([row.rowNumber, row.problems]);
  }
  return { rows, info, problems };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/**
 * The file read with each read answered at a different moment (at once, after a microtask, after
 * a turn of the event loop), in a sequence fixed by `seed`: a reader whose result depended on
 * timing, as ExcelJS's streaming reader's did, would give different rows from one seed to another.
 */
function jitteryFile(buffer: Buffer, seed: number): RandomAccessFile {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return {
    size: buffer.length,
    async read(offset, length) {
      const draw = next();
      if (draw < 0.3) await new Promise((resolve) => setImmediate(resolve));
      else if (draw < 0.6) await Promise.resolve();
      return buffer.subarray(offset, offset + length);
    },
  };
}

/** The same roster through each writer. */
const ROSTER: Sheets = {
  Instructions: [['Fill in the second sheet'], ['Thanks']],
  Participantes: [
    ['Correo', 'Nombre', 'Apellido', 'Fecha de alta', 'Activo', 'Puntos', 'Nota'],
    [
      'pablo@example.com',
      'Pablo',
      { formula: 'UPPER("ruiz")', result: 'RUIZ' },
      new Date('2024-03-01T00:00:00Z'),
      true,
      12345,
      { richText: [{ text: 'Muy ' }, { font: { bold: true }, text: 'bien' }] },
    ],
    ['ines@example.com', 'Inés', 'Gil', new Date('2024-03-01T12:30:00Z'), false, 0.5, 'A & B <c>'],
  ],
  Otros: [['Email'], ['other@example.com']],
};
const ROSTER_ROWS: Record<string, Array<[number, string[]]>> = {
  Instructions: [
    [1, ['Fill in the second sheet']],
    [2, ['Thanks']],
  ],
  Participantes: [
    [1, ['Correo', 'Nombre', 'Apellido', 'Fecha de alta', 'Activo', 'Puntos', 'Nota']],
    [2, ['pablo@example.com', 'Pablo', 'RUIZ', '2024-03-01', 'TRUE', '12345', 'Muy bien']],
    [3, ['ines@example.com', 'Inés', 'Gil', '2024-03-01T12:30:00.000Z', 'FALSE', '0.5', 'A & B <c>']],
  ],
  Otros: [
    [1, ['Email']],
    [2, ['other@example.com']],
  ],
};

const WRITERS: Record<string, () => Promise<Buffer>> = {
  "ExcelJS's ordinary writer": () => excelJsWorkbook(ROSTER),
  "ExcelJS's streaming writer, shared strings": () =>
    excelJsStreamedWorkbook(ROSTER, { sharedStrings: true }),
  "ExcelJS's streaming writer, inline strings": () =>
    excelJsStreamedWorkbook(ROSTER, { sharedStrings: false }),
};

const ORDERS: Record<string, Parameters<typeof reorderedWorkbook>[1]> = {
  'as written': {},
  'shared strings last': { last: ['xl/sharedStrings.xml'] },
  'workbook part last': { last: ['xl/workbook.xml'] },
  'styles last': { last: ['xl/styles.xml'] },
  'relationships first, shared strings, styles and workbook part after the sheets': {
    first: ['xl/_rels/workbook.xml.rels'],
    last: ['xl/sharedStrings.xml', 'xl/styles.xml', 'xl/workbook.xml'],
  },
  'workbook part, styles and shared strings first': {
    first: [
      '[Content_Types].xml',
      '_rels/.rels',
      'xl/workbook.xml',
      'xl/_rels/workbook.xml.rels',
      'xl/styles.xml',
      'xl/sharedStrings.xml',
    ],
  },
  reversed: { reverse: true },
};

describe('the same bytes give the same rows', () => {
  it('reads one workbook 1,000 times, its reads timed differently each time, with identical rows', async () => {
    // The order that ExcelJS's streaming reader read wrongly about one time in twenty: the sheets
    // first, then the shared strings, the styles and the workbook part.
    const file = await reorderedWorkbook(handBuiltWorkbook(), {
      last: ['xl/sharedStrings.xml', 'xl/styles.xml', 'xl/workbook.xml'],
    });
    const expected = JSON.stringify(HAND_BUILT_ROWS.Participantes);
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= 1000; seed++) {
      const { rows } = await read(jitteryFile(file, seed), { sheet: 'Participantes' });
      const key = JSON.stringify(rows);
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect([...outcomes.keys()]).toEqual([expected]);
    expect(outcomes.get(expected)).toBe(1000);
  });
});

describe('any writer, any ZIP entry order', () => {
  for (const [writer, write] of Object.entries(WRITERS)) {
    it(`reads every sheet of a workbook from ${writer}, in every entry order`, async () => {
      const written = await write();
      for (const [label, order] of Object.entries(ORDERS)) {
        const file = label === 'as written' ? written : await reorderedWorkbook(written, order);
        for (const [sheet, rows] of Object.entries(ROSTER_ROWS)) {
          const result = await read(file, { sheet });
          expect(result.rows, `${label}: ${sheet}`).toEqual(rows);
          expect(result.info).toEqual({ sheet, sheets: ['Instructions', 'Participantes', 'Otros'] });
        }
        expect((await read(file, { sheet: '2' })).rows, `${label}: sheet 2`).toEqual(
          ROSTER_ROWS.Participantes,
        );
        expect((await read(file)).rows, `${label}: the first sheet`).toEqual(ROSTER_ROWS.Instructions);
      }
    });
  }

  it('reads a workbook written as Excel and the Open XML SDK write one: every kind of cell', async () => {
    const variants = {
      deflated: handBuiltWorkbook(),
      'stored, prefixed element names (x:row)': handBuiltWorkbook({ prefix: 'x', stored: true }),
      '1904 date system': handBuiltWorkbook({ date1904: true }),
    };
    for (const [label, built] of Object.entries(variants)) {
      for (const order of [{}, { reverse: true }, { last: ['xl/workbook.xml', '_rels/.rels'] }]) {
        const file = Object.keys(order).length ? await reorderedWorkbook(built, order) : built;
        for (const [sheet, rows] of Object.entries(HAND_BUILT_ROWS)) {
          expect((await read(file, { sheet })).rows, `${label} ${JSON.stringify(order)}: ${sheet}`).toEqual(
            rows,
          );
        }
        const info = (await read(file)).info;
        expect(info).toEqual({ sheet: 'Instrucciones', sheets: ['Instrucciones', 'Participantes', 'Otros'] });
      }
    }
  });

  it('reports a formula without a saved result and an error value as problems of their cells', async () => {
    const file = await excelJsWorkbook({
      Hoja1: [
        ['Email', 'Name', 'Score'],
        ['a@example.com', { formula: 'CONCAT("A","B")' }, 1],
        ['b@example.com', { error: '#N/A' }, { formula: '1/0', result: { error: '#DIV/0!' } }],
      ],
    });
    const { rows, problems } = await read(file);
    expect(rows).toEqual([
      [1, ['Email', 'Name', 'Score']],
      [2, ['a@example.com', '', '1']],
      [3, ['b@example.com', '', '']],
    ]);
    expect(problems).toEqual([
      [
        2,
        [{ column: 1, code: 'formula_without_value', message: expect.stringContaining('never evaluated') }],
      ],
      [
        3,
        [
          { column: 1, code: 'cell_error', message: 'The cell holds the error #N/A.' },
          { column: 2, code: 'cell_error', message: "The formula's saved result is #DIV/0!." },
        ],
      ],
    ]);
  });

  it('tells date formats from other number formats', () => {
    for (const code of [
      'yyyy-mm-dd',
      'dd/mm/yyyy;@',
      'd-mmm-yy',
      'h:mm AM/PM',
      '[h]:mm:ss',
      '[$-es-ES]d" de "mmmm',
      'mm:ss.0',
    ])
      expect(isDateFormatCode(code), code).toBe(true);
    for (const code of [
      'General',
      '0.00',
      '#,##0.00 "días"',
      '0%',
      '[Red]-#,##0',
      '@',
      '0.00E+00',
      '"Year" 0',
    ])
      expect(isDateFormatCode(code), code).toBe(false);
  });
});

describe('choosing the sheet', () => {
  it('by name in any case, by position, the first by default; a missing one lists the sheets', async () => {
    const file = handBuiltWorkbook();
    expect((await read(file, { sheet: ' PARTICIPANTES ' })).info.sheet).toBe('Participantes');
    expect((await read(file, { sheet: '3' })).rows).toEqual(HAND_BUILT_ROWS.Otros);
    const missing = await refusal(read(file, { sheet: 'Hoja9' }));
    expect(missing).toMatchObject({ code: 'import_sheet_not_found', field: 'sheet' });
    expect(missing.detail).toContain('Instrucciones, Participantes, Otros');
    expect((await refusal(read(file, { sheet: '4' }))).code).toBe('import_sheet_not_found');
  });
});

describe('bad and hostile files', () => {
  const sheetOf = (rows: string) =>
    `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
  const header = '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>';

  it('refuses a ZIP that is not a workbook, and a truncated one', async () => {
    const notes = zipOf([{ name: 'notes.txt', data: Buffer.from('hello') }]);
    expect((await refusal(read(notes))).code).toBe('import_xlsx_no_sheets');
    const whole = handBuiltWorkbook();
    const truncated = await refusal(read(whole.subarray(0, whole.length - 200)));
    expect(truncated).toMatchObject({ code: 'import_xlsx_unreadable', field: 'file' });
    expect(truncated.detail).toContain('not a readable ZIP archive');
  });

  it('refuses corrupt data, naming the part, with the cause kept for the log', async () => {
    const file = Buffer.from(handBuiltWorkbook());
    // Damage the shared strings' deflated data.
    const at = file.indexOf(Buffer.from('xl/sharedStrings.xml')) + 'xl/sharedStrings.xml'.length + 10;
    for (let index = at; index < at + 8; index++) file[index] = (file[index] as number) ^ 0xff;
    const error = await refusal(read(file, { sheet: 'Participantes' }));
    expect(error).toMatchObject({ code: 'import_xlsx_unreadable', field: 'file' });
    expect(error.detail).toContain('xl/sharedStrings.xml');
    expect(error.cause).toBeDefined();
  });

  it('refuses malformed XML, a DTD, and a reference to a shared string that does not exist', async () => {
    const malformed = await refusal(
      read(workbookWithSheet(sheetOf(`${header}<row r="2"><c r="A2"><v>1</c></row>`))),
    );
    expect(malformed.detail).toMatch(/xl\/worksheets\/sheet1\.xml is not well-formed XML/);
    expect(malformed.cause).toBeInstanceOf(WorkbookFormatError);
    const entities = `<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${sheetOf(`<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row>`)}`;
    expect((await refusal(read(workbookWithSheet(entities)))).detail).toContain('declares a DTD');
    const dangling = await refusal(
      read(workbookWithSheet(sheetOf('<row r="1"><c r="A1" t="s"><v>7</v></c></row>'))),
    );
    expect(dangling.detail).toContain('refers to shared string 7');
  });

  it('refuses a part over the limit before inflating it, naming the part and the limit', async () => {
    const rows = Array.from(
      { length: 20_000 },
      (_, index) => `<row r="${index + 2}"><c t="inlineStr"><is><t>p${index}@example.com</t></is></c></row>`,
    );
    const file = workbookWithSheet(sheetOf(header + rows.join('')));
    expect((await read(file)).rows).toHaveLength(20_001);
    const error = await refusal(read(file, { maxPartBytes: 2 ** 20 }));
    expect(error).toMatchObject({
      code: 'import_file_too_large_uncompressed',
      status: 413,
      field: 'file',
      extra: { part: 'xl/worksheets/sheet1.xml', limit: 2 ** 20 },
    });
    expect(error.detail).toContain('xl/worksheets/sheet1.xml inflates to more than 1048576 bytes (1 MiB)');
    expect(error.fix).toContain('IMPORT_MAX_UNCOMPRESSED_BYTES');
    // A part that says it is small and inflates to more is stopped at the size it declared.
    const lying = await refusal(
      read(workbookWithSheet(sheetOf(header + rows.join('')), { lieAboutSize: true })),
    );
    expect(lying.detail).toContain('inflates to more than the 1024 bytes its directory entry says');
  });

  it('writes no temp file, while reading or after, even when the reading is abandoned', async () => {
    const ours = async () =>
      (await readdir(tmpdir())).filter((name) => name.startsWith(`tmp-${process.pid}-`));
    const before = await ours();
    // The sheets before the shared strings: the order ExcelJS's streaming reader spooled to temp files.
    const file = await excelJsWorkbook(ROSTER);
    const rows = readXlsxRows(bufferFile(file), {
      sheet: 'Participantes',
      info: { sheets: [] },
      maxPartBytes: LIMIT,
    });
    expect((await rows.next()).value?.cells[0]).toBe('Correo');
    expect(await ours()).toEqual(before);
    await rows.return(undefined);
    await read(file, { sheet: 'Otros' });
    expect(await ours()).toEqual(before);
  });
});

describe('ZIP bombs, with the heap capped at 256 MB', () => {
  const script = fileURLToPath(new URL('./read-workbook-process.ts', import.meta.url));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-xlsx-bombs-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Reads the file in a child process with `--max-old-space-size=256`; its JSON line, or its death. */
  async function readCapped(name: string, file: Buffer) {
    const path = join(dir, name);
    await writeFile(path, file);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=256', script, path],
      {
        maxBuffer: 2 ** 20,
      },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string);
  }

  it('refuses shared strings of 1 GiB, of 1 GiB behind a small declared size, and one 100 MiB value', async () => {
    const [honest, lying, oneValue] = await Promise.all([
      readCapped('honest.xlsx', sharedStringsBomb({ mebibytes: 1024 })),
      readCapped('lying.xlsx', sharedStringsBomb({ mebibytes: 1024, declaredSize: 4096 })),
      readCapped('one-value.xlsx', sharedStringsBomb({ mebibytes: 100, oneValue: true })),
    ]);
    expect(honest.problem).toMatchObject({
      code: 'import_file_too_large_uncompressed',
      status: 413,
      extra: { part: 'xl/sharedStrings.xml', limit: LIMIT },
    });
    expect(honest.problem.detail).toContain(
      'xl/sharedStrings.xml inflates to more than 134217728 bytes (128 MiB)',
    );
    expect(lying.problem).toMatchObject({ code: 'import_xlsx_unreadable', status: 400 });
    expect(lying.problem.detail).toContain('xl/sharedStrings.xml inflates to more than the 4096 bytes');
    expect(oneValue.problem).toMatchObject({ code: 'import_xlsx_unreadable', status: 400 });
    expect(oneValue.problem.detail).toContain('longer than 1048576 characters');
    for (const outcome of [honest, lying, oneValue]) expect(outcome.heapUsedMb).toBeLessThan(128);
  });
});
