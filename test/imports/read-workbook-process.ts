/**
 * Reads a workbook file in a process of its own and prints, as one JSON line, what the reader
 * gave (the row count, or the problem's code, detail and extra) and the process's memory. Run by
 * xlsx-reader.test.ts with a capped heap (`--max-old-space-size=256`, as the README recommends),
 * so that a file that would exhaust the heap kills this process, not the test's.
 *
 *   node --max-old-space-size=256 test/imports/read-workbook-process.ts <file.xlsx> [maxPartBytes]
 */
import { readFile } from 'node:fs/promises';
import { readXlsxRows } from '../../src/modules/imports/xlsx-reader.ts';
import { bufferFile } from '../../src/modules/imports/zip-archive.ts';
import { AppError } from '../../src/platform/errors.ts';

const [path, limit] = process.argv.slice(2);
if (!path) throw new Error('usage: read-workbook-process.ts <file.xlsx> [maxPartBytes]');
const file = await readFile(path);
const started = performance.now();
let rows = 0;
let problem: Record<string, unknown> | undefined;
try {
  for await (const _row of readXlsxRows(bufferFile(file), {
    info: { sheets: [] },
    maxPartBytes: Number(limit ?? 128 * 2 ** 20),
  })) {
    rows++;
  }
} catch (error) {
  if (!(error instanceof AppError)) throw error;
  problem = { code: error.code, status: error.status, detail: error.detail, extra: error.extra };
}
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    rows,
    problem,
    ms: Math.round(performance.now() - started),
    heapUsedMb: Math.round(memory.heapUsed / 2 ** 20),
    rssMb: Math.round(memory.rss / 2 ** 20),
  }),
);
