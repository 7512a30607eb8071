/**
 * A ZIP archive (an .xlsx workbook is one) read through its central directory, the way every
 * spreadsheet application opens it, never by walking the local headers in stream order: the parts
 * a reader needs can then be read in the order it needs them, whatever order the writer stored
 * them in, and the result never depends on how the bytes arrive.
 *
 * Every part is inflated with a cap on its size: the size the directory declares is checked
 * against the limit before reading, and inflating stops as soon as it passes the declared size
 * (a declared size may lie), so a small file that inflates to gigabytes (a "ZIP bomb") is refused
 * after at most `limit` bytes of work. A part read to its end is checked against its CRC-32.
 *
 * Format: PKWARE's APPNOTE.TXT 6.3.10, sections 4.3.7 (local file header), 4.3.12 (central
 * directory header), 4.3.14-4.3.16 (ZIP64 end of central directory record and locator, end of
 * central directory record) and 4.5.3 (ZIP64 extended information extra field).
 */
import { Readable } from 'node:stream';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';

/** A file read at any offset: the stored upload (in database chunks) or a buffer. */
export interface RandomAccessFile {
  readonly size: number;
  /** `length` bytes from `offset` (fewer only past the end of the file). */
  read(offset: number, length: number): Promise<Buffer>;
}

export function bufferFile(buffer: Buffer): RandomAccessFile {
  return {
    size: buffer.length,
    read: async (offset, length) => buffer.subarray(offset, offset + length),
  };
}

export interface ZipEntry {
  /** The entry's name as stored (`xl/workbook.xml`). */
  name: string;
  flags: number;
  /** 0: stored, 8: deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The file is not a ZIP archive this reader can read; `message` says why, for a person. */
export class ZipFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZipFormatError';
  }
}

/** A part inflates (or says it inflates) past the limit it is read with. */
export class ZipPartTooLargeError extends Error {
  readonly part: string;
  readonly limit: number;
  constructor(part: string, limit: number) {
    super(`${part} inflates to more than ${limit} bytes`);
    this.name = 'ZipPartTooLargeError';
    this.part = part;
    this.limit = limit;
  }
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
/** The end record is 22 bytes followed by a comment of at most 65,535 bytes. */
const MAX_END_RECORD = 22 + 0xffff;
/** A workbook has a few dozen entries; a central directory past this is not a workbook's. */
const MAX_CENTRAL_DIRECTORY_BYTES = 16 * 2 ** 20;
const READ_PIECE = 64 * 1024;
/** Parts up to this size (compressed and inflated) are read and inflated in one piece. */
const SMALL_ENTRY = 2 ** 20;

export class ZipArchive {
  readonly #file: RandomAccessFile;
  /** By name, without a leading slash, lower-cased: OPC part names compare case-insensitively. */
  readonly #entries: Map<string, ZipEntry>;

  private constructor(file: RandomAccessFile, entries: Map<string, ZipEntry>) {
    this.#file = file;
    this.#entries = entries;
  }

  /** Reads the central directory. Throws `ZipFormatError` when the file is not a readable ZIP. */
  static async open(file: RandomAccessFile): Promise<ZipArchive> {
    const end = await findEndRecord(file);
    const directory = await file.read(end.directoryOffset, end.directorySize);
    if (directory.length !== end.directorySize)
      throw new ZipFormatError('its central directory is cut short');
    const entries = new Map<string, ZipEntry>();
    let position = 0;
    for (let index = 0; index < end.entryCount; index++) {
      const entry = parseDirectoryHeader(directory, position);
      position = entry.next;
      if (entry.entry.name.endsWith('/')) continue; // a folder
      const key = partKey(entry.entry.name);
      if (entries.has(key)) throw new ZipFormatError(`it stores ${entry.entry.name} twice`);
      entries.set(key, entry.entry);
    }
    return new ZipArchive(file, entries);
  }

