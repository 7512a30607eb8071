/**
 * `switchboard import`: uploads a roster to a running hub over the admin API (with an admin API
 * key), follows the job with a progress bar, and prints the summary and the rejected rows.
 *
 * It talks to the hub rather than to the database because that is where imports run: the job
 * queue, the events and the provisioning that follows live in the hub, the embedded database
 * belongs to the running hub process (one process per data directory), and the same command works
 * against a hub on another machine.
 */
import { openAsBlob } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

export interface ImportCommandOptions {
  org: string;
  file: string;
  url: string;
  apiKey: string;
  sheet?: string;
  /** A JSON object, or the path of a file holding one. */
  mapping?: string;
  dryRun?: boolean;
  fullRoster?: boolean;
  group?: string;
  createGroups?: boolean;
  keepUnmapped?: boolean;
  saveMapping?: boolean;
  /** Write the CSV report to this path. */
  report?: string;
  /** Milliseconds between progress polls. */
  pollMs?: number;
}

export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` is a terminal (the bar redraws in place) or a log (one line per step). */
  isTty: boolean;
}

interface ImportState {
  id: string;
  status: string;
  mode: string;
  filename: string;
  format: string;
  sheet: string | null;
  mapping: Array<{ header: string; target: string; origin: string }>;
  progress: { phase: string | null; rowsDone: number; totalRows: number | null };
  counts: Record<string, number>;
  error: { code: string; detail: string; fix?: string } | null;
}

export class CommandError extends Error {}

const OUTCOMES = ['created', 'updated', 'unchanged', 'deactivated', 'rejected'] as const;
const MAX_REJECTED_SHOWN = 20;

/** Runs the command; resolves with the process exit code. */
export async function runImportCommand(options: ImportCommandOptions, io: CommandOutput): Promise<number> {
  const api = apiClient(options.url, options.apiKey);
  const size = (
    await stat(options.file).catch(() => {
      throw new CommandError(`Cannot read ${options.file}.`);
    })
  ).size;
  const form = new FormData();
  form.set('file', await openAsBlob(options.file), basename(options.file));
  form.set('dryRun', options.dryRun ? 'true' : 'false');
  if (options.fullRoster) form.set('fullRoster', 'true');
  if (options.sheet) form.set('sheet', options.sheet);
  if (options.group) form.set('group', options.group);
  if (options.createGroups) form.set('createGroups', 'true');
  if (options.keepUnmapped) form.set('keepUnmapped', 'true');
  if (options.saveMapping) form.set('saveMapping', 'true');
  if (options.mapping) form.set('mapping', await readMapping(options.mapping));

  io.out(`Uploading ${basename(options.file)} (${formatBytes(size)}) to ${options.url} ...\n`);
  const base = `/api/v1/organizations/${encodeURIComponent(options.org)}/imports`;
  let state = await api<ImportState>('POST', base, form);
  io.out(
    `Import ${state.id}: ${state.format}${state.sheet ? `, sheet "${state.sheet}"` : ''}; columns ${describeMapping(state)}.\n`,
  );
  const bar = progressBar(io, options.dryRun ? 'previewing' : 'applying');
  while (!['previewed', 'applied', 'failed'].includes(state.status)) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    state = await api<ImportState>('GET', `${base}/${state.id}`);
    bar.update(state);
  }
  bar.done(state);
  if (state.status === 'failed') {
    io.err(
      `Import failed: ${state.error?.detail ?? 'unknown error'} (${state.error?.code ?? 'import_failed'})\n`,
    );
    if (state.error?.fix) io.err(`${state.error.fix}\n`);
    return 1;
  }
  const total = OUTCOMES.reduce((sum, outcome) => sum + (state.counts[outcome] ?? 0), 0);
  const verb = state.status === 'applied' ? 'Applied' : 'Dry run of';
  io.out(
    `${verb} ${state.filename}: ${OUTCOMES.map((outcome) => `${state.counts[outcome] ?? 0} ${outcome}`).join(', ')} (${total} outcomes).\n`,
  );
  if (state.counts.rejected) {
    const rejected = await api<{
      data: Array<{
        rowNumber: number | null;
        email: string | null;
        reasons: Array<{ code: string; message: string }>;
      }>;
    }>('GET', `${base}/${state.id}/rows?outcome=rejected&limit=${MAX_REJECTED_SHOWN}`);
    io.out('Rejected rows:\n');
    for (const row of rejected.data) {
      const reasons = row.reasons.map((reason) => `${reason.code}: ${reason.message}`).join('; ');
      io.out(`  row ${row.rowNumber ?? '-'}  ${row.email ?? '(no email)'}  ${reasons}\n`);
    }
    if ((state.counts.rejected ?? 0) > rejected.data.length)
      io.out(`  ... and ${(state.counts.rejected ?? 0) - rejected.data.length} more in the report.\n`);
  }
  if (options.report) {
    const csv = await api<string>('GET', `${base}/${state.id}/report.csv`, undefined, 'text');
    await writeFile(options.report, csv);
    io.out(`Report written to ${options.report}.\n`);
  } else {
    io.out(`Report: ${options.url}${base}/${state.id}/report.csv\n`);
  }
  if (state.status === 'previewed') {
    io.out(
      `Nothing was changed. Apply it with: POST ${base}/${state.id}/apply, or run again without --dry-run.\n`,
    );
  }
  return 0;
}

async function readMapping(value: string): Promise<string> {
  const text = value.trim().startsWith('{')
    ? value
    : await readFile(value, 'utf8').catch(() => {
        throw new CommandError(`--mapping is neither a JSON object nor a readable file: ${value}`);
      });
  try {
    JSON.parse(text);
  } catch {
    throw new CommandError('--mapping is not valid JSON (expected {"Header": "email", ...}).');
  }
  return text;
}

function describeMapping(state: ImportState): string {
  const mapped = state.mapping.filter((column) => column.target !== 'ignore');
  return mapped.map((column) => `${column.header} -> ${column.target}`).join(', ') || 'none';
}

function apiClient(url: string, apiKey: string) {
  const origin = url.replace(/\/+$/, '');
  return async <T>(
    method: string,
    path: string,
    body?: FormData,
    as: 'json' | 'text' = 'json',
  ): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${origin}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}` },
        ...(body ? { body } : {}),
      });
    } catch (error) {
      throw new CommandError(
        `Cannot reach the hub at ${origin}: ${(error as Error).cause ? String((error as { cause: unknown }).cause) : (error as Error).message}. Start it, or pass --url.`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = text.slice(0, 500);
      try {
        const problem = JSON.parse(text) as { detail?: string; code?: string; fix?: string };
        detail = `${problem.detail ?? detail} (${problem.code ?? response.status})${problem.fix ? `\n${problem.fix}` : ''}`;
      } catch {
        // not a problem document: show the text
      }
      throw new CommandError(`The hub answered ${response.status}: ${detail}`);
    }
    return (as === 'text' ? text : JSON.parse(text)) as T;
  };
}

