/**
 * The coaching context API: a person's canonical HR profile (with where each value came from and
 * when) plus facts derived from it: tenure, time in role, people manager, team size, new in role,
 * level band. Only what the organization's allow-list names ever leaves; everything else is
 * dropped before the response is built.
 *
 * Responses are cached per user in this process and invalidated when a sync changes the person,
 * their reports or the organization's settings; an entry also dies when the user's version moves
 * (any change through the directory service) and after `CACHE_TTL_MS`, which bounds how long
 * another hub process's change can go unseen.
 */
import type { FieldMapping } from '../../connectors/hris-contract.ts';
import { mergeMapping } from '../../connectors/hris-mapping.ts';
import { hrConnector } from '../../connectors/hris-registry.ts';
import type { Database } from '../../platform/db/client.ts';
import { NotFound } from '../../platform/errors.ts';
import type { DirectoriesService, DirectoryRow, DirectoryService, UserView } from '../directory/index.ts';
import type { HrisSettingsView, HrisSyncState, UserContextView } from './contracts.ts';
import { parseSettings } from './directories.ts';
import { countReports, type RecordRow, recordBySourceId, recordsOfUser } from './repository.ts';
import type { HrisSettingsService } from './settings.ts';

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;
const DAY_MS = 86_400_000;

/** Who asks: an admin API key, or an application (client credentials) limited to organizations. */
export type ContextReader =
  | { kind: 'api_key' }
  | { kind: 'application'; clientId: string; organizationIds: readonly string[] };

interface CacheEntry {
  organizationId: string;
  userVersion: number;
  sourceKeys: string[];
  value: UserContextView;
  expiresAt: number;
}

export class HrisContextService {
  readonly #database: Database;
  readonly #directory: DirectoryService;
  readonly #directories: DirectoriesService;
  readonly #settings: HrisSettingsService;
  readonly #cache = new Map<string, CacheEntry>();
  /** Counters for tests and metrics. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(deps: {
    database: Database;
    directory: DirectoryService;
    directories: DirectoriesService;
    settings: HrisSettingsService;
  }) {
    this.#database = deps.database;
    this.#directory = deps.directory;
    this.#directories = deps.directories;
    this.#settings = deps.settings;
  }

  async forUser(userId: string, reader: ContextReader, now = new Date()): Promise<UserContextView> {
    const user = await this.#directory.getUser(userId).catch(() => undefined);
    // An application outside the person's organization learns nothing, not even that they exist.
    if (!user || (reader.kind === 'application' && !reader.organizationIds.includes(user.organizationId))) {
      throw new NotFound({
        code: 'user_not_found',
        detail: `No user with id "${userId}" is visible to this caller.`,
        fix: 'Check the id; an application sees only users of the organizations it serves.',
      });
    }
    const cached = this.#cache.get(user.id);
    if (cached && cached.userVersion === user.version && cached.expiresAt > Date.now()) {
      this.stats.hits++;
      return cached.value;
    }
    this.stats.misses++;
    const settings = await this.#settings.get(user.organizationId);
    const { value, sourceKeys } = await this.#build(user, settings, now);
    if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(user.id, {
      organizationId: user.organizationId,
      userVersion: user.version,
      sourceKeys,
      value,
      expiresAt: Date.now() + CACHE_TTL_MS,
    });
    return value;
  }

  /** Forgets entries: user ids, or `source:<directoryId>:<sourceId>` keys of HR records. */
  invalidate(_organizationId: string, keys: readonly string[]): void {
    const wanted = new Set(keys);
    for (const [userId, entry] of this.#cache) {
      if (wanted.has(userId) || entry.sourceKeys.some((key) => wanted.has(key))) this.#cache.delete(userId);
    }
  }

