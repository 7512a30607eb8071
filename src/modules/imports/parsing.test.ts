/** The pure parts of imports: header folding and detection, delimiter and encoding sniffing, cells, escaping. */
import { describe, expect, it } from 'vitest';
import { detectField, foldHeader, resolveColumns } from './columns.ts';
import { EncodingDetector, sniffFormat } from './file-format.ts';
import { csvField, escapeFormula } from './report-csv.ts';
import { looksLikeFormula } from './row-mapping.ts';
import { readCsvRows, sniffDelimiter } from './spreadsheet-reader.ts';
import { dateText, serialToDate } from './xlsx-reader.ts';

describe('headers', () => {
  it.each([
    ['Email', 'email'],
    ['E-mail', 'email'],
    ['E_MAIL', 'email'],
    ['Correo', 'email'],
    ['Correo electrónico', 'email'],
    ['CORREO ELECTRONICO', 'email'],
    ['First name', 'given_name'],
    ['firstName', 'given_name'],
    ['Nombre', 'given_name'],
    ['Apellido', 'family_name'],
    ['Apellidos', 'family_name'],
    ['Employee ID', 'employee_id'],
    ['Número de empleado', 'employee_id'],
    ['Nº de empleado', 'employee_id'],
    ['Department', 'department'],
    ['Área', 'department'],
    ['Cohort', 'group'],
    ['Group', 'group'],
    ['Cohorte', 'group'],
    ['Puesto', 'title'],
  ])('%s is %s', (header, field) => {
    expect(detectField(header)).toBe(field);
  });

  it('leaves unknown headers alone and folds accents and punctuation', () => {
    expect(detectField('Talla de camiseta')).toBeUndefined();
    expect(detectField('')).toBeUndefined();
    expect(foldHeader('  Número   de_Empleado ')).toBe('numero de empleado');
  });

  it('gives each field to the first column only, and keeps the others when asked', () => {
    const columns = resolveColumns(['Email', 'Correo', 'Talla'], { keepUnmapped: true });
    expect(columns.map((column) => [column.target, column.origin])).toEqual([
      ['email', 'detected'],
      ['custom:correo', 'kept'],
      ['custom:talla', 'kept'],
    ]);
  });
});

describe('file format', () => {
  it('tells workbooks from text by their bytes', () => {
    expect(sniffFormat(Buffer.from('PK\x03\x04rest'), 'x.xlsx')).toBe('xlsx');
    expect(sniffFormat(Buffer.from('Email\n'), 'x.csv')).toBe('csv');
    expect(sniffFormat(Buffer.from([0xff, 0xfe, 0x45, 0x00]), 'x.txt')).toBe('csv');
    expect(() => sniffFormat(Buffer.from('PK\x03\x04rest'), 'x.csv')).toThrow(/ZIP container/);
  });

  it('detects the encoding as the bytes stream past, even when the first non-UTF-8 byte comes late', () => {
    const utf8 = new EncodingDetector();
    utf8.push(Buffer.from('Email,Nombre\na@example.com,Jos'));
    utf8.push(Buffer.from('é\n', 'utf8'));
    expect(utf8.result()).toBe('utf-8');
    const bom = new EncodingDetector();
    bom.push(Buffer.from('\uFEFFEmail\n', 'utf8'));
    expect(bom.result()).toBe('utf-8-bom');
    const latin1 = new EncodingDetector();
    latin1.push(Buffer.from('Email,Nombre\n'.repeat(1000)));
    latin1.push(Buffer.from('a@example.com,Iñaki\n', 'latin1'));
    expect(latin1.result()).toBe('windows-1252');
    // A multi-byte character split across two chunks is still UTF-8.
    const split = Buffer.from('ñ', 'utf8');
    const straddle = new EncodingDetector();
    straddle.push(split.subarray(0, 1));
    straddle.push(split.subarray(1));
    expect(straddle.result()).toBe('utf-8');
  });

  it('reads UTF-16 text with a BOM (Excel "Unicode text")', async () => {
    const text = '\uFEFFEmail\tNombre\r\nana@example.com\tAña\r\n';
    const bytes = Buffer.from(text, 'utf16le');
    const detector = new EncodingDetector();
    detector.push(bytes);
    expect(detector.result()).toBe('utf-16le');
    const rows = [];
    for await (const row of readCsvRows([bytes], { encoding: 'utf-16le', delimiter: '\t', sepLine: false }))
      rows.push(row.cells);
    expect(rows).toEqual([
      ['Email', 'Nombre'],
      ['ana@example.com', 'Aña'],
    ]);
  });
});

describe('delimiters', () => {
  it.each([
    ['Email,Name\na@x.com,A\n', ','],
    ['Email;Nombre;Apellido\na@x.com;A;B\n', ';'],
    ['Email\tName\na@x.com\tA\n', '\t'],
    ['Email|Name\na@x.com|A\n', '|'],
    ['"Last, First";Email\n"Doe, J";j@x.com\n', ';'],
    ['Email\na@x.com\n', ','],
  ])('%j uses %j', (sample, delimiter) => {
    expect(sniffDelimiter(sample).delimiter).toBe(delimiter);
  });

  it("honours Excel's sep= line", async () => {
    expect(sniffDelimiter('sep=|\nEmail|Name\n')).toEqual({ delimiter: '|', sepLine: true });
    const rows = [];
    for await (const row of readCsvRows([Buffer.from('sep=|\nEmail|Name\na@x.com|A\n')], {
      encoding: 'utf-8',
      delimiter: '|',
      sepLine: true,
    }))
      rows.push(row);
    expect(rows.map((row) => [row.rowNumber, row.cells])).toEqual([
      [1, ['Email', 'Name']],
      [2, ['a@x.com', 'A']],
    ]);
  });
});

describe('cells and formulas', () => {
  it('reads Excel serial dates in both date systems, to the millisecond', () => {
    // Cells of every type, formulas and errors: test/imports/xlsx-reader.test.ts.
    expect(dateText(serialToDate(45352, false))).toBe('2024-03-01');
    expect(dateText(serialToDate(45352 - 1462, true))).toBe('2024-03-01');
    expect(dateText(serialToDate(45352.5, false))).toBe('2024-03-01T12:00:00.000Z');
    expect(dateText(serialToDate(45352.999999999, false))).toBe('2024-03-02');
    expect(dateText(new Date(Number.NaN))).toBeUndefined();
  });

  it('flags values that would run as formulas, not phone numbers or negative numbers', () => {
    for (const value of ['=1+1', "=cmd|' /C calc'!A0", '@SUM(A1)', '+A1', '-A1', '\tx', '\rx'])
      expect(looksLikeFormula(value), value).toBe(true);
    for (const value of ['+34 600 000 000', '-5', 'Ana', 'a=b', ''])
      expect(looksLikeFormula(value), value).toBe(false);
  });

  it('escapes leading = + - @ tab and CR in CSV output, then quotes', () => {
    expect(escapeFormula('=1+1')).toBe("'=1+1");
    expect(escapeFormula('+34')).toBe("'+34");
    expect(escapeFormula('-x')).toBe("'-x");
    expect(escapeFormula('@x')).toBe("'@x");
    expect(escapeFormula('\tx')).toBe("'\tx");
    expect(escapeFormula('\rx')).toBe("'\rx");
    expect(escapeFormula('Ana')).toBe('Ana');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(null)).toBe('');
  });
});
