/**
 * First SSO login: when the login created the person (JIT), their rules run before they are sent
 * on. The step queues their sync jobs at once and waits, up to `PROVISIONING_LOGIN_WAIT_MS`, for
 * every destination that should give them an account to be done, so they land in their course on
 * the first try. A slow or failing destination does not hold them: past the wait they go on and
 * the jobs finish in the background.
 */
import type { Database } from '../../platform/db/client.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { CompletionStep, LoginCompletion } from '../sso/index.ts';
import { computeDesired } from './desired-state.ts';
import type { Orchestrator } from './orchestrator.ts';
import { listRules, listStates } from './repository.ts';

export function provisioningWaitStep(deps: {
  database: Database;
  directory: DirectoryService;
  orchestrator: Orchestrator;
  waitMs: number;
  pollMs?: number;
}): CompletionStep {
  return {
    name: 'provisioning.wait',
    order: 50,
    async run(completion: LoginCompletion) {
      if (!completion.created || deps.waitMs <= 0) return;
      const started = Date.now();
      const { user, organization } = completion;
      const groups = await deps.directory.listUserGroups(user.id);
      const rules = await listRules(deps.database.db, organization.id);
      const candidates = await deps.orchestrator.destinationsFor(organization.id, [user.id], undefined);
      const targets = candidates.filter(
        ({ destination }) => computeDesired(user, groups, rules, destination.row.id).account,
      );
      if (!targets.length) return;
      await deps.orchestrator.queueSync(undefined, targets, { reason: 'first login' });
      const wanted = new Set(targets.map(({ destination }) => destination.row.id));
      const createdAt = Date.parse(user.createdAt);
      for (;;) {
        const states = await listStates(deps.database.db, {
          organizationId: organization.id,
          userId: user.id,
          limit: 100,
        });
        const done = states.filter(
          (state) =>
            wanted.has(state.destinationId) &&
            state.status === 'synced' &&
            state.syncedAt !== null &&
            state.syncedAt.getTime() >= createdAt,
        );
        const failed = states.filter((state) => wanted.has(state.destinationId) && state.status === 'failed');
        if (done.length === wanted.size) {
          await completion.recordTrace(
            true,
            `Provisioned in ${done.length} destination(s) before sending on`,
            {
              waitedMs: Date.now() - started,
            },
          );
          return;
        }
        if (failed.length || Date.now() - started >= deps.waitMs) {
          await completion.recordTrace(
            false,
            failed.length
              ? 'Provisioning failed in a destination; sending on, it will be retried'
              : `Provisioning not finished after ${deps.waitMs} ms; sending on, it completes in the background`,
            { waitedMs: Date.now() - started, done: done.length, expected: wanted.size },
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 200));
      }
    },
  };
}
