/**
 * The overview of one organization over a window of days: logins per day (succeeded, failed,
 * active users), why logins failed, directory (SCIM/sync) freshness, certificates about to expire,
 * dead-lettered jobs, and provisioning success rate and latency.
 *
 * Login and provisioning figures come from the event log (indexed by organization, type and time),
 * so they do not depend on tables that are kept for less time (login traces) or that other modules
 * own (provisioning attempts): the provisioning module writes `provisioning.succeeded` and
 * `provisioning.failed` events, with `latencyMs` (or `durationMs`, or `requestedAt`) and a failure
 * `code`.
 */
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { DirectoriesService } from '../directory/index.ts';
import type { EventLog } from '../events/index.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { SsoModule } from '../sso/index.ts';
import type { AttentionItem, Overview } from './contracts.ts';

const DAY_MS = 86_400_000;
/** A directory that sent nothing for this long is shown as stale. */
export const DIRECTORY_STALE_AFTER_MS = DAY_MS;
const LOGIN_TYPES = ['login.succeeded', 'login.failed'] as const;
const PROVISIONING_TYPES = ['provisioning.succeeded', 'provisioning.failed'] as const;

export class OverviewService {
  readonly #orgs: OrganizationService;
  readonly #events: EventLog;
  readonly #directories: DirectoriesService;
  readonly #connections: SsoModule['connections'];
  readonly #jobs: JobQueue;

  constructor(deps: {
    orgs: OrganizationService;
    events: EventLog;
    directories: DirectoriesService;
    connections: SsoModule['connections'];
    jobs: JobQueue;
  }) {
    this.#orgs = deps.orgs;
    this.#events = deps.events;
    this.#directories = deps.directories;
    this.#connections = deps.connections;
    this.#jobs = deps.jobs;
  }

  async get(orgIdOrSlug: string, options: { days: number; now?: Date }): Promise<Overview> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const now = options.now ?? new Date();
    // The window is whole UTC days, today included.
    const todayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const since = new Date(todayStart - (options.days - 1) * DAY_MS);
    const dates = Array.from({ length: options.days }, (_, index) =>
      new Date(since.getTime() + index * DAY_MS).toISOString().slice(0, 10),
    );

    const [daily, activeUsers, loginReasons, latency, provisioningReasons, directories, connections, dead] =
      await Promise.all([
        this.#events.dailyCounts(org.id, [...LOGIN_TYPES, ...PROVISIONING_TYPES], since),
        this.#events.distinctSubjects(org.id, ['login.succeeded'], since),
        this.#events.countsByReason(org.id, 'login.failed', ['code'], since),
        this.#events.latency(org.id, 'provisioning.succeeded', since),
        this.#events.countsByReason(org.id, 'provisioning.failed', ['code', 'errorCode', 'error'], since),
        this.#directories.list(org.id),
        this.#connections.list(org.id),
        this.#jobs.deadLetterCounts(org.id),
      ]);

    const countOf = (date: string, type: string) =>
      daily.find((row) => row.day === date && row.type === type) ?? { count: 0, subjects: 0 };
    const loginDays = dates.map((date) => ({
      date,
      succeeded: countOf(date, 'login.succeeded').count,
      failed: countOf(date, 'login.failed').count,
      activeUsers: countOf(date, 'login.succeeded').subjects,
    }));
    const provisioningDays = dates.map((date) => ({
      date,
      succeeded: countOf(date, 'provisioning.succeeded').count,
      failed: countOf(date, 'provisioning.failed').count,
    }));
    const sum = (days: Array<{ succeeded: number; failed: number }>, key: 'succeeded' | 'failed') =>
      days.reduce((total, day) => total + day[key], 0);
    const rate = (succeeded: number, failed: number) =>
      succeeded + failed === 0 ? null : succeeded / (succeeded + failed);

    const directoryStates = directories.map((directory) => {
      const last = directory.lastActivityAt ? new Date(directory.lastActivityAt) : null;
      const freshness: Overview['directories'][number]['freshness'] =
        directory.status !== 'active'
          ? 'disabled'
          : !last
            ? 'never'
            : now.getTime() - last.getTime() > DIRECTORY_STALE_AFTER_MS
              ? 'stale'
              : 'fresh';
      return {
        id: directory.id,
        name: directory.name,
        kind: directory.kind,
        provider: directory.provider,
        status: directory.status,
        lastActivityAt: directory.lastActivityAt,
        freshness,
        createdAt: directory.createdAt,
      };
    });