/** A progress bar: redrawn in place on a terminal, one line per tenth (and per phase) in a log. */
function progressBar(io: CommandOutput, label: string) {
  let lastLogged = '';
  const render = (state: ImportState): string => {
    const { phase, rowsDone, totalRows } = state.progress;
    if (phase === 'counting' || totalRows === null) return `${label} counting rows ...`;
    if (phase === 'roster')
      return `${label} [${'#'.repeat(30)}] 100% ${rowsDone}/${totalRows} rows, checking the roster ...`;
    const ratio = totalRows === 0 ? 1 : Math.min(1, rowsDone / totalRows);
    const filled = Math.round(ratio * 30);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${rowsDone}/${totalRows} rows`;
  };
  const step = (state: ImportState): string => {
    const { phase, rowsDone, totalRows } = state.progress;
    const tenth = totalRows ? Math.floor((rowsDone / Math.max(totalRows, 1)) * 10) : 0;
    return `${phase}:${tenth}`;
  };
  return {
    update(state: ImportState) {
      if (state.status === 'queued' || state.status === 'uploading') return;
      if (io.isTty) {
        io.out(`\r${render(state)}`);
        return;
      }
      const key = step(state);
      if (key !== lastLogged) {
        lastLogged = key;
        io.out(`${render(state)}\n`);
      }
    },
    done(state: ImportState) {
      if (state.status === 'failed') {
        if (io.isTty) io.out('\n');
        return;
      }
      const final = render({
        ...state,
        progress: {
          ...state.progress,
          phase: 'rows',
          rowsDone: state.progress.totalRows ?? state.progress.rowsDone,
        },
      });
      io.out(io.isTty ? `\r${final}\n` : lastLogged === 'rows:10' ? '' : `${final}\n`);
    },
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
