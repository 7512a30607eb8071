/**
 * One provisioning step for one person in one destination: compare desired and actual state and
 * make the destination match, as a sequence of small named steps (`ensureAccount`,
 * `ensureProfile`, `ensureActive`, `ensureEnrollments`, `ensureGroups`, `applyRemovals`). Every
 * call to the destination goes through `#step`, which records an attempt (operation, target, HTTP
 * exchanges without bodies or headers, outcome, status, latency, error).
 *
 * Steps that do not depend on each other run regardless of each other's outcome (`#independently`):
 * a course the destination refuses (422 "Course could not be found") does not keep the person out
 * of their LMS group, nor out of the other courses. The run then fails with every failed step
 * listed (`SyncFailed`), each naming what it was for (`enroll course:999999`). Only the account is
 * a prerequisite, and a failure of the destination as a whole (credentials refused, unreachable,
 * down, rate limited) stops the run at once: the next steps would meet the same wall.
 *
 * Idempotent by construction: an account is looked up (email, then our id as external id) before it
 * is created, enrollments are listed before they are made, and `actual` is updated after every
 * step, so a retry after a crash or a second worker repeats nothing that already happened.
 */
import { createHash } from 'node:crypto';
import type {
  AccountProfile,
  DestinationConnector,
  EnrollmentSpec,
  RemoteAccount,
  RemoteEnrollment,
} from '../../connectors/destination.ts';
import { UnsupportedOperation } from '../../connectors/destination.ts';
import { ConnectorError, type ExchangeRecord } from '../../connectors/http.ts';
import type { DestinationPolicy } from './contracts.ts';
import { type DesiredState, enrollmentKey } from './desired-state.ts';

export interface ActualEnrollment {
  remoteId: string;
  kind: 'course' | 'bundle';
  productId: string;
  activatedAt: string | null;
  expiresAt: string | null;
  /** Expired by us on removal (restored if the person qualifies again). */
  revoked: boolean;
}

/** What we last saw or made exist in the destination. Only what we manage is tracked. */
export interface ActualState {
  account: 'absent' | 'active' | 'suspended' | 'deleted';
  remoteId: string | null;
  email: string | null;
  profileHash: string | null;
  enrollments: Record<string, ActualEnrollment>;
  /** Group names we added the account to. */
  groups: string[];
}

export function emptyActual(): ActualState {
  return { account: 'absent', remoteId: null, email: null, profileHash: null, enrollments: {}, groups: [] };
}

export function parseActual(value: Record<string, unknown> | null | undefined): ActualState {
  const base = emptyActual();
  if (!value || typeof value !== 'object' || !('account' in value)) return base;
  return { ...base, ...(value as Partial<ActualState>) } as ActualState;
}

export interface Drift {
  kind: 'account_missing' | 'enrollment_missing' | 'enrollment_changed' | 'group_missing';
  target: string;
  action: 'restored' | 'reported';
}

export interface AttemptRecord {
  operation: string;
  target: string | null;
  exchanges: ExchangeRecord[];
  outcome: 'succeeded' | 'failed';
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
}

export interface SyncOutcome {
  operations: string[];
  drift: Drift[];
  /** Removals are waiting for the grace period until then. */
  removalAfter: Date | null;
  /** Removals the destination cannot do (reported, not retried). */
  unsupported: string[];
}

/** A step that failed, named by what it was for. */
export interface StepFailure {
  operation: string;
  target: string | null;
  error: string;
  httpStatus: number | null;
  /** The same call may succeed later without any change (network, 5xx, 429). */
  retryable: boolean;
}

/**
 * The run failed: every step that failed, in order. The steps that succeeded are in `operations`
 * and in the actual state, which the caller saves, so a retry repeats only what failed.
 */
export class SyncFailed extends Error {
  override name = 'SyncFailed';
  readonly failures: StepFailure[];
  readonly operations: string[];

  constructor(failures: StepFailure[], operations: string[]) {
    super(
      failures.length === 1
        ? describeFailure(failures[0] as StepFailure)
        : `${failures.length} steps failed: ${failures.map(describeFailure).join('; ')}`,
    );
    this.failures = failures;
    this.operations = operations;
  }

