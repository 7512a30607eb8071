/**
 * Workbooks for the reader's tests, from several writers: ExcelJS's ordinary writer
 * (`xlsx.writeBuffer`), its streaming writer (with and without a shared strings table), and a
 * workbook built by hand the way Excel and the .NET Open XML SDK write one (workbook part first,
 * styles with built-in and custom date formats, rich text with phonetic guides, inline strings,
 * cached formula results, prefixed element names). Plus ZIP bombs, and any workbook with its ZIP
 * entries in another order.
 */
import { PassThrough } from 'node:stream';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { bufferFile, ZipArchive } from '../../src/modules/imports/zip-archive.ts';

export interface ZipInput {
  name: string;
  data: Buffer;
  /** Stored without compression (method 0), as some writers store small parts. */
  stored?: boolean;
  /** The deflated bytes to store instead of deflating `data` (a hand-made bomb). */
  deflated?: Buffer;
  /** The size the headers declare, when it is not `data`'s (a bomb that lies). */
  declaredSize?: number;
  crc?: number;
}

/** A ZIP archive of the entries in this order: local headers and data, then the central directory. */
export function zipOf(entries: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const method = entry.stored ? 0 : 8;
    const data = entry.deflated ?? (entry.stored ? entry.data : deflateRawSync(entry.data));
    const size = entry.declaredSize ?? entry.data.length;
    const sum = entry.crc ?? crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(sum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(sum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** The entries of a ZIP archive, in stored order, inflated. */
export async function entriesOf(file: Buffer): Promise<Array<{ name: string; data: Buffer }>> {
  const archive = await ZipArchive.open(bufferFile(file));
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (const name of archive.names) {
    const entry = archive.entry(name);
    if (!entry) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of archive.read(entry, 2 ** 30)) chunks.push(chunk);
    entries.push({ name, data: Buffer.concat(chunks) });
  }
  return entries;
}

/**
 * The same workbook with its ZIP entries stored in another order: `first` names the entries to put
 * first, in that order, `last` those to put last; the rest keep their order in between (reversed
 * with `reverse`). Entries are deflated, as Excel's are.
 */
export async function reorderedWorkbook(
  file: Buffer,
  order: { first?: readonly string[]; last?: readonly string[]; reverse?: boolean },
): Promise<Buffer> {
  const entries = await entriesOf(file);
  if (order.reverse) entries.reverse();
  const first = order.first ?? [];
  const last = order.last ?? [];
  const rank = (name: string) =>
    first.includes(name)
      ? first.indexOf(name)
      : last.includes(name)
        ? first.length + 1 + last.indexOf(name)
        : first.length;
  entries.sort((a, b) => rank(a.name) - rank(b.name));
  return zipOf(entries);
}

/** The cell values of a test roster, as ExcelJS writes them. */
export type Sheets = Record<string, ExcelJS.CellValue[][]>;

/** ExcelJS's ordinary writer (`Workbook.xlsx.writeBuffer`): the sheets first, the workbook part last. */
export async function excelJsWorkbook(sheets: Sheets): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) book.addWorksheet(name).addRows(rows);
  return Buffer.from(await book.xlsx.writeBuffer());
}

/** ExcelJS's streaming writer, with a shared strings table or with inline strings. */
export async function excelJsStreamedWorkbook(
  sheets: Sheets,
  options: { sharedStrings: boolean } = { sharedStrings: true },
): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: options.sharedStrings });
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    for (const row of rows) sheet.addRow(row).commit();
    sheet.commit();
  }
  await book.commit();
  await ended;
  return Buffer.concat(chunks);
}

