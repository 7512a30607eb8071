/**
 * Rows of one sheet of an .xlsx workbook (ECMA-376 Part 1, SpreadsheetML), as text cells.
 *
 * The ZIP is opened by its central directory and the parts are read in the order the rows need
 * them, whatever order the writer stored them in:
 *
 *   openArchive -> readWorkbook (sheets, 1904 dates, relationships) -> chooseSheet
 *               -> readDateStyles (styles.xml) -> readSharedStrings -> readSheetRows (streamed)
 *
 * so shared strings and date formats are known before the first row is mapped, and the same bytes
 * always give the same rows. (ExcelJS 4.4.0's streaming reader, used before, walked the entries in
 * stream order and lost the ones after the sheets when unzipper's parser ended early; see
 * docs/imports.md.) Only the chosen sheet is read, as a stream: memory holds the shared strings
 * table (in one buffer, outside the JavaScript heap) and one piece of the sheet at a time.
 *
 * Every part is inflated with a cap (`maxPartBytes`; the small parts at most SMALL_PART_BYTES), so
 * a ZIP bomb is refused with the part and the limit named, and never with an out-of-memory crash.
 * XML is parsed with saxes, without DTDs: a part that declares one is refused.
 *
 * Values come out as text and are never evaluated. A formula cell gives the result cached in the
 * file; a formula without one, or an error value (`#N/A`), is reported as a problem of its cell.
 */
import { SaxesParser } from 'saxes';
import { InvalidInput, PayloadTooLarge } from '../../platform/errors.ts';
import type { CellProblem, RawRow, WorkbookInfo } from './spreadsheet-reader.ts';
import {
  type RandomAccessFile,
  ZipArchive,
  type ZipEntry,
  ZipFormatError,
  ZipPartTooLargeError,
} from './zip-archive.ts';

export interface XlsxReadOptions {
  /** A sheet name (case-insensitive) or position from 1; the first sheet by default. */
  sheet?: string;
  /** Gets the sheet names, and the one read, as soon as the workbook part is read. */
  info: WorkbookInfo;
  /** The most any one part (a sheet, the shared strings) may inflate to (IMPORT_MAX_UNCOMPRESSED_BYTES). */
  maxPartBytes: number;
}

/** The workbook part, relationships and styles: a few KB in any real workbook. */
export const SMALL_PART_BYTES = 16 * 2 ** 20;
/** Excel's last column is XFD. */
const MAX_COLUMNS = 16_384;

/** A part of the workbook is missing or malformed; `message` says which and how, for a person. */
export class WorkbookFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkbookFormatError';
  }
}

/**
 * Rows of the chosen sheet, the header first; empty rows are skipped; `rowNumber` is the row a
 * spreadsheet application shows. Throws InvalidInput (`import_xlsx_unreadable`,
 * `import_xlsx_no_sheets`, `import_sheet_not_found`) or PayloadTooLarge
 * (`import_file_too_large_uncompressed`) for a bad file; any other error is a fault of the hub.
 */
export async function* readXlsxRows(
  file: RandomAccessFile,
  options: XlsxReadOptions,
): AsyncGenerator<RawRow> {
  try {
    const archive = await openArchive(file);
    const workbook = await readWorkbook(archive, options.maxPartBytes);
    const sheet = chooseSheet(workbook, options);
    const dateStyles = await readDateStyles(archive, workbook.stylesPath, options.maxPartBytes);
    const sharedStrings = await readSharedStrings(archive, workbook.sharedStringsPath, options.maxPartBytes);
    yield* readSheetRows(archive, sheet, {
      sharedStrings,
      dateStyles,
      date1904: workbook.date1904,
      maxPartBytes: options.maxPartBytes,
    });
  } catch (error) {
    throw asImportError(error);
  }
}

/** The reader's own errors as the problem an upload or an import reports; anything else unchanged. */
function asImportError(error: unknown): unknown {
  if (error instanceof ZipPartTooLargeError) {
    return new PayloadTooLarge({
      code: 'import_file_too_large_uncompressed',
      detail: `The workbook part ${error.part} inflates to more than ${error.limit} bytes (${mebibytes(error.limit)}), the most an import reads from one part.`,
      field: 'file',
      fix: isSmallPart(error.part)
        ? 'No workbook saved by Excel, LibreOffice or Google Sheets has a part that large: save the roster again from one of them.'
        : 'Split the roster into several files, or ask the operator to raise IMPORT_MAX_UNCOMPRESSED_BYTES.',
      extra: { part: error.part, limit: error.limit },
      cause: error,
    });
  }
  if (error instanceof ZipFormatError || error instanceof WorkbookFormatError) {
    return new InvalidInput({
      code: 'import_xlsx_unreadable',
      detail: `The workbook cannot be read: ${error.message}.`,
      field: 'file',
      fix: 'Open it in Excel and save it again as Excel Workbook (.xlsx).',
      cause: error,
    });
  }
  return error;
}