  invalidateOrganization(organizationId: string): void {
    for (const [userId, entry] of this.#cache)
      if (entry.organizationId === organizationId) this.#cache.delete(userId);
  }

  async #build(
    user: UserView,
    settings: HrisSettingsView,
    now: Date,
  ): Promise<{ value: UserContextView; sourceKeys: string[] }> {
    const db = this.#database.db;
    const records = await recordsOfUser(db, user.organizationId, user.id);
    const allowed = new Set(settings.contextFields);
    const directories = new Map<string, DirectoryRow>();
    for (const record of records) {
      if (!directories.has(record.directoryId)) {
        directories.set(
          record.directoryId,
          await this.#directories.directoryRow(db, user.organizationId, record.directoryId),
        );
      }
    }
    // HR systems first, then directory pulls; within a kind the most recently changed record.
    const ordered = [...records].sort(
      (a, b) =>
        kindRank(directories.get(a.directoryId)) - kindRank(directories.get(b.directoryId)) ||
        b.changedAt.getTime() - a.changedAt.getTime(),
    );
    const profile: UserContextView['profile'] = {};
    const sourceKeys = records.map((record) => `source:${record.directoryId}:${record.sourceId}`);
    for (const record of ordered) {
      const directory = directories.get(record.directoryId) as DirectoryRow;
      const mapping = effectiveMapping(directory);
      const lastSeenAt = ((directory.syncState ?? {}) as HrisSyncState).lastSuccessAt ?? null;
      const provenance = (field: string, sourceField: string | null, value: string | string[] | null) => ({
        value,
        source: { directoryId: directory.id, provider: directory.provider, field: sourceField },
        lastSeenAt,
        changedAt: record.fieldChangedAt[field] ?? record.firstSeenAt.toISOString(),
      });
      for (const [field, value] of Object.entries(record.employee.fields)) {
        if (!allowed.has(field) || field in profile || field === 'manager') continue;
        profile[field] = provenance(
          field,
          mapping?.fields[field as keyof FieldMapping['fields']] ?? null,
          value,
        );
      }
      for (const [name, value] of Object.entries(record.employee.custom)) {
        const key = `custom.${name}`;
        if (!allowed.has(key) || key in profile) continue;
        profile[key] = provenance(key, mapping?.custom[name] ?? null, value);
      }
    }
    const primary = ordered[0];
    const facts: UserContextView['facts'] = {};
    let manager: UserContextView['manager'];
    if (primary) {
      const fields = primary.employee.fields;
      const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : null);
      if (allowed.has('manager')) {
        const managerSource = text('manager');
        manager = managerSource
          ? {
              sourceId: managerSource,
              userId:
                (await recordBySourceId(db, user.organizationId, primary.directoryId, managerSource))
                  ?.userId ?? null,
            }
          : null;
      }
      const today = now.toISOString().slice(0, 10);
      const joined = text('startDate') ?? text('hireDate');
      const roleStart = roleStartOf(primary, joined);
      const promotion = promotionOf(primary);
      if (allowed.has('tenureDays')) facts.tenureDays = joined ? daysBetween(joined, today) : null;
      if (allowed.has('timeInRoleDays'))
        facts.timeInRoleDays = roleStart ? daysBetween(roleStart, today) : null;
      if (allowed.has('newInRole')) {
        facts.newInRole = promotion
          ? daysBetween(promotion, today) <= settings.newInRoleDays
          : joined
            ? false
            : null;
      }
      if (allowed.has('isPeopleManager') || allowed.has('teamSize')) {
        const reports = await countReports(db, user.organizationId, primary.directoryId, primary.sourceId);
        if (allowed.has('isPeopleManager')) facts.isPeopleManager = reports > 0;
        if (allowed.has('teamSize')) facts.teamSize = reports;
      }
      if (allowed.has('levelBand')) {
        const level = text('level');
        facts.levelBand = level
          ? (settings.levelBands.find((band) => band.levels.includes(level))?.band ?? null)
          : null;
      }
    } else {
      for (const fact of ['tenureDays', 'timeInRoleDays', 'newInRole', 'levelBand'] as const) {
        if (allowed.has(fact)) facts[fact] = null;
      }
      if (allowed.has('isPeopleManager')) facts.isPeopleManager = false;
      if (allowed.has('teamSize')) facts.teamSize = 0;
      if (allowed.has('manager')) manager = null;
    }
    return {
      value: {
        userId: user.id,
        organizationId: user.organizationId,
        profile,
        ...(manager !== undefined ? { manager } : {}),
        facts,
        generatedAt: now.toISOString(),
      },
      sourceKeys,
    };
  }
}

function kindRank(directory: DirectoryRow | undefined): number {
  return directory?.kind === 'hris' ? 0 : 1;
}

function effectiveMapping(directory: DirectoryRow): FieldMapping | undefined {
  const connector = hrConnector(directory.provider);
  return connector
    ? mergeMapping(connector.manifest.defaultMapping, parseSettings(directory).mapping)
    : undefined;
}

/** The latest promotion: the source's (or its job history's) date, else an observed level change. */
function promotionOf(record: RecordRow): string | null {
  const stated = record.employee.fields.lastPromotionDate;
  if (typeof stated === 'string') return stated;
  const levelChanged = record.fieldChangedAt.level;
  if (levelChanged && new Date(levelChanged).getTime() > record.firstSeenAt.getTime()) {
    return levelChanged.slice(0, 10);
  }
  return null;
}

/**
 * Since when the person holds their current role: the latest of their start, their last
 * promotion, and an observed change of job title or level (after we first saw them).
 */
function roleStartOf(record: RecordRow, joined: string | null): string | null {
  const candidates = [joined, promotionOf(record)];
  for (const field of ['jobTitle', 'level']) {
    const changed = record.fieldChangedAt[field];
    if (changed && new Date(changed).getTime() > record.firstSeenAt.getTime())
      candidates.push(changed.slice(0, 10));
  }
  const dates = candidates.filter((date): date is string => Boolean(date)).sort();
  return dates.at(-1) ?? null;
}

function daysBetween(from: string, to: string): number {
  return Math.max(
    0,
    Math.floor((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from.slice(0, 10)}T00:00:00Z`)) / DAY_MS),
  );
}
