/**
 * Rows of a CSV file (csv-parse), as text cells, streamed: a 100,000-row file passes through in
 * constant memory. The row shape is shared with the workbook reader (xlsx-reader.ts).
 */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
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
