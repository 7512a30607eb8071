#!/usr/bin/env node
/**
 * The `switchboard` command line: start the hub, apply migrations, manage admin API keys and the
 * OpenID provider's signing keys, print the configuration reference.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Config, ConfigError, loadConfig, renderConfigTable } from './config.ts';
import { closeHub, createHub, type Hub } from './hub.ts';
import { cliActor } from './modules/events/index.ts';
import { CommandError, runImportCommand } from './modules/imports/index.ts';
import type { SigningKeyView } from './modules/provider/index.ts';
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
        cliActor(),
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
      const key = await hub.apiKeys.revoke(id, cliActor());
      console.log(`Revoked ${key.id} (${key.name}).`);
    });
  });

const admin = program.command('admin').description('The admin console (/admin).');

admin
  .command('login-link')
  .description(
    'Print a one-time link that signs in to the console as owner (first-run bootstrap: then grant roles to people, who sign in with SSO).',
  )
  .option('--force', 'print a link even though a console owner already exists (recovery)')
  .action(async (options: { force?: boolean }) => {
    await withHub(async (hub) => {
      if (!options.force && (await hub.console.service.hasOwner())) {
        console.error(
          'A console owner already exists: sign in with SSO at /admin. To recover access anyway, run again with --force (the link is audited).',
        );
        process.exitCode = 1;
        return;
      }
      const { url, expiresAt } = await hub.console.service.createLoginLink(cliActor());
      console.log(url);
      console.error(
        `Open it in a browser before ${expiresAt}; it works once. Then grant yourself a role under People, so you sign in with SSO next time.`,
      );
    });
  });

const keys = program
  .command('keys')
  .description('Manage the OpenID provider signing keys (ES256 and RS256).')
  .addHelpText(
    'after',
    `
Lifecycle: a rotated-in key is published in the JWKS at once and signs after --activate-in; the
key it replaces stays published until the tokens it signed have expired (the longest ID token
lifetime plus a minute), then leaves the JWKS. Every hub process picks up a rotation within a
minute (at once on PostgreSQL), well inside the default activation delay.`,
  );

keys
  .command('list')
  .description('List signing keys and where each is in its lifecycle.')
  .action(async () => {
    await withHub(async (hub) => {
      await hub.provider.keys.ensure();
      printKeys(await hub.provider.keys.list());
    });
  });

keys
  .command('rotate')
  .description('Publish new signing keys now; they sign after --activate-in.')
  .addOption(new Option('--alg <alg>', 'rotate only this algorithm').choices(['RS256', 'ES256']))
  .option(
    '--activate-in <duration>',
    'how long the new key is published before it signs: seconds, or 30m, 2h, 1d (default PROVIDER_KEY_ACTIVATION_DELAY_SECONDS); 0 for a compromised key',
    parseDuration,
  )
  .action(async (options: { alg?: 'RS256' | 'ES256'; activateIn?: number }) => {
    await withHub(async (hub) => {
      const created = await hub.provider.keys.rotate(
        {
          ...(options.alg ? { algorithms: [options.alg] } : {}),
          ...(options.activateIn !== undefined ? { activateInSeconds: options.activateIn } : {}),
        },
        cliActor(),
      );
      for (const key of created) {
        console.log(`New ${key.alg} key ${key.kid}: published now, signs from ${key.activatesAt}.`);
      }
      console.log('');
      printKeys(await hub.provider.keys.list());
    });
  });

keys
  .command('revoke <kid>')
  .description('Withdraw a key at once (compromise): it neither signs nor verifies any more.')
  .action(async (kid: string) => {
    await withHub(async (hub) => {
      const key = await hub.provider.keys.revoke(kid, cliActor());
      console.log(`Revoked ${key.alg} key ${key.kid}; tokens it signed no longer verify.`);
    });
  });

function printKeys(list: SigningKeyView[]): void {
  for (const key of list) {
    const when =
      key.status === 'next'
        ? `signs from ${key.activatesAt}`
        : key.status === 'active'
          ? `signing since ${key.activatesAt}${key.retiresAt ? `, until ${key.retiresAt}` : ''}`
          : key.status === 'retired'
            ? `verify only, unpublished at ${key.unpublishAt}`
            : key.status === 'revoked'
              ? `revoked ${key.revokedAt}`
              : `unpublished since ${key.unpublishAt}`;
    console.log([key.alg, key.status.padEnd(7), key.kid, when].join('  '));
  }
}

function parseDuration(value: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected seconds or a duration such as 30m, 2h, 1d');
  const units = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
  return Number(match[1]) * units[(match[2] ?? 's') as keyof typeof units];
}

program
  .command('import <org> <file>')
  .description(
    'Import a roster (.csv or .xlsx) into an organization through a running hub: upload, progress bar, summary.',
  )
  .option('--sheet <sheet>', 'workbook sheet to read: name or position from 1 (default the first)')
  .option(
    '--mapping <json|file>',
    'column mapping override: JSON such as {"Correo":"email"}, or a file holding it',
  )
  .option('--dry-run', 'only preview what would change (nothing is written)')
  .option('--full-roster', 'the file lists everyone: deactivate active people missing from it')
  .option('--group <name>', 'a group (cohort) every person of the file joins')
  .option('--create-groups', 'create groups the file names that do not exist yet')
  .option('--keep-unmapped', 'keep unmapped columns as custom profile attributes')
  .option('--save-mapping', "save this file's column mapping for the organization's next files")
  .option('--report <path>', 'write the CSV report (every row and its outcome) to this file')
  .option(
    '--url <url>',
    "the hub's base URL (default SWITCHBOARD_URL, else PUBLIC_URL, else http://localhost:PORT)",
  )
  .option(
    '--api-key <key>',
    'an admin API key (default SWITCHBOARD_API_KEY; prefer the variable: flags show in ps)',
  )
  .addHelpText(
    'after',
    `
The command talks to the running hub over the admin API, where imports run as jobs (the embedded
database belongs to the hub process). Exit code 0 when the import finished (rows may be rejected:
see the summary), 1 when it failed or the hub refused it.`,
  )
  .action(
    async (
      org: string,
      file: string,
      options: {
        sheet?: string;
        mapping?: string;
        dryRun?: boolean;
        fullRoster?: boolean;
        group?: string;
        createGroups?: boolean;
        keepUnmapped?: boolean;
        saveMapping?: boolean;
        report?: string;
        url?: string;
        apiKey?: string;
      },
    ) => {
      const apiKey = options.apiKey ?? process.env.SWITCHBOARD_API_KEY;
      if (!apiKey) {
        console.error('An admin API key is needed: set SWITCHBOARD_API_KEY (or pass --api-key).');
        process.exit(2);
      }
      const url =
        options.url ??
        process.env.SWITCHBOARD_URL ??
        process.env.PUBLIC_URL ??
        `http://localhost:${process.env.PORT ?? 8080}`;
      try {
        const code = await runImportCommand(
          { ...options, org, file, url, apiKey },
          {
            out: (text) => process.stdout.write(text),
            err: (text) => process.stderr.write(text),
            isTty: Boolean(process.stdout.isTTY),
          },
        );
        process.exit(code);
      } catch (error) {
        if (error instanceof CommandError) {
          console.error(error.message);
          process.exit(1);
        }
        throw error;
      }
    },
  );

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