/** The parts read with SMALL_PART_BYTES: relationships, the workbook part, the styles. */
function isSmallPart(part: string): boolean {
  return /(\.rels|workbook\.xml|styles\.xml)$/i.test(part);
}

function mebibytes(bytes: number): string {
  return `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
}

async function openArchive(file: RandomAccessFile): Promise<ZipArchive> {
  try {
    return await ZipArchive.open(file);
  } catch (error) {
    if (error instanceof ZipFormatError)
      throw new WorkbookFormatError(`the file is not a readable ZIP archive (${error.message})`, {
        cause: error,
      });
    throw error;
  }
}

// XML parts

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** A strict XML parser for one part: its errors, and any DTD, become WorkbookFormatError. */
type PartParser = SaxesParser<{ xmlns: false; position: false }>;

function partParser(part: string): PartParser {
  const parser: PartParser = new SaxesParser({ xmlns: false, position: false });
  parser.on('error', (error) => {
    throw new WorkbookFormatError(`${part} is not well-formed XML (${error.message})`, { cause: error });
  });
  parser.on('doctype', () => {
    // Workbook parts never declare a DTD; refusing one rules out entity expansion altogether.
    throw new WorkbookFormatError(`${part} declares a DTD, which no workbook part has`);
  });
  return parser;
}

/** A part's text, decoded as its byte order mark says (UTF-8 without one, as Excel writes), in pieces. */
async function* partText(archive: ZipArchive, entry: ZipEntry, limit: number): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  for await (const chunk of archive.read(entry, limit)) {
    if (!decoder) {
      const label =
        chunk[0] === 0xff && chunk[1] === 0xfe
          ? 'utf-16le'
          : chunk[0] === 0xfe && chunk[1] === 0xff
            ? 'utf-16be'
            : 'utf-8';
      decoder = new TextDecoder(label);
    }
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder?.decode();
  if (rest) yield rest;
}

/**
 * The longest stretch of a part without a `<`: a text node or a tag. A cell holds at most 32,767
 * characters (each at most a 10-character reference such as `&#x1F600;`), so a longer stretch is
 * no workbook's, and the XML parser would otherwise hold it whole in the heap (a part of one
 * gigabyte-long value, say, with a heap capped at 256 MB).
 */
const MAX_MARKUP_RUN = 2 ** 20;

/** Refuses a part as soon as a stretch without `<` passes MAX_MARKUP_RUN. */
class MarkupRunGuard {
  readonly #part: string;
  #run = 0;

  constructor(part: string) {
    this.#part = part;
  }

  check(text: string): void {
    // Within one piece shorter than the limit, only the stretch running on from the last piece can pass it.
    if (this.#run + text.length <= MAX_MARKUP_RUN) {
      const last = text.lastIndexOf('<');
      this.#run = last < 0 ? this.#run + text.length : text.length - last - 1;
      return;
    }
    for (let from = 0; ; ) {
      const at = text.indexOf('<', from);
      this.#run += (at < 0 ? text.length : at) - from;
      if (this.#run > MAX_MARKUP_RUN)
        throw new WorkbookFormatError(
          `${this.#part} holds a value or tag longer than ${MAX_MARKUP_RUN} characters, more than any cell holds`,
        );
      if (at < 0) return;
      this.#run = 0;
      from = at + 1;
    }
  }
}

/** Parses a whole part through `parser` (whose handlers collect what they need). */
async function parsePart(
  archive: ZipArchive,
  entry: ZipEntry,
  limit: number,
  parser: PartParser,
): Promise<void> {
  const guard = new MarkupRunGuard(entry.name);
  for await (const text of partText(archive, entry, limit)) {
    guard.check(text);
    parser.write(text);
  }
  parser.close();
}

interface Relationship {
  type: string;
  /** The target part's name, resolved against the source part's folder. */
  target: string;
  external: boolean;
}

/** `xl/workbook.xml` -> `xl/_rels/workbook.xml.rels` (ECMA-376 Part 2, 9.3.3). */
function relationshipsPartOf(part: string): string {
  const slash = part.lastIndexOf('/');
  return `${part.slice(0, slash + 1)}_rels/${part.slice(slash + 1)}.rels`;
}

/** A relationship's target as a part name: relative to the source part's folder, or absolute from the root. */
function resolveTarget(sourcePart: string, target: string): string {
  const base = target.startsWith('/') ? [] : sourcePart.split('/').slice(0, -1);
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') base.pop();
    else base.push(segment);
  }
  return base.join('/');
}