    const certificates = connections.flatMap((connection) =>
      (connection.saml?.idpCertificates ?? [])
        .filter((certificate) => certificate.status === 'expiring_soon' || certificate.status === 'expired')
        .map((certificate) => ({
          connectionId: connection.id,
          connectionName: connection.name,
          subject: certificate.subject,
          notAfter: certificate.notAfter,
          status: certificate.status as 'expiring_soon' | 'expired',
        })),
    );

    const loginsSucceeded = sum(loginDays, 'succeeded');
    const loginsFailed = sum(loginDays, 'failed');
    const provisioningSucceeded = sum(provisioningDays, 'succeeded');
    const provisioningFailed = sum(provisioningDays, 'failed');
    const deadTotal = dead.reduce((total, queue) => total + queue.count, 0);
    const windowText = options.days === 1 ? 'today' : `in the last ${options.days} days`;

    const attention: AttentionItem[] = [];
    for (const certificate of certificates) {
      attention.push({
        severity: certificate.status === 'expired' ? 'error' : 'warning',
        code: certificate.status === 'expired' ? 'certificate_expired' : 'certificate_expiring',
        message:
          certificate.status === 'expired'
            ? `The IdP signing certificate of “${certificate.connectionName}” (${certificate.subject}) expired on ${certificate.notAfter}: logins fail. Upload the IdP's current metadata.`
            : `The IdP signing certificate of “${certificate.connectionName}” (${certificate.subject}) expires on ${certificate.notAfter}. Add the IdP's new certificate (or refresh its metadata) before then.`,
        resource: { type: 'connection', id: certificate.connectionId, name: certificate.connectionName },
      });
    }
    for (const connection of connections) {
      for (const warning of connection.warnings.filter((item) => item.code === 'metadata_refresh_failed')) {
        attention.push({
          severity: 'warning',
          code: warning.code,
          message: warning.message,
          resource: { type: 'connection', id: connection.id, name: connection.name },
        });
      }
    }
    if (deadTotal > 0) {
      attention.push({
        severity: 'error',
        code: 'dead_letters',
        message: `${deadTotal} job${deadTotal === 1 ? '' : 's'} failed every retry (${dead
          .map((queue) => `${queue.queue}: ${queue.count}`)
          .join(', ')}). Fix the cause, then retry them.`,
        resource: null,
      });
    }
    for (const reason of provisioningReasons) {
      attention.push({
        severity: 'warning',
        code: 'provisioning_failed',
        message: `${reason.count} provisioning attempt${reason.count === 1 ? '' : 's'} failed ${windowText}: ${truncate(reason.value, 200)}. Fix the cause (destination credentials, rules), then retry them.`,
        resource: null,
      });
    }
    for (const reason of loginReasons) {
      attention.push({
        severity: 'warning',
        code: 'login_failed',
        message: `${reason.count} sign-in${reason.count === 1 ? '' : 's'} failed with ${reason.value} ${windowText}. Open the login traces to see why.`,
        resource: null,
        loginTraces: { status: 'failed', errorCode: reason.value, since: since.toISOString() },
      });
    }
    for (const directory of directoryStates) {
      const old = now.getTime() - new Date(directory.createdAt).getTime() > DIRECTORY_STALE_AFTER_MS;
      if (directory.freshness === 'stale' || (directory.freshness === 'never' && old)) {
        attention.push({
          severity: 'warning',
          code: directory.freshness === 'stale' ? 'directory_stale' : 'directory_never_used',
          message:
            directory.freshness === 'stale'
              ? `Directory “${directory.name}” has sent nothing since ${directory.lastActivityAt}. Check that provisioning is still on in the IdP and its token has not expired.`
              : `Directory “${directory.name}” has never been used. Enter its SCIM URL and token in the IdP and start provisioning.`,
          resource: { type: 'directory', id: directory.id, name: directory.name },
        });
      }
    }
    attention.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));

    return {
      organization: { id: org.id, slug: org.slug, name: org.name },
      window: { days: options.days, since: since.toISOString(), until: now.toISOString() },
      logins: {
        days: loginDays,
        succeeded: loginsSucceeded,
        failed: loginsFailed,
        successRate: rate(loginsSucceeded, loginsFailed),
        failedByReason: loginReasons.map((reason) => ({ code: reason.value, count: reason.count })),
      },
      activeUsers,
      directories: directoryStates.map(({ createdAt: _createdAt, ...directory }) => directory),
      certificates,
      deadLetters: { total: deadTotal, queues: dead },
      provisioning: {
        days: provisioningDays,
        succeeded: provisioningSucceeded,
        failed: provisioningFailed,
        successRate: rate(provisioningSucceeded, provisioningFailed),
        latencyMs: latency,
        failedByReason: provisioningReasons.map((reason) => ({ code: reason.value, count: reason.count })),
      },
      attention,
    };
  }
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
