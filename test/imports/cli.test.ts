/**
 * `switchboard import` against a running hub: a real child process, real HTTP, the admin API key
 * from the environment; it prints the progress bar and the summary.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, usersOf, workbook } from './support.ts';

// Each run starts a Node process that loads the whole CLI: slow on a shared machine.
vi.setConfig({ testTimeout: 120_000 });

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

let t: TestHub;
let dir: string;
beforeAll(async () => {
  t = await createTestHub({ listen: true, workers: true });
  dir = mkdtempSync(join(tmpdir(), 'switchboard-import-'));
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        SWITCHBOARD_API_KEY: t.adminKey,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => {
      stdout += data;
    });
    child.stderr.on('data', (data) => {
      stderr += data;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

it('imports a workbook: upload, progress bar, summary with the rejected rows, report file', async () => {
  const org = await createOrganization(t);
  const rows: unknown[][] = [['Correo electrónico', 'Nombre', 'Apellido']];
  for (let i = 0; i < 1200; i++) rows.push([`persona${i}@example.com`, `Nombre${i}`, `Apellido${i}`]);
  rows.push(['no-es-un-correo', 'Mal', 'Fila']);
  const file = join(dir, 'participantes.xlsx');
  writeFileSync(file, await workbook({ Notas: [['Léame']], Participantes: rows as never }));
  const report = join(dir, 'report.csv');
  const result = await cli([
    'import',
    org.slug,
    file,
    '--sheet',
    'Participantes',
    '--url',
    t.url,
    '--report',
    report,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('Uploading participantes.xlsx');
  expect(result.stdout).toContain('sheet "Participantes"');
  expect(result.stdout).toContain('Correo electrónico -> email');
  // The bar (one line per step when stdout is not a terminal) ends full.
  expect(result.stdout).toMatch(/applying \[#{30}\] 100% 1201\/1201 rows/);
  expect(result.stdout).toContain(
    'Applied participantes.xlsx: 1200 created, 0 updated, 0 unchanged, 0 deactivated, 1 rejected (1201 outcomes).',
  );
  expect(result.stdout).toMatch(/row 1202 {2}no-es-un-correo {2}invalid_email:/);
  expect(readFileSync(report, 'utf8')).toContain('created,1200');
  const users = await usersOf(t, org.id);
  expect(users.length).toBeGreaterThan(0);
});

it('previews with --dry-run and changes nothing', async () => {
  const org = await createOrganization(t);
  const file = join(dir, 'roster.csv');
  writeFileSync(file, 'Email;First name\nada@example.com;Ada\n');
  const result = await cli(['import', org.id, file, '--dry-run', '--url', t.url]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('previewing [');
  expect(result.stdout).toContain(
    'Dry run of roster.csv: 1 created, 0 updated, 0 unchanged, 0 deactivated, 0 rejected',
  );
  expect(result.stdout).toContain('Nothing was changed.');
  expect(await usersOf(t, org.id)).toEqual([]);
});

it('explains a refused upload, a wrong key and a missing key', async () => {
  const org = await createOrganization(t);
  const file = join(dir, 'no-email.csv');
  writeFileSync(file, 'Name\nAda\n');
  const refused = await cli(['import', org.id, file, '--url', t.url]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('import_no_email_column');
  const wrongKey = await cli(['import', org.id, file, '--url', t.url], { SWITCHBOARD_API_KEY: 'sb_wrong' });
  expect(wrongKey.code).toBe(1);
  expect(wrongKey.stderr).toContain('401');
  const noKey = await cli(['import', org.id, file, '--url', t.url], { SWITCHBOARD_API_KEY: '' });
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain('SWITCHBOARD_API_KEY');
});
