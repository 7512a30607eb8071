/**
 * Rule effects checked against the destination's catalog: do the courses and bundles a rule enrolls
 * people in exist there (and which of its LMS groups the first sync will create)? A rule naming a
 * course the destination does not have is refused when it is saved (400 naming
 * `effects[i].enrollments[j]`) and flagged by the dry run; when a catalog cannot be read (the
 * destination is down, the key is wrong), saving goes on and both say so as a warning.
 *
 * Only destinations with a catalog are checked (Thinkific: `findProducts`); a webhook destination's
 * products are our own app's business.
 */
import type { ProductKind, ProductRef } from '../../connectors/destination.ts';
import { InvalidInput } from '../../platform/errors.ts';
import type { DestinationService } from './destinations.ts';

/** Something a person should know about a rule that did not stop it. */
export interface CatalogWarning {
  code: 'catalog_unavailable' | 'catalog_product_not_found' | 'catalog_group_created_on_first_sync';
  /** The saved rule concerned (dry run of saved rules). */
  ruleId?: string;
  field: string;
  detail: string;
  fix: string;
}

/** One effect of a rule, with the path of its field in the request. */
export interface EffectToCheck {
  ruleId?: string;
  /** `effects[0]`, `rule.effects[1]`. */
  field: string;
  destinationId: string;
  enrollments: ReadonlyArray<{ kind: ProductKind; id: string }>;
  groups: readonly string[];
}

export interface MissingProduct {
  ruleId?: string;
  field: string;
  destinationId: string;
  destinationName: string;
  kind: ProductKind;
  id: string;
}

export interface CatalogReport {
  missing: MissingProduct[];
  warnings: CatalogWarning[];
}

/** How long a check may take before the catalog counts as unreadable (an API request waits on it). */
const CHECK_TIMEOUT_MS = 10_000;

export class CatalogCheck {
  readonly #destinations: DestinationService;

  constructor(destinations: DestinationService) {
    this.#destinations = destinations;
  }

  /**
   * Looks every product the effects name up in its destination, once per product. `groups`: also
   * report the LMS groups that do not exist yet (the dry run).
   */
  async check(
    organizationId: string,
    effects: readonly EffectToCheck[],
    options: { groups?: boolean } = {},
  ): Promise<CatalogReport> {
    const report: CatalogReport = { missing: [], warnings: [] };
    const byDestination = new Map<string, EffectToCheck[]>();
    for (const effect of effects) {
      if (!effect.enrollments.length && !(options.groups && effect.groups.length)) continue;
      byDestination.set(effect.destinationId, [...(byDestination.get(effect.destinationId) ?? []), effect]);
    }
    for (const [destinationId, list] of byDestination) {
      const destination = await this.#destinations.loadById(organizationId, destinationId);
      if (!destination) continue;
      const name = destination.row.name;
      const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
      const connector = this.#destinations.connectorFor(destination, { maxAttempts: 2, signal });
      if (!connector.findProducts) continue;
      const products = uniqueProducts(list);
      try {
        const found = await connector.findProducts(products);
        const exists = new Set(found.filter((p) => p.name !== null).map((p) => productKey(p)));
        for (const effect of list) {
          effect.enrollments.forEach((enrollment, index) => {
            if (exists.has(productKey({ kind: enrollment.kind, productId: enrollment.id }))) return;
            report.missing.push({
              ...(effect.ruleId ? { ruleId: effect.ruleId } : {}),
              field: `${effect.field}.enrollments[${index}]`,
              destinationId,
              destinationName: name,
              kind: enrollment.kind,
              id: enrollment.id,
            });
          });
        }
        if (options.groups && connector.existingGroups) {
          const wanted = [...new Set(list.flatMap((effect) => effect.groups))];
          const existing = new Set(wanted.length ? await connector.existingGroups(wanted) : []);
          for (const effect of list) {
            effect.groups.forEach((group, index) => {
              if (existing.has(group)) return;
              report.warnings.push({
                code: 'catalog_group_created_on_first_sync',
                ...(effect.ruleId ? { ruleId: effect.ruleId } : {}),
                field: `${effect.field}.groups[${index}]`,
                detail: `"${name}" has no group named "${group}" yet: the first sync creates it.`,
                fix: 'If you meant an existing group, write its name exactly as the destination shows it.',
              });
            });
          }
        }
      } catch (error) {
        report.warnings.push({
          code: 'catalog_unavailable',
          field: list[0]?.field ?? 'effects',
          detail: `The catalog of "${name}" could not be read (${reason(error)}), so its courses, bundles and groups were not checked.`,
          fix: 'Test the destination’s connection (POST …/destinations/{id}/test), then run the dry run again.',
        });
      }
    }
    return report;
  }
}

/** The 400 for products a destination does not have, naming the first and listing them all. */
export function missingProductsError(missing: readonly MissingProduct[]): InvalidInput {
  const first = missing[0] as MissingProduct;
  const list = missing.map((item) => `${item.kind} ${item.id} (${item.field})`).join(', ');
  return new InvalidInput({
    code: 'rule_product_not_found',
    field: first.field,
    detail: `"${first.destinationName}" has no ${list}: people would never be enrolled.`,
    fix: 'Use the id of a course that exists in the destination (Thinkific: GET /courses; a bundle: { "kind": "bundle", "id": … }, see GET /products), or remove the enrollment.',
    extra: {
      missing: missing.map(({ field, destinationId, kind, id }) => ({ field, destinationId, kind, id })),
    },
  });
}

/** The missing products as dry-run warnings. */
export function missingProductWarnings(missing: readonly MissingProduct[]): CatalogWarning[] {
  return missing.map((item) => ({
    code: 'catalog_product_not_found',
    ...(item.ruleId ? { ruleId: item.ruleId } : {}),
    field: item.field,
    detail: `"${item.destinationName}" has no ${item.kind} ${item.id}: enrolling in ${item.kind}:${item.id} would fail.`,
    fix: `Use the id of a ${item.kind} that exists in the destination, or remove the enrollment.`,
  }));
}

function uniqueProducts(effects: readonly EffectToCheck[]): ProductRef[] {
  const seen = new Map<string, ProductRef>();
  for (const effect of effects) {
    for (const enrollment of effect.enrollments) {
      const product = { kind: enrollment.kind, productId: enrollment.id };
      seen.set(productKey(product), product);
    }
  }
  return [...seen.values()];
}

function productKey(product: ProductRef): string {
  return `${product.kind}:${product.productId}`;
}

function reason(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'no answer in 10 s';
  return error instanceof Error ? error.message : String(error);
}