const xml = (text: string) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n${text}`);
const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const RELATIONSHIPS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PACKAGE_RELATIONSHIPS = 'http://schemas.openxmlformats.org/package/2006/relationships';

/** The rows `handBuiltWorkbook` holds, as the reader must give them (sheet name -> rows with their numbers). */
export const HAND_BUILT_ROWS: Record<string, Array<[number, string[]]>> = {
  Instrucciones: [[1, ['Complete la hoja Participantes & envíela']]],
  Participantes: [
    [1, ['Correo', 'Nombre', 'Apellido', 'Fecha de alta', 'Activo', 'Puntos', 'Nota', 'Hora', 'Código']],
    [
      2,
      [
        'ana@example.com',
        'Ana',
        'Ruiz',
        '2024-03-01',
        'TRUE',
        '12.5',
        'A&B <ok>',
        '2024-03-01T12:00:00.000Z',
        '0042',
      ],
    ],
    [3, ['ines@example.com', 'Inés', '  Gil  ', '2024-12-31', 'FALSE', '-3', 'RUIZ', '', '12345']],
    // Row 4 is empty: skipped. Row 5 has a gap between its cells.
    [5, ['luis@example.com', '', '', '2023-02-28']],
    [6, ['mar@example.com', 'Mar', '', '2024-03-01', '', '0.1', '', '', '']],
  ],
  Otros: [
    [1, ['Email']],
    [2, ['otro@example.com']],
  ],
};

/**
 * A workbook as Excel writes one, by hand: `[Content_Types].xml`, the package relationships and the
 * workbook part first, then styles, shared strings and sheets. `prefix` writes every element with a
 * namespace prefix (`x:row`), as the .NET Open XML SDK does; `stored` stores the parts uncompressed.
 */
export function handBuiltWorkbook(
  options: { prefix?: string; stored?: boolean; date1904?: boolean } = {},
): Buffer {
  const p = options.prefix ? `${options.prefix}:` : '';
  const ns = options.prefix ? `xmlns:${options.prefix}="${MAIN}"` : `xmlns="${MAIN}"`;
  const shift = options.date1904 ? -1462 : 0;
  const strings = [
    'Complete la hoja Participantes &amp; envíela',
    'Correo',
    'Nombre',
    'Apellido',
    'Fecha de alta',
    'Activo',
    'Puntos',
    'Nota',
    'Hora',
    'ana@example.com',
    'Código',
    'Email',
    'otro@example.com',
  ];
  const sharedStrings = xml(
    `<${p}sst ${ns} count="15" uniqueCount="15">${strings.map((text) => `<${p}si><${p}t>${text}</${p}t></${p}si>`).join('')}` +
      // 13: rich text with a phonetic guide (furigana), which is not part of the value.
      `<${p}si><${p}r><${p}rPr><${p}b/></${p}rPr><${p}t>Ru</${p}t></${p}r><${p}r><${p}t>iz</${p}t></${p}r><${p}rPh sb="0" eb="2"><${p}t>ルイス</${p}t></${p}rPh></${p}si>` +
      // 14: leading and trailing spaces kept.
      `<${p}si><${p}t xml:space="preserve">  Gil  </${p}t></${p}si>` +
      `</${p}sst>`,
  );
  const styles = xml(
    `<${p}styleSheet ${ns}><${p}numFmts count="2"><${p}numFmt numFmtId="164" formatCode="dd/mm/yyyy;@"/><${p}numFmt numFmtId="165" formatCode="0.00&quot; días&quot;"/></${p}numFmts>` +
      `<${p}cellStyleXfs count="1"><${p}xf numFmtId="14"/></${p}cellStyleXfs>` +
      `<${p}cellXfs count="6"><${p}xf numFmtId="0"/><${p}xf numFmtId="14" applyNumberFormat="1"/><${p}xf numFmtId="164" applyNumberFormat="1"/><${p}xf numFmtId="165" applyNumberFormat="1"/><${p}xf numFmtId="22" applyNumberFormat="1"/><${p}xf numFmtId="49" applyNumberFormat="1"/></${p}cellXfs>` +
      `</${p}styleSheet>`,
  );
  const sheet = (rows: string) =>
    xml(
      `<${p}worksheet ${ns} xmlns:r="${RELATIONSHIPS}"><${p}dimension ref="A1:I6"/><${p}sheetViews><${p}sheetView workbookViewId="0"/></${p}sheetViews><${p}sheetData>${rows}</${p}sheetData></${p}worksheet>`,
    );
  const c = (ref: string, body: string, attributes = '') => `<${p}c r="${ref}"${attributes}>${body}</${p}c>`;
  const v = (text: string) => `<${p}v>${text}</${p}v>`;
  const participants = sheet(
    `<${p}row r="1" spans="1:9">${[1, 2, 3, 4, 5, 6, 7, 8, 10].map((index, column) => c(`${'ABCDEFGHI'[column]}1`, v(String(index)), ' t="s"')).join('')}</${p}row>` +
      `<${p}row r="2">` +
      c('A2', v('9'), ' t="s"') +
      c('B2', `<${p}is><${p}t>Ana</${p}t></${p}is>`, ' t="inlineStr"') +
      c('C2', v('13'), ' t="s"') +
      c('D2', v(String(45352 + shift)), ' s="1"') +
      c('E2', v('1'), ' t="b"') +
      c('F2', v('12.5'), ' s="3"') +
      c('G2', `<${p}f>"A&amp;B "&amp;"&lt;ok&gt;"</${p}f>${v('A&amp;B &lt;ok&gt;')}`, ' t="str"') +
      c('H2', v(String(45352.5 + shift)), ' s="4"') +
      c('I2', v('0042'), ' s="5" t="str"') +
      `</${p}row>` +
      // Cells without references follow one another; a date in a custom format; a formula's cached number.
      `<${p}row r="3"><${p}c t="inlineStr"><${p}is><${p}t>ines@example.com</${p}t></${p}is></${p}c><${p}c t="inlineStr"><${p}is><${p}r><${p}t>In</${p}t></${p}r><${p}r><${p}t>és</${p}t></${p}r></${p}is></${p}c>` +
      `<${p}c t="s">${v('14')}</${p}c><${p}c s="2">${v(String(45657 + shift))}</${p}c><${p}c t="b">${v('0')}</${p}c><${p}c>${v('-3')}</${p}c>` +
      `<${p}c t="str"><${p}f>UPPER("ruiz")</${p}f>${v('RUIZ')}</${p}c><${p}c s="1"/><${p}c>${v('12345')}<${p}f>12345</${p}f></${p}c></${p}row>` +
      `<${p}row r="4" spans="1:9"><${p}c r="A4" s="1"/></${p}row>` +
      `<${p}row r="5">${c('A5', `<${p}is><${p}t>luis@example.com</${p}t></${p}is>`, ' t="inlineStr"')}${c('D5', v('2023-02-28T00:00:00Z'), ' t="d"')}</${p}row>` +
      `<${p}row r="6">${c('A6', `<${p}is><${p}t><![CDATA[mar@example.com]]></${p}t></${p}is>`, ' t="inlineStr"')}<${p}c r="B6" t="inlineStr"><${p}is><${p}t>Mar</${p}t></${p}is></${p}c>` +
      `${c('D6', v(String(45352 + shift)), ' s="2"')}${c('F6', v('1.0000000000000001E-1'))}${c('I6', '', ' t="s"')}</${p}row>`,
  );
  const instructions = sheet(`<${p}row r="1">${c('A1', v('0'), ' t="s"')}</${p}row>`);
  const others = sheet(
    `<${p}row r="1">${c('A1', v('11'), ' t="s"')}</${p}row><${p}row r="2">${c('A2', v('12'), ' t="s"')}</${p}row>`,
  );
  const workbook = xml(
    `<${p}workbook ${ns} xmlns:r="${RELATIONSHIPS}"><${p}workbookPr${options.date1904 ? ' date1904="1"' : ''}/><${p}bookViews><${p}workbookView/></${p}bookViews><${p}sheets>` +
      `<${p}sheet name="Instrucciones" sheetId="1" r:id="rId3"/><${p}sheet name="Participantes" sheetId="2" r:id="rId1"/><${p}sheet name="Otros" sheetId="5" state="hidden" r:id="rId2"/>` +
      `</${p}sheets><${p}definedNames><${p}definedName name="_xlnm._FilterDatabase" localSheetId="1" hidden="1">Participantes!$A$1:$I$6</${p}definedName></${p}definedNames></${p}workbook>`,
  );
  const relationship = (id: string, type: string, target: string) =>
    `<Relationship Id="${id}" Type="${RELATIONSHIPS}/${type}" Target="${target}"/>`;
  const workbookRelationships = xml(
    `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">` +
      relationship('rId1', 'worksheet', 'worksheets/sheet2.xml') +
      relationship('rId2', 'worksheet', '/xl/worksheets/sheet3.xml') +
      relationship('rId3', 'worksheet', './worksheets/sheet1.xml') +
      relationship('rId4', 'styles', 'styles.xml') +
      relationship('rId5', 'sharedStrings', 'sharedStrings.xml') +
      relationship('rId6', 'hyperlink', 'https://example.com/').replace('/>', ' TargetMode="External"/>') +
      '</Relationships>',
  );
  const packageRelationships = xml(
    `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">${relationship('rId1', 'officeDocument', 'xl/workbook.xml')}</Relationships>`,
  );
  const contentTypes = xml(
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>',
  );
  const stored = options.stored ?? false;
  return zipOf(
    [
      ['[Content_Types].xml', contentTypes],
      ['_rels/.rels', packageRelationships],
      ['xl/workbook.xml', workbook],
      ['xl/_rels/workbook.xml.rels', workbookRelationships],
      ['xl/styles.xml', styles],
      ['xl/sharedStrings.xml', sharedStrings],
      ['xl/worksheets/sheet1.xml', instructions],
      ['xl/worksheets/sheet2.xml', participants],
      ['xl/worksheets/sheet3.xml', others],
    ].map(([name, data]) => ({ name: name as string, data: data as Buffer, stored })),
  );
}