  get names(): string[] {
    return [...this.#entries.values()].map((entry) => entry.name);
  }

  /** The entry of a part (`xl/workbook.xml`, `/xl/workbook.xml`; any case), if stored. */
  entry(name: string): ZipEntry | undefined {
    return this.#entries.get(partKey(name));
  }

  /**
   * The part's bytes, inflated, in pieces. Throws `ZipPartTooLargeError` before reading when the
   * directory declares more than `limit` bytes, and as soon as inflating passes `limit`;
   * `ZipFormatError` when the data is corrupt, or (read to the end) its size or CRC-32 is wrong.
   */
  async *read(entry: ZipEntry, limit: number): AsyncGenerator<Buffer> {
    if (entry.uncompressedSize > limit) throw new ZipPartTooLargeError(entry.name, limit);
    if (entry.flags & 0x1) throw new ZipFormatError(`${entry.name} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new ZipFormatError(
        `${entry.name} uses compression method ${entry.method}; only stored and deflated parts are read`,
      );
    }
    const start = await this.#dataStart(entry);
    if (start + entry.compressedSize > this.#file.size)
      throw new ZipFormatError(`${entry.name} runs past the end of the file`);
    if (entry.uncompressedSize <= SMALL_ENTRY && entry.compressedSize <= SMALL_ENTRY) {
      yield await this.#readSmall(entry, start);
      return;
    }
    const compressed = this.#pieces(start, entry.compressedSize);
    let source: AsyncIterable<Buffer> = compressed;
    let inflater: ReturnType<typeof createInflateRaw> | undefined;
    let input: Readable | undefined;
    if (entry.method === 8) {
      input = Readable.from(compressed);
      inflater = createInflateRaw({ chunkSize: READ_PIECE });
      input.on('error', (error) => inflater?.destroy(error));
      input.pipe(inflater);
      source = inflater;
    }
    let size = 0;
    let sum = 0;
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > limit) throw new ZipPartTooLargeError(entry.name, limit);
        // A part that inflates past the size it declared lies about it (a bomb, or corruption).
        if (size > entry.uncompressedSize)
          throw new ZipFormatError(
            `${entry.name} inflates to more than the ${entry.uncompressedSize} bytes its directory entry says`,
          );
        sum = crc32(chunk, sum);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof ZipPartTooLargeError || error instanceof ZipFormatError) throw error;
      // zlib's errors (Z_DATA_ERROR: "invalid distance too far back", Z_BUF_ERROR: "unexpected end
      // of file") say the data is corrupt; any other (the database, say) is not the file's fault.
      if (String((error as { code?: unknown }).code).startsWith('Z_'))
        throw new ZipFormatError(`${entry.name} is corrupt (${(error as Error).message})`, { cause: error });
      throw error;
    } finally {
      input?.destroy();
      inflater?.destroy();
    }
    if (size !== entry.uncompressedSize)
      throw new ZipFormatError(
        `${entry.name} inflates to ${size} bytes, not the ${entry.uncompressedSize} its directory entry says`,
      );
    if (sum >>> 0 !== entry.crc32) throw new ZipFormatError(`${entry.name} fails its CRC-32 check`);
  }

  /**
   * A small part (the workbook part, relationships, styles, a small sheet) in one piece: inflated
   * at once, never to more than the size it declares (zlib stops at `maxOutputLength`).
   */
  async #readSmall(entry: ZipEntry, start: number): Promise<Buffer> {
    const compressed = await this.#file.read(start, entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) data = compressed;
    else {
      try {
        data = inflateRawSync(compressed, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
          throw new ZipFormatError(
            `${entry.name} inflates to more than the ${entry.uncompressedSize} bytes its directory entry says`,
          );
        if (String((error as { code?: unknown }).code).startsWith('Z_'))
          throw new ZipFormatError(`${entry.name} is corrupt (${(error as Error).message})`, {
            cause: error,
          });
        throw error;
      }
    }
    if (data.length !== entry.uncompressedSize)
      throw new ZipFormatError(
        `${entry.name} inflates to ${data.length} bytes, not the ${entry.uncompressedSize} its directory entry says`,
      );
    if (crc32(data) >>> 0 !== entry.crc32) throw new ZipFormatError(`${entry.name} fails its CRC-32 check`);
    return data;
  }

  /** Where the entry's data starts: after its local header, whose name and extra field may differ in length from the directory's. */
  async #dataStart(entry: ZipEntry): Promise<number> {
    const header = await this.#file.read(entry.localHeaderOffset, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_FILE_HEADER)
      throw new ZipFormatError(`the local header of ${entry.name} is missing`);
    return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  }

  async *#pieces(start: number, length: number): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < length; offset += READ_PIECE) {
      const piece = await this.#file.read(start + offset, Math.min(READ_PIECE, length - offset));
      if (piece.length === 0) throw new ZipFormatError('the file ends inside a part');
      yield piece;
    }
  }
}

function partKey(name: string): string {
  return name.replace(/^\/+/, '').toLowerCase();
}

interface EndRecord {
  entryCount: number;
  directorySize: number;
  directoryOffset: number;
}

/** The end of central directory record (and its ZIP64 version when the counts overflow 16/32 bits). */
async function findEndRecord(file: RandomAccessFile): Promise<EndRecord> {
  if (file.size < 22) throw new ZipFormatError('it is too short to be a ZIP archive');
  const tailLength = Math.min(file.size, MAX_END_RECORD);
  const tailStart = file.size - tailLength;
  const tail = await file.read(tailStart, tailLength);
  let at = -1;
  for (let index = tail.length - 22; index >= 0; index--) {
    if (
      tail.readUInt32LE(index) === END_OF_CENTRAL_DIRECTORY &&
      index + 22 + tail.readUInt16LE(index + 20) <= tail.length
    ) {
      at = index;
      break;
    }
  }
  if (at < 0) throw new ZipFormatError('it has no ZIP central directory (truncated or not a ZIP archive)');
  const record: EndRecord = {
    entryCount: tail.readUInt16LE(at + 10),
    directorySize: tail.readUInt32LE(at + 12),
    directoryOffset: tail.readUInt32LE(at + 16),
  };
  const zip64 =
    record.entryCount === 0xffff ||
    record.directorySize === 0xffffffff ||
    record.directoryOffset === 0xffffffff;
  if (zip64 && at >= 20 && tail.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
    const recordOffset = readUInt64(tail, at - 20 + 8);
    const zip64Record = await file.read(recordOffset, 56);
    if (zip64Record.length < 56 || zip64Record.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY)
      throw new ZipFormatError('its ZIP64 end record is missing');
    record.entryCount = readUInt64(zip64Record, 32);
    record.directorySize = readUInt64(zip64Record, 40);
    record.directoryOffset = readUInt64(zip64Record, 48);
  }
  if (record.directorySize > MAX_CENTRAL_DIRECTORY_BYTES)
    throw new ZipFormatError(
      `its central directory is ${record.directorySize} bytes, more than a workbook has`,
    );
  if (record.directoryOffset + record.directorySize > file.size)
    throw new ZipFormatError('its central directory lies past the end of the file (truncated?)');
  // Each directory header is at least 46 bytes: a count beyond that is a lie.
  if (record.entryCount * 46 > record.directorySize)
    throw new ZipFormatError('its central directory is shorter than its entry count');
  return record;
}

function parseDirectoryHeader(directory: Buffer, position: number): { entry: ZipEntry; next: number } {
  if (position + 46 > directory.length || directory.readUInt32LE(position) !== CENTRAL_DIRECTORY_HEADER)
    throw new ZipFormatError('its central directory is corrupt');
  const flags = directory.readUInt16LE(position + 8);
  const nameLength = directory.readUInt16LE(position + 28);
  const extraLength = directory.readUInt16LE(position + 30);
  const commentLength = directory.readUInt16LE(position + 32);
  const next = position + 46 + nameLength + extraLength + commentLength;
  if (next > directory.length) throw new ZipFormatError('its central directory is corrupt');
  const nameBytes = directory.subarray(position + 46, position + 46 + nameLength);
  // Bit 11: the name is UTF-8; otherwise code page 437, which agrees with ASCII, all OOXML part names use.
  const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
  const entry: ZipEntry = {
    name,
    flags,
    method: directory.readUInt16LE(position + 10),
    crc32: directory.readUInt32LE(position + 16),
    compressedSize: directory.readUInt32LE(position + 20),
    uncompressedSize: directory.readUInt32LE(position + 24),
    localHeaderOffset: directory.readUInt32LE(position + 42),
  };
  applyZip64Extra(
    entry,
    directory.subarray(position + 46 + nameLength, position + 46 + nameLength + extraLength),
  );
  return { entry, next };
}

/** 4.5.3: the 64-bit values of the fields set to 0xFFFFFFFF, in this order. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let field = at + 4;
      const end = at + 4 + size;
      for (const key of ['uncompressedSize', 'compressedSize', 'localHeaderOffset'] as const) {
        if (entry[key] !== 0xffffffff) continue;
        if (field + 8 > end) throw new ZipFormatError(`the ZIP64 sizes of ${entry.name} are cut short`);
        entry[key] = readUInt64(extra, field);
        field += 8;
      }
      return;
    }
    at += 4 + size;
  }
}

function readUInt64(buffer: Buffer, offset: number): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('it declares a size beyond any file');
  return Number(value);
}
