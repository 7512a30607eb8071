/**
 * Provisioning rules of an organization: ordered, enabled or not, each a condition (the shared
 * condition language) and effects per destination. Every change queues a backfill in the same
 * transaction, so everyone the change may affect is re-evaluated.
 */

import { type Condition, describeCondition } from '../../platform/conditions.ts';
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { Actor, EventLog } from '../events/index.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { CatalogCheck, type EffectToCheck, missingProductsError, missingProductWarnings } from './catalog.ts';
import {
  type CreateRuleInput,
  createRuleBody,
  type DestinationKind,
  type RuleView,
  type UpdateRuleInput,
} from './contracts.ts';
import { computeDesired, enrollmentKey } from './desired-state.ts';
import type { DestinationService } from './destinations.ts';
import {
  deleteRuleRow,
  insertRule,
  lastRulePosition,
  listDestinations,
  listRules,
  listStates,
  type RuleRow,
  renumberRules,
  selectRule,
  updateRuleRow,
} from './repository.ts';
import { parseActual } from './sync.ts';

export class RuleService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #directory: DirectoryService;
  readonly #catalog: CatalogCheck;
  /** Queues the re-evaluation of the organization (set by the module). */
  onChange: ((tx: Tx, organizationId: string) => Promise<void>) | undefined;

  constructor(deps: {
    database: Database;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    destinations: DestinationService;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#directory = deps.directory;
    this.#catalog = new CatalogCheck(deps.destinations);
  }

  async list(org: string): Promise<RuleView[]> {
    const organization = await this.#orgs.require(org);
    return (await listRules(this.#database.db, organization.id)).map(toView);
  }

  async get(org: string, id: string): Promise<RuleView> {
    const organization = await this.#orgs.require(org);
    const rule = (await listRules(this.#database.db, organization.id)).find((row) => row.id === id);
    if (!rule) throw notFound('rule', id);
    return toView(rule);
  }

  async create(org: string, input: CreateRuleInput, actor: Actor): Promise<RuleView> {
    const organization = await this.#orgs.require(org);
    const warnings = await this.#checkCatalog(organization.id, input.effects);
    const view = await this.#database.transaction(async (tx) => {
      await this.#checkEffects(tx, organization.id, input.effects);
      const last = await lastRulePosition(tx, organization.id);
      const row = await insertRule(tx, {
        organizationId: organization.id,
        id: newId('rule'),
        name: input.name,
        position: last + 1,
        enabled: input.enabled,
        condition: input.condition as unknown as Record<string, unknown>,
        effects: input.effects as unknown as Array<Record<string, unknown>>,
      });
      if (input.position !== undefined && input.position <= last) {
        await this.#move(tx, organization.id, row.id, input.position);
      }
      await this.#append(tx, organization.id, row.id, 'rule.created', actor, { name: row.name });
      await this.onChange?.(tx, organization.id);
      return toView((await selectRule(tx, organization.id, row.id)) as RuleRow);
    });
    return warnings.length ? { ...view, warnings } : view;
  }

  async update(org: string, id: string, input: UpdateRuleInput, actor: Actor): Promise<RuleView> {
    const organization = await this.#orgs.require(org);
    const warnings = input.effects ? await this.#checkCatalog(organization.id, input.effects) : [];
    const view = await this.#database.transaction(async (tx) => {
      const row = await selectRule(tx, organization.id, id);
      if (!row) throw notFound('rule', id);
      if (input.effects) await this.#checkEffects(tx, organization.id, input.effects);
      const changes: Partial<RuleRow> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.enabled !== undefined) changes.enabled = input.enabled;
      if (input.condition !== undefined)
        changes.condition = input.condition as unknown as Record<string, unknown>;
      if (input.effects !== undefined)
        changes.effects = input.effects as unknown as Array<Record<string, unknown>>;
      await updateRuleRow(tx, organization.id, id, changes);
      if (input.position !== undefined) await this.#move(tx, organization.id, id, input.position);
      const type =
        input.enabled !== undefined && Object.keys(input).length === 1
          ? input.enabled
            ? 'rule.enabled'
            : 'rule.disabled'
          : 'rule.updated';
      await this.#append(tx, organization.id, id, type, actor, { changed: Object.keys(input) });
      await this.onChange?.(tx, organization.id);
      return toView((await selectRule(tx, organization.id, id)) as RuleRow);
    });
    return warnings.length ? { ...view, warnings } : view;
  }

  async delete(org: string, id: string, actor: Actor): Promise<void> {
    const organization = await this.#orgs.require(org);
    await this.#database.transaction(async (tx) => {
      const row = await selectRule(tx, organization.id, id);
      if (!row) throw notFound('rule', id);
      await deleteRuleRow(tx, organization.id, id);
      const rest = (await listRules(tx, organization.id)).map((rule) => rule.id);
      await renumberRules(tx, organization.id, rest);
      await this.#append(tx, organization.id, id, 'rule.deleted', actor, { name: row.name });
      await this.onChange?.(tx, organization.id);
    });
  }

  /**
   * Who would be affected, and how, without changing anything: the saved rules (or one of them, or
   * a rule not yet saved) evaluated for every user of the organization, compared with the
   * last-seen state in each destination.
   */
  async dryRun(org: string, input: { rule?: unknown; ruleId?: string; limit: number }) {
    const organization = await this.#orgs.require(org);
    let rules = await listRules(this.#database.db, organization.id);
    if (input.ruleId) {
      rules = rules.filter((rule) => rule.id === input.ruleId);
      if (!rules.length) throw notFound('rule', input.ruleId);
    }
    if (input.rule) {
      const parsed = createRuleBody.parse(input.rule);
      await this.#checkEffects(this.#database.db, organization.id, parsed.effects, 'rule.effects');
      rules = [
        {
          id: 'dry-run',
          enabled: true,
          condition: parsed.condition as unknown as Record<string, unknown>,
          effects: parsed.effects as unknown as Array<Record<string, unknown>>,
        } as RuleRow,
      ];
    }
    const destinationIds = [
      ...new Set(rules.flatMap((rule) => rule.effects.map((effect) => String(effect.destinationId)))),
    ];
    // The courses and groups the rules name, looked up in each destination's catalog (the rules
    // the dry run evaluates: enabled ones).
    const catalog = await this.#catalog.check(
      organization.id,
      rules
        .filter((rule) => rule.enabled)
        .flatMap((rule) =>
          effectsToCheck(
            rule.effects as unknown as CreateRuleInput['effects'],
            input.rule ? 'rule.effects' : 'effects',
            input.rule ? undefined : rule.id,
          ),
        ),
      { groups: true },
    );
    const warnings = [...missingProductWarnings(catalog.missing), ...catalog.warnings];
    const affected = [];
    let usersEvaluated = 0;
    let truncated = false;
    let after: string | undefined;
    outer: for (;;) {
      const page = await this.#directory.listUsers(organization.id, {
        limit: 200,
        ...(after ? { after } : {}),
      });
      for (const user of page.data) {
        usersEvaluated++;
        const groups = await this.#directory.listUserGroups(user.id);
        const states = await listStates(this.#database.db, {
          organizationId: organization.id,
          userId: user.id,
          limit: 100,
        });
        for (const destinationId of destinationIds) {
          const desired = computeDesired(user, groups, rules, destinationId);
          if (!desired.rules.length) continue;
          const actual = parseActual(states.find((state) => state.destinationId === destinationId)?.actual);
          const changes: string[] = [];
          if (desired.account && actual.account !== 'active') changes.push('ensure account');
          for (const spec of desired.enrollments) {
            const mine = actual.enrollments[enrollmentKey(spec)];
            if (!mine || mine.revoked) changes.push(`enroll ${enrollmentKey(spec)}`);
          }
          for (const group of desired.groups)
            if (!actual.groups.includes(group)) changes.push(`add to group ${group}`);
          if (affected.length >= input.limit) {
            truncated = true;
            break outer;
          }
          affected.push({
            userId: user.id,
            email: user.email,
            destinationId,
            rules: desired.rules,
            account: desired.account,
            enrollments: desired.enrollments,
            groups: desired.groups,
            changes,
          });
        }
      }
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    return { usersEvaluated, affected, truncated, warnings };
  }

  async #move(tx: Tx, organizationId: string, id: string, position: number) {
    const ids = (await listRules(tx, organizationId))
      .map((rule) => rule.id)
      .filter((ruleId) => ruleId !== id);
    ids.splice(Math.min(position - 1, ids.length), 0, id);
    await renumberRules(tx, organizationId, ids);
  }

  /**
   * Refuses effects enrolling people in products their destination does not have (one lookup per
   * product, before the transaction); returns warnings for catalogs that could not be read.
   */
  async #checkCatalog(organizationId: string, effects: CreateRuleInput['effects']) {
    await this.#checkEffects(this.#database.db, organizationId, effects);
    const report = await this.#catalog.check(organizationId, effectsToCheck(effects, 'effects'));
    if (report.missing.length) throw missingProductsError(report.missing);
    return report.warnings;
  }

  async #checkEffects(
    tx: Executor,
    organizationId: string,
    effects: CreateRuleInput['effects'],
    prefix = 'effects',
  ): Promise<void> {
    const destinations = await listDestinations(tx, organizationId);
    for (const [index, effect] of effects.entries()) {
      const destination = destinations.find((candidate) => candidate.id === effect.destinationId);
      if (!destination) {
        throw new InvalidInput({
          code: 'rule_destination_not_found',
          field: `${prefix}[${index}].destinationId`,
          detail: `No destination "${effect.destinationId}" exists in this organization.`,
          fix: 'Create the destination first, or use the id of one listed by GET .../destinations.',
        });
      }
      if (effect.enrollments.length && (destination.kind as DestinationKind) === 'scim') {
        throw new InvalidInput({
          code: 'rule_enrollments_unsupported',
          field: `${prefix}[${index}].enrollments`,
          detail: 'A SCIM destination has no enrollments.',
          fix: 'Remove the enrollments from this effect, or point it at a Thinkific or webhook destination.',
        });
      }
    }
  }

  async #append(
    tx: Tx,
    organizationId: string,
    ruleId: string,
    type: string,
    actor: Actor,
    data: Record<string, unknown>,
  ) {
    await this.#events.append(tx, {
      organizationId,
      type,
      actor,
      subjectType: 'rule',
      subjectId: ruleId,
      data,
    });
  }
}

function effectsToCheck(
  effects: CreateRuleInput['effects'],
  prefix: string,
  ruleId?: string,
): EffectToCheck[] {
  return effects.map((effect, index) => ({
    ...(ruleId ? { ruleId } : {}),
    field: `${prefix}[${index}]`,
    destinationId: String(effect.destinationId),
    enrollments: (effect.enrollments ?? []).map((enrollment) => ({
      kind: enrollment.kind ?? 'course',
      id: String(enrollment.id),
    })),
    groups: effect.groups ?? [],
  }));
}

function toView(row: RuleRow): RuleView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    position: row.position,
    enabled: row.enabled,
    condition: row.condition,
    effects: row.effects,
    description: describeCondition(row.condition as unknown as Condition),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
