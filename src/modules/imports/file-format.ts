/**
 * What an uploaded file really is, from its first bytes (its name only has to agree): an Excel
 * workbook (`.xlsx`: a ZIP container) or delimited text (`.csv`), and for text, its encoding.
 */
import { InvalidInput, UnsupportedMediaType } from '../../platform/errors.ts';

export type FileFormat = 'csv' | 'xlsx';
export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';

const TEXT_EXTENSIONS = new Set(['csv', 'txt', 'tsv']);
const WORKBOOK_EXTENSIONS = new Set(['xlsx', 'xlsm']);

/** Signatures of files people upload by mistake, named so the error can say what was sent. */
const KNOWN_BINARIES: Array<{ magic: number[]; name: string; fix: string }> = [
  {
    magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    name: 'a legacy Excel 97-2003 workbook (.xls) or another OLE2 document',
    fix: 'Open it in Excel and save it as Excel Workbook (.xlsx) or CSV UTF-8.',
  },
  {
    magic: [0x25, 0x50, 0x44, 0x46],
    name: 'a PDF document',
    fix: 'Export the list as .xlsx or .csv instead.',
  },
  {
    magic: [0x89, 0x50, 0x4e, 0x47],
    name: 'a PNG image',
    fix: 'Upload the spreadsheet itself (.xlsx or .csv).',
  },
  { magic: [0xff, 0xd8, 0xff], name: 'a JPEG image', fix: 'Upload the spreadsheet itself (.xlsx or .csv).' },
  {
    magic: [0x47, 0x49, 0x46, 0x38],
    name: 'a GIF image',
    fix: 'Upload the spreadsheet itself (.xlsx or .csv).',
  },
  { magic: [0x1f, 0x8b], name: 'a gzip archive', fix: 'Decompress it and upload the .xlsx or .csv inside.' },
  { magic: [0x50, 0x4b, 0x05, 0x06], name: 'an empty ZIP archive', fix: 'Upload an .xlsx or .csv file.' },
];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, index) => head[index] === byte);
}

function extensionOf(filename: string): string {
  const match = /\.([A-Za-z0-9]{1,8})$/.exec(filename.trim());
  return match ? (match[1] as string).toLowerCase() : '';
}

/**
 * The format of a file from its first bytes (at least 8, up to a few KB), checked against the
 * extension of its name. Throws a 415 naming what the file is when it is neither, or when the
 * name says one thing and the bytes another.
 */
export function sniffFormat(head: Uint8Array, filename: string): FileFormat {
  if (head.length === 0) throw emptyFile();
  const extension = extensionOf(filename);
  for (const known of KNOWN_BINARIES) {
    if (startsWith(head, known.magic)) {
      throw new UnsupportedMediaType({
        code: 'import_file_type_unsupported',
        detail: `${filename} is ${known.name}, not an .xlsx workbook or a .csv file.`,
        field: 'file',
        fix: known.fix,
      });
    }
  }
  const isZip = startsWith(head, [0x50, 0x4b, 0x03, 0x04]);
  if (isZip) {
    if (TEXT_EXTENSIONS.has(extension)) throw mismatch(filename, 'a ZIP container (an .xlsx workbook?)');
    return 'xlsx';
  }
  if (WORKBOOK_EXTENSIONS.has(extension) || extension === 'xls') {
    throw mismatch(filename, 'not an Excel workbook (no ZIP container)');
  }
  const utf16 = startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff]);
  if (!utf16 && head.subarray(0, 4096).includes(0)) {
    throw new UnsupportedMediaType({
      code: 'import_file_type_unsupported',
      detail: `${filename} is a binary file, not an .xlsx workbook or a .csv file.`,
      field: 'file',
      fix: 'Upload the roster as .xlsx or as CSV (comma, semicolon or tab separated).',
    });
  }
  return 'csv';
}

function mismatch(filename: string, actual: string): UnsupportedMediaType {
  return new UnsupportedMediaType({
    code: 'import_file_type_mismatch',
    detail: `${filename} is named like ${extensionOf(filename) || 'a file'} but its content is ${actual}.`,
    field: 'file',
    fix: 'Upload the file the spreadsheet application saved, with its own extension (.xlsx or .csv).',
  });
}

export function emptyFile(): InvalidInput {
  return new InvalidInput({
    code: 'import_file_empty',
    detail: 'The uploaded file is empty.',
    field: 'file',
    fix: 'Upload a file with a header row and at least one person.',
  });
}

/**
 * Tells the encoding of a text file while its bytes stream past: a BOM decides at once;
 * otherwise UTF-8 unless some bytes are not valid UTF-8, and then Windows-1252 (what Excel on
 * Windows writes as "CSV"; a superset of ISO-8859-1 for printable characters).
 */
export class EncodingDetector {
  #decoder = new TextDecoder('utf-8', { fatal: true });
  #first = true;
  #bom: TextEncoding | undefined;
  #valid = true;

  push(chunk: Uint8Array): void {
    if (this.#first) {
      this.#first = false;
      if (startsWith(chunk, [0xef, 0xbb, 0xbf])) this.#bom = 'utf-8-bom';
      else if (startsWith(chunk, [0xff, 0xfe])) this.#bom = 'utf-16le';
      else if (startsWith(chunk, [0xfe, 0xff])) this.#bom = 'utf-16be';
    }
    if (this.#bom?.startsWith('utf-16') || !this.#valid) return;
    try {
      this.#decoder.decode(chunk, { stream: true });
    } catch {
      this.#valid = false;
    }
  }

  result(): TextEncoding {
    if (this.#bom?.startsWith('utf-16')) return this.#bom;
    if (this.#valid) {
      try {
        this.#decoder.decode();
      } catch {
        return 'windows-1252';
      }
      return this.#bom ?? 'utf-8';
    }
    return 'windows-1252';
  }
}

/** The WHATWG decoder label of an encoding (the BOM itself is skipped by the CSV parser). */
export function decoderLabel(encoding: TextEncoding): string {
  if (encoding === 'utf-8-bom') return 'utf-8';
  return encoding;
}