/** The relationships of a part, by id; none when it has no relationships part. */
async function readRelationships(
  archive: ZipArchive,
  sourcePart: string,
  limit: number,
): Promise<Map<string, Relationship>> {
  const relationships = new Map<string, Relationship>();
  const name = relationshipsPartOf(sourcePart);
  const entry = archive.entry(name);
  if (!entry) return relationships;
  const parser = partParser(name);
  parser.on('opentag', (node) => {
    if (localName(node.name) !== 'Relationship') return;
    const attributes = node.attributes;
    const id = attributes.Id;
    const target = attributes.Target;
    if (!id || target === undefined) return;
    const external = attributes.TargetMode === 'External';
    relationships.set(id, {
      type: attributes.Type ?? '',
      target: external ? target : resolveTarget(sourcePart, target),
      external,
    });
  });
  await parsePart(archive, entry, limit, parser);
  return relationships;
}

/** Relationship types end the same in transitional and strict OOXML (only the namespace differs). */
function relationshipOfType(
  relationships: Map<string, Relationship>,
  type: string,
): Relationship | undefined {
  return [...relationships.values()].find(
    (relationship) => !relationship.external && relationship.type.endsWith(`/${type}`),
  );
}

// Workbook part

interface SheetRef {
  name: string;
  /** Its part (`xl/worksheets/sheet2.xml`), when the workbook's relationships name one. */
  part: string | undefined;
}

interface Workbook {
  sheets: SheetRef[];
  date1904: boolean;
  sharedStringsPath: string | undefined;
  stylesPath: string | undefined;
}

/** The workbook part: found through the package relationships (`_rels/.rels`), else by its usual name. */
async function readWorkbook(archive: ZipArchive, maxPartBytes: number): Promise<Workbook> {
  const limit = Math.min(SMALL_PART_BYTES, maxPartBytes);
  const packageRelationships = await readRelationships(archive, '', limit);
  const workbookPath =
    relationshipOfType(packageRelationships, 'officeDocument')?.target ?? 'xl/workbook.xml';
  const entry = archive.entry(workbookPath);
  if (!entry) {
    throw new InvalidInput({
      code: 'import_xlsx_no_sheets',
      detail: 'The file is a ZIP container without any worksheet: not an Excel workbook.',
      field: 'file',
      fix: 'Upload an .xlsx workbook saved by Excel, LibreOffice or Google Sheets, or a .csv file.',
    });
  }
  const sheets: Array<{ name: string; relationshipId: string | undefined }> = [];
  let date1904 = false;
  const parser = partParser(entry.name);
  parser.on('opentag', (node) => {
    const name = localName(node.name);
    const attributes = node.attributes;
    if (name === 'sheet') {
      // r:id, whatever prefix the writer bound to the relationships namespace.
      const idAttribute = Object.keys(attributes).find((key) => key.includes(':') && localName(key) === 'id');
      sheets.push({
        name: attributes.name ?? '',
        relationshipId: idAttribute ? attributes[idAttribute] : undefined,
      });
    } else if (name === 'workbookPr') {
      date1904 = attributes.date1904 === '1' || attributes.date1904 === 'true';
    }
  });
  await parsePart(archive, entry, limit, parser);
  const relationships = await readRelationships(archive, workbookPath, limit);
  const folder = workbookPath.slice(0, workbookPath.lastIndexOf('/') + 1);
  const partOr = (type: string, usual: string) => {
    const path = relationshipOfType(relationships, type)?.target ?? `${folder}${usual}`;
    return archive.entry(path) ? path : undefined;
  };
  return {
    sheets: sheets.map((sheet) => {
      const relationship = sheet.relationshipId ? relationships.get(sheet.relationshipId) : undefined;
      return {
        name: sheet.name,
        part: relationship && !relationship.external ? relationship.target : undefined,
      };
    }),
    date1904,
    sharedStringsPath: partOr('sharedStrings', 'sharedStrings.xml'),
    stylesPath: partOr('styles', 'styles.xml'),
  };
}