  /** Worth retrying as is: at least one failure may heal by itself. */
  get retryable(): boolean {
    return this.failures.some((failure) => failure.retryable);
  }
}

function describeFailure(failure: StepFailure): string {
  return `${failure.operation}${failure.target ? ` ${failure.target}` : ''} failed: ${failure.error}`;
}

/**
 * The groups of a destination as every job sees them: each group is found or created once, by the
 * first job that needs it, while the others wait for it (Thinkific: adding a person to a group that
 * does not exist yet is a 422, and two jobs creating it race to "name has already been taken").
 */
export interface GroupRegistry {
  /** Resolves when every named group exists; `findOrCreate` runs for those no job has made yet. */
  ensure(names: readonly string[], findOrCreate: (name: string) => Promise<string>): Promise<void>;
}

/** Refusals of one item (this course, this group): the other steps are worth running. */
function isolated(error: unknown): boolean {
  return error instanceof ConnectorError && (error.kind === 'invalid' || error.kind === 'not_found');
}

export class SyncRun {
  readonly actual: ActualState;
  readonly #connector: DestinationConnector;
  readonly #policy: DestinationPolicy;
  readonly #record: (attempt: AttemptRecord) => Promise<void>;
  readonly #operations: string[] = [];
  readonly #drift: Drift[] = [];
  readonly #unsupported: string[] = [];
  readonly #failures: StepFailure[] = [];
  readonly #groups: GroupRegistry | undefined;
  #exchanges: ExchangeRecord[] | undefined;
  /** The failure being reported by `#step`, so `#independently` does not list it twice. */
  #lastFailure: { error: unknown; failure: StepFailure } | undefined;

  constructor(options: {
    actual: ActualState;
    connector: (observe: (record: ExchangeRecord) => void) => DestinationConnector;
    policy: DestinationPolicy;
    record: (attempt: AttemptRecord) => Promise<void>;
    /** Where the destination's groups are found or created once for every job. */
    groups?: GroupRegistry;
  }) {
    this.actual = options.actual;
    this.#policy = options.policy;
    this.#record = options.record;
    this.#groups = options.groups;
    this.#connector = options.connector((exchange) => this.#exchanges?.push(exchange));
  }

