/** Per-organization HR policies: matching order, the context API allow-list, new-in-role window, level bands. */
import type { Database } from '../../platform/db/client.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import { DEFAULT_CONTEXT_FIELDS, type HrisSettingsView, hrisSettingsBody } from './contracts.ts';
import { findSettings, upsertSettings } from './repository.ts';

export const DEFAULT_SETTINGS: HrisSettingsView = {
  matchBy: ['employeeId', 'workEmail'],
  contextFields: [...DEFAULT_CONTEXT_FIELDS],
  newInRoleDays: 90,
  levelBands: [],
};

export class HrisSettingsService {
  readonly #database: Database;
  readonly #orgs: OrganizationService;
  readonly #events: EventLog;
  readonly #onChange: (organizationId: string) => void;

  constructor(deps: {
    database: Database;
    orgs: OrganizationService;
    events: EventLog;
    onChange: (organizationId: string) => void;
  }) {
    this.#database = deps.database;
    this.#orgs = deps.orgs;
    this.#events = deps.events;
    this.#onChange = deps.onChange;
  }

  /** The organization's settings (defaults until set). */
  async get(organizationIdOrSlug: string): Promise<HrisSettingsView> {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const row = await findSettings(this.#database.db, org.id);
    if (!row) return { ...DEFAULT_SETTINGS, contextFields: [...DEFAULT_SETTINGS.contextFields] };
    return {
      matchBy: row.matchBy as HrisSettingsView['matchBy'],
      contextFields: row.contextFields,
      newInRoleDays: row.newInRoleDays,
      levelBands: row.levelBands,
    };
  }

  async update(organizationIdOrSlug: string, input: unknown, actor: Actor): Promise<HrisSettingsView> {
    const parsed = hrisSettingsBody.parse(input);
    const org = await this.#orgs.require(organizationIdOrSlug);
    const before = await this.get(org.id);
    const next: HrisSettingsView = {
      matchBy: parsed.matchBy ?? before.matchBy,
      contextFields: parsed.contextFields ? [...new Set(parsed.contextFields)] : before.contextFields,
      newInRoleDays: parsed.newInRoleDays ?? before.newInRoleDays,
      levelBands: parsed.levelBands ?? before.levelBands,
    };
    if (JSON.stringify(next) === JSON.stringify(before)) return before;
    try {
      await this.#database.transaction(async (tx) => {
        await upsertSettings(tx, { organizationId: org.id, ...next });
        await this.#events.append(tx, {
          organizationId: org.id,
          type: 'hris.settings_updated',
          actor,
          subjectType: 'organization',
          subjectId: org.id,
          data: { before, after: next },
        });
      });
    } finally {
      this.#onChange(org.id);
    }
    return next;
  }
}