/** By name (case-insensitive), else by position from 1 when no sheet has that name; the first by default. */
function chooseSheet(workbook: Workbook, options: XlsxReadOptions): SheetRef {
  const names = workbook.sheets.map((sheet) => sheet.name);
  options.info.sheets = names;
  if (workbook.sheets.length === 0) {
    throw new InvalidInput({
      code: 'import_xlsx_no_sheets',
      detail: 'The workbook has no sheets.',
      field: 'file',
      fix: 'Upload an .xlsx workbook saved by Excel, LibreOffice or Google Sheets, or a .csv file.',
    });
  }
  let chosen: SheetRef | undefined;
  if (options.sheet === undefined) chosen = workbook.sheets[0];
  else {
    const wanted = options.sheet.trim().toLowerCase();
    chosen = workbook.sheets.find((sheet) => sheet.name.trim().toLowerCase() === wanted);
    if (!chosen && /^\d+$/.test(wanted)) chosen = workbook.sheets[Number(wanted) - 1];
  }
  if (!chosen) {
    throw new InvalidInput({
      code: 'import_sheet_not_found',
      detail: `The workbook has no sheet "${options.sheet}" (its sheets: ${names.join(', ')}).`,
      field: 'sheet',
      fix: 'Give a sheet name as shown on its tab, or its position from 1.',
    });
  }
  options.info.sheet = chosen.name;
  return chosen;
}

// Styles: which cell formats show numbers as dates

/**
 * Built-in number formats that are dates or times (ECMA-376 Part 1, 18.8.30): 14-22, 45-47, and
 * the East Asian (27-36, 50-58) and Thai (71-81) date formats.
 */
function isBuiltInDateFormat(id: number): boolean {
  return (
    (id >= 14 && id <= 22) ||
    (id >= 27 && id <= 36) ||
    (id >= 45 && id <= 47) ||
    (id >= 50 && id <= 58) ||
    (id >= 71 && id <= 81)
  );
}

/**
 * Whether a custom format code shows a date or a time: a day, month, year, hour or second token in
 * its first section, once literal text ("..."), escaped and padding characters and bracketed
 * colors, conditions and locales are set aside (`[h]` elapsed hours count as time).
 */
export function isDateFormatCode(code: string): boolean {
  const section =
    code
      .replace(/"[^"]*"/g, '')
      .replace(/\\./g, '')
      .replace(/[_*]./g, '')
      .replace(/\[(?:h+|m+|s+)\]/gi, 'h')
      .replace(/\[[^\]]*\]/g, '')
      .split(';')[0] ?? '';
  return /[ymdhsb]/i.test(section.replace(/general/gi, ''));
}

/** One flag per cell format (`<cellXfs>`, the `s` of a cell): 1 when it shows a date. */
async function readDateStyles(
  archive: ZipArchive,
  path: string | undefined,
  maxPartBytes: number,
): Promise<Uint8Array> {
  const entry = path ? archive.entry(path) : undefined;
  if (!entry) return new Uint8Array(0);
  const customDates = new Map<number, boolean>();
  const flags: number[] = [];
  let inCellFormats = false;
  const parser = partParser(entry.name);
  parser.on('opentag', (node) => {
    const name = localName(node.name);
    const attributes = node.attributes;
    if (name === 'numFmt') {
      customDates.set(Number(attributes.numFmtId), isDateFormatCode(attributes.formatCode ?? ''));
    } else if (name === 'cellXfs') inCellFormats = true;
    else if (name === 'xf' && inCellFormats) {
      const id = Number(attributes.numFmtId ?? 0);
      flags.push((customDates.get(id) ?? isBuiltInDateFormat(id)) ? 1 : 0);
    }
  });
  parser.on('closetag', (node) => {
    if (localName(node.name) === 'cellXfs') inCellFormats = false;
  });
  await parsePart(archive, entry, Math.min(SMALL_PART_BYTES, maxPartBytes), parser);
  return Uint8Array.from(flags);
}

// Shared strings

/**
 * The shared strings table in one UTF-8 buffer with an offset per string, outside the JavaScript
 * heap: a 100,000-row roster's 400,000 strings take 12 MB here, where an array of strings would
 * take several times that in a heap capped at 256 MB. Its size is bounded by the part's (the text
 * of the strings is a subset of the XML).
 */