  /** Runs the steps; throws `SyncFailed` listing every failed step when any failed. */
  async execute(
    desired: DesiredState,
    options: { verify: boolean; removalAfter: Date | null; now?: Date },
  ): Promise<SyncOutcome> {
    const now = options.now ?? new Date();
    const removals: Array<() => Promise<void>> = [];
    try {
      if (desired.account && desired.profile) {
        const profile = desired.profile;
        const outcome = await this.#ensureAccount(profile, options.verify);
        if (outcome) {
          const { account, created } = outcome;
          await this.#independently(() => this.#ensureProfile(account, profile, created));
          await this.#independently(() => this.#ensureActive(account, profile));
          removals.push(...(await this.#ensureEnrollments(account, desired, created, options.verify, now)));
          await this.#independently(async () => {
            removals.push(...(await this.#ensureGroups(account, desired, created, options.verify)));
          });
        }
      } else if (this.actual.account === 'active' || this.actual.account === 'suspended') {
        removals.push(...this.#fullRemoval(now));
      }
      const removalAfter = await this.#applyRemovals(removals, options.removalAfter, now);
      if (this.#failures.length) throw new SyncFailed(this.#failures, this.#operations);
      return {
        operations: this.#operations,
        drift: this.#drift,
        removalAfter,
        unsupported: this.#unsupported,
      };
    } catch (error) {
      if (error instanceof SyncFailed) throw error;
      // A prerequisite (the account) or the destination as a whole failed: stop, listing it too.
      throw new SyncFailed([...this.#failures, this.#failureOf(error)], this.#operations);
    }
  }

  /**
   * Runs a step whose failure must not keep the next ones from running: a refusal of its item is
   * listed and the run goes on; a failure of the destination as a whole stops the run.
   */
  async #independently<T>(work: () => Promise<T>): Promise<{ value: T } | undefined> {
    try {
      return { value: await work() };
    } catch (error) {
      if (!isolated(error)) throw error;
      this.#failures.push(this.#failureOf(error));
      return undefined;
    }
  }

  #failureOf(error: unknown): StepFailure {
    const last = this.#lastFailure;
    if (last && last.error === error) return last.failure;
    return {
      operation: 'sync',
      target: null,
      error: (error as Error).message,
      httpStatus: error instanceof ConnectorError ? (error.status ?? null) : null,
      retryable: !(error instanceof ConnectorError) || error.retryable,
    };
  }

  /** Finds or creates the account; undefined when a missing account is only reported (drift policy). */
  async #ensureAccount(
    profile: AccountProfile,
    verify: boolean,
  ): Promise<{ account: RemoteAccount; created: boolean } | undefined> {
    const { actual } = this;
    const known = actual.remoteId && (actual.account === 'active' || actual.account === 'suspended');
    const readBack = this.#connector.capabilities.readBack;
    if (known && !(verify && readBack)) {
      return {
        account: { remoteId: actual.remoteId as string, email: actual.email ?? profile.email },
        created: false,
      };
    }
    if (readBack) {
      const found = await this.#step('find-user', profile.email, () => this.#connector.findAccount(profile));
      if (found) {
        if (actual.account === 'absent' || actual.account === 'deleted') actual.account = 'active';
        actual.remoteId = found.remoteId;
        actual.email = found.email;
        return { account: found, created: false };
      }
      if (known && verify) {
        const action = this.#policy.drift === 'restore' ? 'restored' : 'reported';
        this.#drift.push({ kind: 'account_missing', target: profile.email, action });
        if (action === 'reported') return undefined;
      }
    }
    const created = await this.#step('create-user', profile.email, () =>
      this.#connector.createAccount(profile),
    );
    Object.assign(actual, {
      account: 'active',
      remoteId: created.remoteId,
      email: created.email,
      profileHash: hashProfile(profile),
      enrollments: {},
      groups: [],
    });
    return { account: created, created: true };
  }

  async #ensureProfile(account: RemoteAccount, profile: AccountProfile, created: boolean): Promise<void> {
    const hash = hashProfile(profile);
    if (created || this.actual.profileHash === hash) {
      this.actual.profileHash = hash;
      return;
    }
    // First sight of an existing account (found, not created): bring its names and email in line.
    await this.#step('update-user', profile.email, () => this.#connector.updateAccount(account, profile));
    this.actual.profileHash = hash;
    this.actual.email = profile.email;
  }

  async #ensureActive(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    if (this.actual.account !== 'suspended') return;
    await this.#step('activate-user', profile.email, () => this.#connector.activateAccount(account, profile));
    this.actual.account = 'active';
  }

