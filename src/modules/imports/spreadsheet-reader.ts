/**
 * Streaming readers: rows of a CSV file (csv-parse) or of one sheet of an .xlsx workbook (ExcelJS'
 * streaming WorkbookReader), as text cells. Nothing is loaded whole: a 100,000-row file passes
 * through in constant memory (ExcelJS keeps the workbook's shared strings table).
 *
 * Every value comes out as text and is never evaluated. A formula cell yields the result Excel
 * cached when it saved the file, as text; a formula without a cached result, or an error value
 * (`#N/A`), is reported as a problem of that cell and the row is rejected.
 */
import { Readable } from 'node:stream';
import { DOMParser } from '@xmldom/xmldom';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import unzipper from 'unzipper';
import { InvalidInput } from '../../platform/errors.ts';
import { decoderLabel, type TextEncoding } from './file-format.ts';

export interface CellProblem {
  column: number;
  code: 'formula_without_value' | 'cell_error';
  message: string;
}

export interface RawRow {
  /** The row number a spreadsheet application shows (1-based, the header included). */
  rowNumber: number;
  cells: string[];
  problems: CellProblem[];
}

export interface WorkbookInfo {
  /** The sheet read. */
  sheet?: string;
  /** Every sheet of the workbook, in workbook order. */
  sheets: string[];
}

export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

/** Decodes a byte stream to text in the given encoding. */
async function* decode(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  encoding: TextEncoding,
): AsyncGenerator<string> {
  const decoder = new TextDecoder(decoderLabel(encoding));
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/**
 * Picks the delimiter from the start of the text: Excel's `sep=;` first line when present, else the
 * candidate that splits the header line into the most columns and the next lines as often.
 */
export function sniffDelimiter(sample: string): { delimiter: string; sepLine: boolean } {
  const text = sample.replace(/^\uFEFF/, '');
  const sep = /^sep=(.)\r?\n/i.exec(text);
  if (sep) return { delimiter: sep[1] as string, sepLine: true };
  const lines = splitLines(text, 10);
  let best: { delimiter: string; score: number } = { delimiter: ',', score: 0 };
  for (const delimiter of CSV_DELIMITERS) {
    const counts = lines.map((line) => countOutsideQuotes(line, delimiter));
    const header = counts[0] ?? 0;
    if (header === 0) continue;
    // Lines that agree with the header's column count weigh in; ragged ones count less.
    const agreeing = counts.slice(1).filter((count) => count === header).length;
    const score = header * (1 + agreeing);
    if (score > best.score) best = { delimiter, score };
  }
  return { delimiter: best.delimiter, sepLine: false };
}

/** The first `max` non-blank lines, line breaks inside quotes kept. */
function splitLines(text: string, max = 10): string[] {
  const lines: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (lines.length >= max) return lines;
    if (char === '"') quoted = !quoted;
    if ((char === '\n' || char === '\r') && !quoted) {
      if (current.trim()) lines.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  if (current.trim()) lines.push(current);
  return lines;
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let count = 0;
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (char === delimiter && !quoted) count++;
  }
  return count;
}

/** Reads enough of a text file to sniff its delimiter. */
export async function sampleText(source: AsyncIterable<Uint8Array>, encoding: TextEncoding): Promise<string> {
  let sample = '';
  for await (const text of decode(source, encoding)) {
    sample += text;
    if (sample.length >= 64 * 1024) break;
  }
  return sample;
}

/** Rows of a CSV file, the header first. Blank lines count as rows (as a spreadsheet shows them) but are not yielded. */
export async function* readCsvRows(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: { encoding: TextEncoding; delimiter: string; sepLine: boolean },
): AsyncGenerator<RawRow> {
  const parser = parse({
    delimiter: options.delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    from_line: options.sepLine ? 2 : 1,
  });
  const input = Readable.from(decode(source, options.encoding));
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let rowNumber = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNumber++;
      if (record.every((cell) => cell.trim() === '')) continue;
      yield { rowNumber, cells: record, problems: [] };
    }
  } catch (error) {
    if (error instanceof InvalidInput) throw error;
    throw new InvalidInput({
      code: 'import_csv_unreadable',
      detail: `The CSV file cannot be read after row ${rowNumber}: ${(error as Error).message}`,
      field: 'file',
      fix: 'Check the quoting around that row, or export the file again from the spreadsheet application.',
    });
  } finally {
    input.destroy();
  }
}

