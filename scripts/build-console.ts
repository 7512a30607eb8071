/**
 * Builds the admin console (web/ → web/dist) with Vite. Runs on `npm install` (prepare) and on
 * `npm run build`; the tests run it when web/dist is missing. Without Vite installed (an install
 * that omitted devDependencies) it says so and leaves the hub serving a "not built" page.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vite = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));

if (!existsSync(vite)) {
  console.warn(
    'console: Vite is not installed (devDependencies omitted?); /admin will say the console is not built.',
  );
  process.exit(process.argv.includes('--required') ? 1 : 0);
}
const result = spawnSync(
  process.execPath,
  [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
