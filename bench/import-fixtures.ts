/**
 * Writes the import benchmark's rosters (run in a child process by bench/scenarios/import.ts, so
 * the garbage of generating them does not count in the hub's peak RSS):
 *
 *   node bench/import-fixtures.ts <dir> <rows>
 *
 * `<dir>/participantes.xlsx` (two sheets: instructions, then the roster; shared strings) and
 * `<dir>/participantes.csv` (semicolons and a BOM, as Excel saves "CSV UTF-8" in Spanish locales).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';

export const HEADER = [
  'Correo electrónico',
  'Nombre',
  'Apellido',
  'Número de empleado',
  'Área',
  'Puesto',
  'Cohorte',
];

export function person(i: number, prefix: string): string[] {
  return [
    `${prefix}${i}@bench.example.com`,
    `Nombre${i}`,
    `Apellido${i}`,
    String(100000 + i),
    `Área ${i % 25}`,
    `Puesto ${i % 40}`,
    `Cohorte ${i % 10}`,
  ];
}

async function writeCsv(path: string, rows: number, prefix: string): Promise<void> {
  const out = createWriteStream(path);
  out.write(`\uFEFF${HEADER.join(';')}\r\n`);
  for (let i = 0; i < rows; i++) {
    if (!out.write(`${person(i, prefix).join(';')}\r\n`))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

async function writeXlsx(path: string, rows: number, prefix: string): Promise<void> {
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true });
  const notes = book.addWorksheet('Instrucciones');
  notes.addRow(['Complete la hoja Participantes']).commit();
  notes.commit();
  const sheet = book.addWorksheet('Participantes');
  sheet.addRow(HEADER).commit();
  for (let i = 0; i < rows; i++) sheet.addRow(person(i, prefix)).commit();
  sheet.commit();
  await book.commit();
}

const [dir, rows] = process.argv.slice(2);
if (!dir || !rows) {
  console.error('usage: node bench/import-fixtures.ts <dir> <rows>');
  process.exit(2);
}
await writeXlsx(join(dir, 'participantes.xlsx'), Number(rows), 'x');
await writeCsv(join(dir, 'participantes.csv'), Number(rows), 'c');
