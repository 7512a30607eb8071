#!/usr/bin/env node
/**
 * The `switchboard` command line: start the hub, apply migrations, manage admin API keys, print the
 * configuration reference.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Config, ConfigError, loadConfig, renderConfigTable } from './config.ts';
import { closeHub, createHub, type Hub } from './hub.ts';
import { DataDirLockedError } from './platform/db/lock.ts';
import { createLogger } from './platform/logging.ts';
import { exitOnSignals, runHub } from './runtime.ts';

const program = new Command()
  .name('switchboard')
  .description('Self-hosted enterprise connections hub: SSO, SCIM, provisioning and HR data.')
  .showHelpAfterError();

program
  .command('start')
  .description('Run the hub (HTTP server and background work).')
  .addOption(
    new Option('--role <role>', 'web (HTTP only), worker (jobs only, plus health endpoints) or all')
      .choices(['web', 'worker', 'all'])
      .default('all'),
  )
  .action(async (options: { role: 'web' | 'worker' | 'all' }) => {
    const running = await runHub(config(), options.role);
    exitOnSignals(running);
  });

program
  .command('migrate')
  .description('Apply database migrations and exit (start also applies them).')
  .action(async () => {
    await withHub(async () => {
      console.log('Migrations applied.');
    });
  });

const adminKeys = program.command('admin-keys').description('Manage admin API keys.');

adminKeys
  .command('create')
  .description('Create an admin API key and print it once.')
  .requiredOption('--name <name>', 'who or what the key is for', nonEmpty)
  .addOption(
    new Option('--scope <scope>', 'admin (read and write) or read')
      .choices(['admin', 'read'])
      .default('admin'),
  )
  .action(async (options: { name: string; scope: 'admin' | 'read' }) => {
    await withHub(async (hub) => {
      const { key, apiKey } = await hub.apiKeys.create(
        { name: options.name, scopes: [options.scope], via: 'cli' },
        { type: 'cli', name: process.env.USER ?? 'cli' },
      );
      console.log(`Created API key ${apiKey.id} (${options.scope}) named "${apiKey.name}".`);
      console.log('Store it now; it is not shown again:');
      console.log(key);
    });
  });

adminKeys
  .command('list')
  .description('List admin API keys (never the keys themselves).')
  .action(async () => {
    await withHub(async (hub) => {
      const keys = await hub.apiKeys.list();
      if (keys.length === 0)
        console.log('No API keys. Create one with: switchboard admin-keys create --name <name>');
      for (const key of keys) {
        console.log(
          [
            key.id,
            key.prefix,
            key.scopes.join(','),
            key.name,
            key.revokedAt ? `revoked ${key.revokedAt}` : 'active',
            key.lastUsedAt ? `last used ${key.lastUsedAt}` : 'never used',
          ].join('  '),
        );
      }
    });
  });

adminKeys
  .command('revoke <id>')
  .description('Revoke an admin API key.')
  .action(async (id: string) => {
    await withHub(async (hub) => {
      const key = await hub.apiKeys.revoke(id, { type: 'cli', name: process.env.USER ?? 'cli' });
      console.log(`Revoked ${key.id} (${key.name}).`);
    });
  });

program
  .command('config')
  .description('Print the configuration reference and check the current environment.')
  .helpOption('-h, --help', 'print the configuration reference')
  .on('--help', () => {
    console.log(`\nConfiguration (environment variables):\n\n${renderConfigTable()}`);
  })
  .action(() => {
    console.log(renderConfigTable());
    const current = config();
    console.log(
      `\nCurrent environment is valid (${current.databaseKind} database, PUBLIC_URL ${current.PUBLIC_URL}).`,
    );
  });

function nonEmpty(value: string): string {
  if (!value.trim()) throw new InvalidArgumentError('must not be empty');
  return value.trim();
}

function config(): Config {
  return loadConfig(process.env);
}

/** Opens the hub quietly for a one-shot command, then closes it. */
async function withHub(work: (hub: Hub) => Promise<void>): Promise<void> {
  const current = config();
  const hub = await createHub(current, {
    logger: createLogger(process.env.LOG_LEVEL ? current.LOG_LEVEL : 'warn'),
  });
  try {
    await work(hub);
  } finally {
    await closeHub(hub, 1000);
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    console.error(error.message);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    console.error(`Port already in use: ${message}. Set PORT to a free port.`);
    process.exit(1);
  }
  if (code === 'ECONNREFUSED') {
    console.error(`Cannot reach the database: ${message}. Check DATABASE_URL.`);
    process.exit(1);
  }
  if (error && typeof error === 'object' && 'detail' in error && 'code' in error) {
    console.error(`${(error as { detail: string }).detail} (${code})`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