/**
 * Deflated data that inflates to `prefix`, `unit` `repeat` times, then `suffix`, built without
 * inflating anything: each piece is deflated once and ends on a full flush (a byte boundary with
 * no back-references across it, RFC 1951 3.2.3), so the unit's deflated bytes can simply repeat.
 */
export function deflatedRepeat(prefix: string, unit: Buffer, repeat: number, suffix: string): Buffer {
  const flush = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const block = deflateRawSync(unit, flush);
  return Buffer.concat([
    deflateRawSync(Buffer.from(prefix), flush),
    ...Array.from({ length: repeat }, () => block),
    deflateRawSync(Buffer.from(suffix)),
  ]);
}

/**
 * A small workbook (one sheet: Email, a@example.com) whose `xl/sharedStrings.xml` inflates to
 * `mebibytes` MiB: of `<si>` items, or (`oneValue`) of a single enormous value. `declaredSize`:
 * what its ZIP entry says it inflates to (the truth by default; a bomb may lie).
 */
export function sharedStringsBomb(options: {
  mebibytes: number;
  declaredSize?: number;
  oneValue?: boolean;
}): Buffer {
  // 1 MiB: one stretch of a value, or 52,428 items of 20 bytes (and 16 spaces between two of them).
  const unit = Buffer.from(
    options.oneValue ? 'a'.repeat(2 ** 20) : '<si><t>bomb</t></si>'.repeat(52_428).padEnd(2 ** 20, ' '),
  );
  const prefix = `<sst xmlns="${MAIN}"><si><t>Email</t></si><si><t>a@example.com</t></si>${options.oneValue ? '<si><t>' : ''}`;
  const suffix = `${options.oneValue ? '</t></si>' : ''}</sst>`;
  const size = Buffer.byteLength(prefix) + unit.length * options.mebibytes + Buffer.byteLength(suffix);
  const sheet = xml(
    `<worksheet xmlns="${MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row></sheetData></worksheet>`,
  );
  return zipOf([
    ...handBuiltWorkbookParts(),
    { name: 'xl/worksheets/sheet1.xml', data: sheet },
    {
      name: 'xl/sharedStrings.xml',
      data: Buffer.alloc(0),
      deflated: deflatedRepeat(prefix, unit, options.mebibytes, suffix),
      declaredSize: options.declaredSize ?? size,
      crc: 0,
    },
  ]);
}

/** The parts of a one-sheet workbook but its sheet and shared strings. */
function handBuiltWorkbookParts(): ZipInput[] {
  return [
    {
      name: '_rels/.rels',
      data: xml(
        `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" Type="${RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
      ),
    },
    {
      name: 'xl/workbook.xml',
      data: xml(
        `<workbook xmlns="${MAIN}" xmlns:r="${RELATIONSHIPS}"><sheets><sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: xml(
        `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" Type="${RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
      ),
    },
  ];
}

/** A one-sheet workbook whose sheet part is `sheetXml` (for malformed and hostile sheets). */
export function workbookWithSheet(sheetXml: string, options: { lieAboutSize?: boolean } = {}): Buffer {
  const data = Buffer.from(sheetXml);
  return zipOf([
    ...handBuiltWorkbookParts(),
    { name: 'xl/worksheets/sheet1.xml', data, ...(options.lieAboutSize ? { declaredSize: 1024 } : {}) },
  ]);
}