  async #ensureEnrollments(
    account: RemoteAccount,
    desired: DesiredState,
    created: boolean,
    verify: boolean,
    now: Date,
  ): Promise<Array<() => Promise<void>>> {
    const connector = this.#connector;
    if (!connector.capabilities.enrollments) return [];
    const managed = this.actual.enrollments;
    const wanted = new Map(desired.enrollments.map((spec) => [enrollmentKey(spec), spec]));
    const needsLook =
      connector.capabilities.readBack &&
      !created &&
      (verify || [...wanted.keys()].some((key) => !managed[key] || managed[key].revoked));
    let remote: Map<string, RemoteEnrollment> | undefined;
    if (needsLook) {
      const products: EnrollmentSpec[] = [
        ...wanted.values(),
        ...Object.values(managed)
          .filter((entry) => !wanted.has(enrollmentKey(entry)))
          .map((entry) => ({ ...entry })),
      ];
      const listed = await this.#independently(() =>
        this.#step('list-enrollments', null, () => connector.listEnrollments(account, products)),
      );
      // Without the list, enrolling could duplicate: the enrollments wait for the retry.
      if (!listed) return [];
      remote = new Map(listed.value.map((enrollment) => [enrollmentKey(enrollment), enrollment]));
    }
    for (const [key, spec] of wanted) {
      const mine = managed[key];
      const current: RemoteEnrollment | undefined = remote
        ? remote.get(key)
        : mine
          ? { ...mine, expired: mine.revoked }
          : undefined;
      if (!current) {
        if (verify && mine && !mine.revoked) {
          const action = this.#policy.drift === 'restore' ? 'restored' : 'reported';
          this.#drift.push({ kind: 'enrollment_missing', target: key, action });
          if (action === 'reported') continue;
        }
        await this.#independently(async () => {
          const made = await this.#step('enroll', key, () => connector.enroll(account, spec));
          managed[key] = { ...spec, remoteId: made.remoteId, revoked: false };
        });
        continue;
      }
      if (!sameTime(current.activatedAt, spec.activatedAt) || !sameTime(current.expiresAt, spec.expiresAt)) {
        const changedByHand =
          verify &&
          mine &&
          !mine.revoked &&
          sameTime(mine.expiresAt, spec.expiresAt) &&
          sameTime(mine.activatedAt, spec.activatedAt);
        if (changedByHand) {
          const action = this.#policy.drift === 'restore' ? 'restored' : 'reported';
          this.#drift.push({ kind: 'enrollment_changed', target: key, action });
          if (action === 'reported') continue;
        }
        const times = { activatedAt: spec.activatedAt, expiresAt: spec.expiresAt };
        const updated = await this.#independently(() =>
          this.#step(mine?.revoked ? 'restore-enrollment' : 'update-enrollment', key, () =>
            connector.updateEnrollment(account, current, times),
          ),
        );
        if (!updated) continue;
      }
      managed[key] = { ...spec, remoteId: current.remoteId, revoked: false };
    }
    const removals: Array<() => Promise<void>> = [];
    for (const [key, entry] of Object.entries(managed)) {
      if (wanted.has(key) || entry.revoked) continue;
      removals.push(() => this.#removeEnrollment(account, key, entry, now));
    }
    return removals;
  }

  async #ensureGroups(
    account: RemoteAccount,
    desired: DesiredState,
    created: boolean,
    verify: boolean,
  ): Promise<Array<() => Promise<void>>> {
    const connector = this.#connector;
    if (!connector.capabilities.groups) return [];
    const lower = (name: string) => name.toLowerCase();
    const have = new Set(this.actual.groups.map(lower));
    let missing = desired.groups.filter((name) => !have.has(lower(name)));
    if (verify && !created && connector.capabilities.listGroups && desired.groups.length) {
      const present = new Set(
        (await this.#step('list-groups', null, () => connector.listGroups(account, desired.groups))).map(
          lower,
        ),
      );
      for (const name of desired.groups) {
        if (present.has(lower(name)) || !have.has(lower(name))) continue;
        const action = this.#policy.drift === 'restore' ? 'restored' : 'reported';
        this.#drift.push({ kind: 'group_missing', target: name, action });
        if (action === 'restored') missing.push(name);
      }
      missing = [...new Set(missing)].filter((name) => !present.has(lower(name)));
    }
    if (missing.length) {
      await this.#groupsExist(missing);
      await this.#step('add-to-group', missing.join(', '), () => connector.addToGroups(account, missing));
      this.actual.groups = [...this.actual.groups, ...missing].sort();
    }
    const wanted = new Set(desired.groups.map(lower));
    return this.actual.groups
      .filter((name) => !wanted.has(lower(name)))
      .map((name) => () => this.#removeGroup(account, name));
  }

  /**
   * Makes sure the groups exist before anyone is added to them, once per destination: through the
   * registry, the first job to need a group finds or creates it and the others reuse it.
   */
  async #groupsExist(names: readonly string[]): Promise<void> {
    const connector = this.#connector;
    if (!connector.ensureGroup || !this.#groups) return;
    const ensureGroup = connector.ensureGroup.bind(connector);
    await this.#groups.ensure(names, async (name) => {
      const group = await this.#step('ensure-group', name, () => ensureGroup(name));
      return group.remoteId;
    });
  }

  /** Everything we manage goes, per policy: the person no longer qualifies for this destination. */
  #fullRemoval(now: Date): Array<() => Promise<void>> {
    const { actual } = this;
    const account: RemoteAccount = { remoteId: actual.remoteId as string, email: actual.email ?? '' };
    const profile: AccountProfile = {
      userId: '',
      email: actual.email ?? '',
      givenName: '',
      familyName: '',
      displayName: '',
    };
    const removals: Array<() => Promise<void>> = [];
    for (const [key, entry] of Object.entries(actual.enrollments)) {
      if (!entry.revoked) removals.push(() => this.#removeEnrollment(account, key, entry, now));
    }
    for (const name of actual.groups) removals.push(() => this.#removeGroup(account, name));
    const actions = this.#policy.onRemoval;
    if (actions.includes('suspend') && actual.account === 'active') {
      if (this.#connector.capabilities.suspend) {
        removals.push(async () => {
          await this.#step('suspend-user', actual.email, () =>
            this.#connector.suspendAccount(account, profile),
          );
          actual.account = 'suspended';
        });
      } else if (removals.length) {
        this.#unsupported.push(`suspend-user: ${this.#connector.kind} has no suspended state`);
      }
    }
    if (actions.includes('delete')) {
      removals.push(async () => {
        await this.#step('delete-user', actual.email, () => this.#connector.deleteAccount(account, profile));
        Object.assign(actual, emptyActual(), { account: 'deleted' });
      });
    }
    return removals;
  }

  async #removeEnrollment(account: RemoteAccount, key: string, entry: ActualEnrollment, now: Date) {
    if (!this.#policy.onRemoval.includes('expire_enrollments')) {
      // Not ours to take away under this policy: stop managing it.
      delete this.actual.enrollments[key];
      return;
    }
    const expiresAt = now.toISOString();
    await this.#step('expire-enrollment', key, () =>
      this.#connector.updateEnrollment(
        account,
        { ...entry, expired: false },
        { activatedAt: entry.activatedAt, expiresAt },
      ),
    );
    this.actual.enrollments[key] = { ...entry, expiresAt, revoked: true };
  }

  async #removeGroup(account: RemoteAccount, name: string) {
    const drop = () => {
      this.actual.groups = this.actual.groups.filter((group) => group !== name);
    };
    if (!this.#policy.onRemoval.includes('remove_from_groups')) return drop();
    if (!this.#connector.capabilities.removeFromGroup) {
      this.#unsupported.push(
        `remove-from-group ${name}: ${this.#connector.kind} cannot remove group members`,
      );
      return drop();
    }
    await this.#step('remove-from-group', name, () => this.#connector.removeFromGroup(account, name));
    drop();
  }

  async #applyRemovals(
    removals: Array<() => Promise<void>>,
    scheduled: Date | null,
    now: Date,
  ): Promise<Date | null> {
    if (!removals.length) return null;
    const grace = this.#policy.graceSeconds;
    if (grace > 0) {
      const due = scheduled ?? new Date(now.getTime() + grace * 1000);
      if (due.getTime() > now.getTime()) return due;
    }
    for (const removal of removals) await this.#independently(removal);
    return null;
  }

  async #step<T>(operation: string, target: string | null, work: () => Promise<T>): Promise<T> {
    const exchanges: ExchangeRecord[] = [];
    this.#exchanges = exchanges;
    const started = performance.now();
    try {
      const result = await work();
      await this.#record({
        operation,
        target,
        exchanges,
        outcome: 'succeeded',
        httpStatus: exchanges.at(-1)?.status ?? null,
        latencyMs: Math.round(performance.now() - started),
        error: null,
      });
      this.#operations.push(target ? `${operation} ${target}` : operation);
      return result;
    } catch (error) {
      const httpStatus =
        error instanceof ConnectorError ? (error.status ?? null) : (exchanges.at(-1)?.status ?? null);
      await this.#record({
        operation,
        target,
        exchanges,
        outcome: 'failed',
        httpStatus,
        latencyMs: Math.round(performance.now() - started),
        error: (error as Error).message,
      });
      if (error instanceof UnsupportedOperation) {
        this.#unsupported.push(`${operation}: ${error.message}`);
        return undefined as T;
      }
      this.#lastFailure = {
        error,
        failure: {
          operation,
          target,
          error: (error as Error).message,
          httpStatus,
          retryable: !(error instanceof ConnectorError) || error.retryable,
        },
      };
      throw error;
    } finally {
      this.#exchanges = undefined;
    }
  }
}

function hashProfile(profile: AccountProfile): string {
  return createHash('sha256')
    .update(JSON.stringify([profile.email, profile.givenName, profile.familyName, profile.displayName]))
    .digest('base64url')
    .slice(0, 22);
}

function sameTime(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return Date.parse(a) === Date.parse(b);
}