/** How a sheet is chosen: by name (case-insensitive) or by position (`2`, from 1). */
function sheetMatches(wanted: string, name: string, position: number, names: readonly string[]): boolean {
  const target = wanted.trim().toLowerCase();
  if (name.trim().toLowerCase() === target) return true;
  const byName = names.some((candidate) => candidate.trim().toLowerCase() === target);
  return !byName && /^\d+$/.test(target) && Number(target) === position;
}

type CellValue = ExcelJS.CellValue;

/** A cell's value as text, or the problem that prevents reading it. */
export function cellText(value: CellValue): string | Omit<CellProblem, 'column'> {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof value === 'object') {
    if ('richText' in value && Array.isArray(value.richText))
      return value.richText.map((part) => part.text).join('');
    if ('formula' in value || 'sharedFormula' in value) {
      const result = (value as { result?: unknown }).result;
      if (result === undefined || result === null) {
        return {
          code: 'formula_without_value',
          message: 'The cell holds a formula without a saved result; formulas are never evaluated.',
        };
      }
      if (typeof result === 'object' && result && 'error' in result) {
        return { code: 'cell_error', message: `The formula's saved result is ${String(result.error)}.` };
      }
      return cellText(result as CellValue);
    }
    if ('error' in value)
      return { code: 'cell_error', message: `The cell holds the error ${String(value.error)}.` };
    if ('text' in value && typeof value.text === 'string') return value.text;
    if ('hyperlink' in value && typeof value.hyperlink === 'string')
      return value.hyperlink.replace(/^mailto:/i, '');
  }
  return String(value);
}

/** A sheet as ExcelJS's workbook model lists it (the shape of its `WorkbookXform` model). */
interface WorkbookSheet {
  name: string;
  id: number;
  rId: string;
  state?: string;
}

const RELATIONSHIPS_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/**
 * The workbook's sheets (names in tab order) when its ZIP stores `xl/workbook.xml` after a
 * worksheet; `undefined` when the workbook part comes first (Excel, LibreOffice, Google Sheets),
 * or the file cannot be read this way (the real read then says why).
 *
 * ExcelJS's streaming reader names a sheet from the workbook part it has read by then. When the
 * shared strings and the workbook's relationships come before the sheets and the workbook part
 * after them (ExcelJS's own `writeBuffer` sometimes writes that order), it parses the sheets at
 * once and fails ("Cannot read properties of undefined (reading 'sheets')"). This pass finds the
 * workbook part first; in the usual order it stops after the first few entries.
 */
async function sheetsStoredLate(source: AsyncIterable<Uint8Array>): Promise<WorkbookSheet[] | undefined> {
  const stream = Readable.from(source);
  const zip = unzipper.Parse({ forceStream: true });
  stream.on('error', (error) => zip.destroy(error));
  stream.pipe(zip);
  let sawWorksheet = false;
  try {
    for await (const entry of zip as AsyncIterable<unzipper.Entry>) {
      if (entry.path === 'xl/workbook.xml') {
        if (!sawWorksheet) {
          entry.autodrain();
          return undefined;
        }
        const xml = await textUpTo(entry, MAX_WORKBOOK_PART_BYTES);
        return xml === undefined ? undefined : workbookSheets(xml);
      }
      if (/^xl\/worksheets\/sheet\d+\.xml$/.test(entry.path)) sawWorksheet = true;
      entry.autodrain();
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    stream.destroy();
    zip.destroy();
  }
}

/** A workbook part lists sheets and defined names: a few KB. Anything larger is not read here. */
const MAX_WORKBOOK_PART_BYTES = 4 * 2 ** 20;

/** An entry's text, or `undefined` once it inflates past `limit` bytes (a ZIP bomb, say). */
async function textUpTo(entry: unzipper.Entry, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The `<sheet>` elements of `xl/workbook.xml`, in order; none for a part with a DTD. */
function workbookSheets(xml: string): WorkbookSheet[] | undefined {
  // Entity declarations have no place in a workbook part; never expand them.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return undefined;
  const document = new DOMParser({
    errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} },
  }).parseFromString(xml, 'text/xml');
  const sheets: WorkbookSheet[] = [];
  const elements = document.getElementsByTagNameNS('*', 'sheet');
  for (let index = 0; index < elements.length; index++) {
    const element = elements.item(index);
    if (!element) continue;
    const state = element.getAttribute('state');
    sheets.push({
      name: element.getAttribute('name') ?? '',
      id: Number.parseInt(element.getAttribute('sheetId') ?? '', 10),
      rId: element.getAttributeNS(RELATIONSHIPS_NS, 'id') ?? element.getAttribute('r:id') ?? '',
      ...(state ? { state } : {}),
    });
  }
  return sheets;
}