export class SharedStrings {
  #bytes = Buffer.allocUnsafe(64 * 1024);
  #used = 0;
  #ends = new Uint32Array(1024);
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(text: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit.
    if (this.#used + text.length * 3 > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + text.length * 3));
      this.#bytes.copy(grown, 0, 0, this.#used);
      this.#bytes = grown;
    }
    this.#used += this.#bytes.write(text, this.#used, 'utf8');
    if (this.#count === this.#ends.length) {
      const grown = new Uint32Array(this.#ends.length * 2);
      grown.set(this.#ends);
      this.#ends = grown;
    }
    this.#ends[this.#count++] = this.#used;
  }

  get(index: number): string | undefined {
    if (!(index >= 0 && index < this.#count)) return undefined;
    const start = index === 0 ? 0 : (this.#ends[index - 1] as number);
    return this.#bytes.toString('utf8', start, this.#ends[index]);
  }
}

/**
 * `<si>` items in order: plain (`<t>`) or rich text (`<r><t>`), the runs joined; phonetic guides
 * (`<rPh>`, furigana) are not part of the value, as Excel shows it.
 */
async function readSharedStrings(
  archive: ZipArchive,
  path: string | undefined,
  maxPartBytes: number,
): Promise<SharedStrings> {
  const table = new SharedStrings();
  const entry = path ? archive.entry(path) : undefined;
  if (!entry) return table;
  let inItem = false;
  let phonetic = 0;
  let capturing = false;
  let text = '';
  const parser = partParser(entry.name);
  parser.on('opentag', (node) => {
    const name = localName(node.name);
    if (name === 'si') {
      inItem = true;
      text = '';
    } else if (name === 'rPh') phonetic++;
    else if (name === 't' && inItem && phonetic === 0) capturing = !node.isSelfClosing;
  });
  parser.on('text', (value) => {
    if (capturing) text += value;
  });
  parser.on('cdata', (value) => {
    if (capturing) text += value;
  });
  parser.on('closetag', (node) => {
    const name = localName(node.name);
    if (name === 't') capturing = false;
    else if (name === 'rPh') phonetic--;
    else if (name === 'si') {
      table.add(text);
      inItem = false;
    }
  });
  await parsePart(archive, entry, maxPartBytes, parser);
  return table;
}

// The sheet

interface SheetContext {
  sharedStrings: SharedStrings;
  dateStyles: Uint8Array;
  date1904: boolean;
  maxPartBytes: number;
}

/** The column index (from 0) of a cell reference such as `AB12`; -1 without letters. */
function columnOf(reference: string): number {
  let column = 0;
  let index = 0;
  for (; index < reference.length; index++) {
    const code = reference.charCodeAt(index) | 0x20; // lower case
    if (code < 0x61 || code > 0x7a) break;
    column = column * 26 + (code - 0x60);
  }
  return index === 0 ? -1 : column - 1;
}

/** A date as the import stores it: `YYYY-MM-DD` at midnight, else the ISO 8601 date and time (UTC). */
export function dateText(date: Date): string | undefined {
  if (!Number.isFinite(date.getTime())) return undefined;
  const iso = date.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** An Excel serial date (days since 1899-12-30, or since 1904-01-01 in the 1904 system) as a Date, to the millisecond. */
export function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
}

/** A number as its shortest decimal text (`12345`, `0.5`); text that is not a number gives nothing. */
function numberText(text: string): string {
  if (text.trim() === '') return '';
  const value = Number(text);
  return Number.isFinite(value) ? String(value) : '';
}

/**
 * Streams the sheet part through the XML parser, collecting each `<row>`'s cells (`<c r t s>`
 * with `<v>`, `<f>` or `<is>`) and yielding the rows after each piece of the part.
 */
async function* readSheetRows(
  archive: ZipArchive,
  sheet: SheetRef,
  context: SheetContext,
): AsyncGenerator<RawRow> {
  const entry = sheet.part ? archive.entry(sheet.part) : undefined;
  if (!entry) throw new WorkbookFormatError(`the part of sheet "${sheet.name}" is missing`);
  const part = entry.name;
  const { sharedStrings, dateStyles, date1904 } = context;
  let ready: RawRow[] = [];
  let inData = false;
  let row: RawRow | undefined;
  let lastRowNumber = 0;
  // The cell being read.
  let column = -1;
  let reference = '';
  let type = 'n';
  let style = 0;
  let hasValue = false;
  let hasFormula = false;
  let inInline = false;
  let phonetic = 0;
  let capturing = false;
  let text = '';

  const cellValue = (): string | Omit<CellProblem, 'column'> => {
    if (!hasValue) {
      return hasFormula
        ? {
            code: 'formula_without_value',
            message: 'The cell holds a formula without a saved result; formulas are never evaluated.',
          }
        : '';
    }
    switch (type) {
      case 's': {
        const index = Number(text);
        const value = sharedStrings.get(index);
        if (value === undefined)
          throw new WorkbookFormatError(
            `cell ${reference || `${column + 1}`} of ${part} refers to shared string ${text.trim()}, and the workbook has ${sharedStrings.size}`,
          );
        return value;
      }
      case 'inlineStr':
      case 'str':
        return text;
      case 'b':
        return Number(text) !== 0 ? 'TRUE' : 'FALSE';
      case 'e':
        return {
          code: 'cell_error',
          message: hasFormula
            ? `The formula's saved result is ${text}.`
            : `The cell holds the error ${text}.`,
        };
      case 'd':
        return dateText(new Date(text)) ?? text;
      default: {
        const number = numberText(text);
        if (number && dateStyles[style] === 1)
          return dateText(serialToDate(Number(number), date1904)) ?? number;
        return number;
      }
    }
  };

  const parser = partParser(part);
  parser.on('opentag', (node) => {
    const name = node.name.includes(':') ? localName(node.name) : node.name;
    switch (name) {
      case 'sheetData':
        inData = true;
        return;
      case 'row': {
        if (!inData) return;
        const attributes = node.attributes;
        const number = attributes.r ? Number(attributes.r) : lastRowNumber + 1;
        if (!Number.isInteger(number) || number < 1)
          throw new WorkbookFormatError(`${part} has a row numbered "${attributes.r}"`);
        lastRowNumber = number;
        row = { rowNumber: number, cells: [], problems: [] };
        column = -1;
        return;
      }
      case 'c': {
        if (!row) return;
        const attributes = node.attributes;
        reference = attributes.r ?? '';
        const at = reference ? columnOf(reference) : column + 1;
        if (at < 0 || at >= MAX_COLUMNS)
          throw new WorkbookFormatError(`${part} has a cell at "${reference}", outside any sheet's columns`);
        column = at;
        type = attributes.t ?? 'n';
        style = attributes.s ? Number(attributes.s) : 0;
        hasValue = false;
        hasFormula = false;
        text = '';
        return;
      }
      case 'v':
        if (!row) return;
        hasValue = true;
        text = '';
        capturing = !node.isSelfClosing;
        return;
      case 'f':
        if (row) hasFormula = true;
        return;
      case 'is':
        if (!row) return;
        inInline = true;
        hasValue = true;
        text = '';
        return;
      case 'rPh':
        phonetic++;
        return;
      case 't':
        if (inInline && phonetic === 0) capturing = !node.isSelfClosing;
        return;
    }
  });
  parser.on('text', (value) => {
    if (capturing) text += value;
  });
  parser.on('cdata', (value) => {
    if (capturing) text += value;
  });
  parser.on('closetag', (node) => {
    const name = node.name.includes(':') ? localName(node.name) : node.name;
    switch (name) {
      case 'v':
      case 't':
        capturing = false;
        return;
      case 'rPh':
        phonetic--;
        return;
      case 'is':
        inInline = false;
        return;
      case 'c': {
        if (!row) return;
        const value = cellValue();
        if (typeof value === 'string') row.cells[column] = value;
        else {
          row.cells[column] = '';
          row.problems.push({ column, ...value });
        }
        return;
      }
      case 'row': {
        if (!row) return;
        const { cells } = row;
        let blank = true;
        for (let index = 0; index < cells.length; index++) {
          const cell = cells[index];
          if (cell === undefined) cells[index] = '';
          else if (blank && cell.trim() !== '') blank = false;
        }
        if (!blank || row.problems.length > 0) ready.push(row);
        row = undefined;
        return;
      }
      case 'sheetData':
        inData = false;
        return;
    }
  });

  const guard = new MarkupRunGuard(part);
  for await (const piece of partText(archive, entry, context.maxPartBytes)) {
    guard.check(piece);
    parser.write(piece);
    if (ready.length) {
      const rows = ready;
      ready = [];
      yield* rows;
    }
  }
  parser.close();
  yield* ready;
}
