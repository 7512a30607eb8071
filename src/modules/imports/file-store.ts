/**
 * The uploaded file lives in the database, in chunks of 1 MiB, from upload until it is applied:
 * the job that previews or applies it may run in another hub process, on another machine, and a
 * retried job reads the same bytes again. Reading streams it back one chunk at a time.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Database } from '../../platform/db/client.ts';
import { PayloadTooLarge } from '../../platform/errors.ts';
import { EncodingDetector, type FileFormat, sniffFormat, type TextEncoding } from './file-format.ts';
import { insertFileChunk, readFileChunk } from './repository.ts';
import type { RandomAccessFile } from './zip-archive.ts';

export const CHUNK_BYTES = 1024 * 1024;
/** Bytes looked at to tell the format. */
const SNIFF_BYTES = 4096;

export interface StoredFile {
  byteSize: number;
  sha256: string;
  format: FileFormat;
  /** Text files only. */
  encoding: TextEncoding | null;
}

/**
 * Streams an upload into chunk rows. The format is checked on the first bytes, before anything
 * else is stored; a file over `maxBytes` is refused (413) as soon as it passes the limit.
 */
export async function storeUpload(
  database: Database,
  key: { organizationId: string; importId: string },
  filename: string,
  stream: Readable,
  maxBytes: number,
): Promise<StoredFile> {
  const hash = createHash('sha256');
  const detector = new EncodingDetector();
  let format: FileFormat | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let seq = 0;
  const flush = async (final: boolean) => {
    while (pendingBytes >= CHUNK_BYTES || (final && pendingBytes > 0)) {
      const all = Buffer.concat(pending);
      const chunk = all.subarray(0, CHUNK_BYTES);
      const rest = all.subarray(chunk.length);
      await insertFileChunk(database.db, key.organizationId, key.importId, seq++, Buffer.from(chunk));
      pending = rest.length ? [Buffer.from(rest)] : [];
      pendingBytes = rest.length;
    }
  };
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      total += piece.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      hash.update(piece);
      detector.push(piece);
      pending.push(piece);
      pendingBytes += piece.length;
      if (!format && pendingBytes >= SNIFF_BYTES) format = sniffFormat(Buffer.concat(pending), filename);
      if (format) await flush(false);
    }
    if ((stream as { truncated?: boolean }).truncated) throw tooLarge(maxBytes);
    if (!format) format = sniffFormat(Buffer.concat(pending), filename);
    await flush(true);
  } catch (error) {
    // Let the rest of the request body pass so the error response reaches the client.
    stream.resume();
    throw error;
  }
  return {
    byteSize: total,
    sha256: hash.digest('hex'),
    format,
    encoding: format === 'csv' ? detector.result() : null,
  };
}

function tooLarge(maxBytes: number): PayloadTooLarge {
  return new PayloadTooLarge({
    code: 'import_file_too_large',
    detail: `The file is larger than ${maxBytes} bytes, the most an import accepts (IMPORT_MAX_BYTES).`,
    field: 'file',
    fix: 'Split the roster into several files, or ask the operator to raise IMPORT_MAX_BYTES.',
  });
}

/** The stored file's bytes, one chunk at a time. */
export async function* readStoredFile(
  database: Database,
  key: { organizationId: string; importId: string },
): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const chunk = await readFileChunk(database.db, key.organizationId, key.importId, seq);
    if (!chunk) return;
    yield chunk;
  }
}

/** Chunks a random-access reader keeps: a workbook's small parts and its directory sit in the first and last. */
const CACHED_CHUNKS = 4;

/**
 * The stored file read at any offset (a workbook is read through its ZIP directory, at the end of
 * the file, then part by part): the chunks holding the range are fetched and the last few kept,
 * so each is fetched about once per pass (a 1 MiB chunk costs 0.2-0.5 s on the embedded database
 * under load; keeping only one, a 20,000-row workbook's first chunk was fetched 4 times a pass).
 */
export function storedFileAt(
  database: Database,
  key: { organizationId: string; importId: string },
  size: number,
): RandomAccessFile {
  const cache = new Map<number, Buffer>();
  const chunk = async (seq: number): Promise<Buffer> => {
    const cached = cache.get(seq);
    if (cached) {
      // Most recently used last.
      cache.delete(seq);
      cache.set(seq, cached);
      return cached;
    }
    const data = await readFileChunk(database.db, key.organizationId, key.importId, seq);
    if (!data) throw new Error(`chunk ${seq} of the file of import ${key.importId} is missing`);
    cache.set(seq, data);
    if (cache.size > CACHED_CHUNKS) cache.delete(cache.keys().next().value as number);
    return data;
  };
  return {
    size,
    async read(offset, length) {
      const end = Math.min(offset + length, size);
      const pieces: Buffer[] = [];
      for (let at = offset; at < end; ) {
        const seq = Math.floor(at / CHUNK_BYTES);
        const data = await chunk(seq);
        const from = at - seq * CHUNK_BYTES;
        const to = Math.min(data.length, end - seq * CHUNK_BYTES);
        if (to <= from) throw new Error(`chunk ${seq} of the file of import ${key.importId} is short`);
        pieces.push(data.subarray(from, to));
        at += to - from;
      }
      return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    },
  };
}