/**
 * Rows of one sheet of a workbook, the header first. `open` gives the file's bytes, each call from
 * the start: the file is read twice when its workbook part is stored after its sheets (see
 * `sheetsStoredLate`). `info` gets the sheet names as soon as they are known. The other sheets are
 * skipped as they stream past; reading stops at the end of the chosen sheet.
 */
export async function* readXlsxRows(
  open: () => AsyncIterable<Uint8Array>,
  options: { sheet?: string; info: WorkbookInfo },
): AsyncGenerator<RawRow> {
  const late = await sheetsStoredLate(open());
  const stream = Readable.from(open());
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(stream, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache',
    entries: 'ignore',
  });
  // ExcelJS replaces this with its own reading of the same part when it reaches it.
  if (late) (reader as unknown as { model: { sheets: WorkbookSheet[] } }).model = { sheets: late };
  let found = false;
  let sawWorksheet = false;
  try {
    for await (const worksheet of reader) {
      sawWorksheet = true;
      const sheets = (
        (reader as unknown as { model?: { sheets?: Array<{ name: string }> } }).model?.sheets ?? []
      ).map((sheet) => sheet.name);
      options.info.sheets = sheets;
      const name = String((worksheet as unknown as { name?: string }).name ?? '');
      const position = sheets.indexOf(name) + 1;
      const chosen = options.sheet
        ? sheetMatches(options.sheet, name, position, sheets)
        : position === 1 || (position === 0 && !found);
      if (!chosen || found) {
        for await (const _row of worksheet) {
          // Skipped sheet: its rows must still be read for the ZIP stream to move on.
        }
        continue;
      }
      found = true;
      options.info.sheet = name;
      for await (const row of worksheet as AsyncIterable<ExcelJS.Row>) {
        const values = row.values as CellValue[];
        const cells: string[] = [];
        const problems: CellProblem[] = [];
        for (let column = 1; column < values.length; column++) {
          const text = cellText(values[column]);
          if (typeof text === 'string') cells[column - 1] = text;
          else {
            cells[column - 1] = '';
            problems.push({ column: column - 1, ...text });
          }
        }
        for (let index = 0; index < cells.length; index++) cells[index] ??= '';
        if (problems.length === 0 && cells.every((cell) => cell.trim() === '')) continue;
        yield { rowNumber: row.number, cells, problems };
      }
      return;
    }
  } catch (error) {
    if (error instanceof InvalidInput) throw error;
    throw new InvalidInput({
      code: 'import_xlsx_unreadable',
      detail: `The workbook cannot be read: ${(error as Error).message}`,
      field: 'file',
      fix: 'Open it in Excel and save it again as Excel Workbook (.xlsx).',
    });
  } finally {
    stream.destroy();
  }
  if (!sawWorksheet) {
    throw new InvalidInput({
      code: 'import_xlsx_no_sheets',
      detail: 'The file is a ZIP container without any worksheet: not an Excel workbook.',
      field: 'file',
      fix: 'Upload an .xlsx workbook saved by Excel, LibreOffice or Google Sheets, or a .csv file.',
    });
  }
  if (!found) {
    throw new InvalidInput({
      code: 'import_sheet_not_found',
      detail: `The workbook has no sheet "${options.sheet}" (its sheets: ${options.info.sheets.join(', ')}).`,
      field: 'sheet',
      fix: 'Give a sheet name as shown on its tab, or its position from 1.',
    });
  }
}
