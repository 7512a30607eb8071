/**
 * The groups of one destination, found or created once for every job and process: the first job
 * that needs a group claims it (`provisioning_remote_groups`, one statement, so two jobs never both
 * win), finds or creates it in the destination and records its remote id; the others wait for that
 * id instead of racing to create it. A claim lapses after `claimSeconds`, so a job that died while
 * holding one only delays the others.
 */
import { sleep } from '../../connectors/http.ts';
import type { Database } from '../../platform/db/client.ts';
import { claimRemoteGroup, selectRemoteGroup, settleRemoteGroup } from './repository.ts';
import type { GroupRegistry } from './sync.ts';

export class PostgresGroupRegistry implements GroupRegistry {
  readonly #database: Database;
  readonly #key: { organizationId: string; destinationId: string };
  readonly #owner: string;
  readonly #claimSeconds: number;
  readonly #pollMs: number;

  constructor(
    database: Database,
    key: { organizationId: string; destinationId: string },
    /** Who claims (the job id: its own retry may take its claim back). */
    owner: string,
    options: { claimSeconds?: number; pollMs?: number } = {},
  ) {
    this.#database = database;
    this.#key = key;
    this.#owner = owner;
    this.#claimSeconds = options.claimSeconds ?? 120;
    this.#pollMs = options.pollMs ?? 200;
  }

  async ensure(names: readonly string[], findOrCreate: (name: string) => Promise<string>): Promise<void> {
    for (const name of new Set(names)) await this.#ensureOne(name, findOrCreate);
  }

  async #ensureOne(name: string, findOrCreate: (name: string) => Promise<string>): Promise<void> {
    const db = this.#database.db;
    for (;;) {
      if ((await selectRemoteGroup(db, this.#key, name))?.remoteId) return;
      if (await claimRemoteGroup(db, this.#key, name, this.#owner, this.#claimSeconds)) {
        let remoteId: string | null = null;
        try {
          remoteId = await findOrCreate(name);
        } finally {
          // On failure the claim is released (remote id still null): the next job tries.
          await settleRemoteGroup(db, this.#key, name, this.#owner, remoteId);
        }
        return;
      }
      // Another job is making it: wait for its id.
      await sleep(this.#pollMs);
    }
  }
}
