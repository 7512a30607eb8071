/**
 * SCIM filters (RFC 7644 section 3.4.2.2) compiled to parameterized SQL over the `scim_users` /
 * `scim_groups` tables, never evaluated in memory: `userName`, `externalId`, `displayName`, `id`,
 * `active` and `meta.*` hit indexed columns, `emails` a GIN index, the rest the stored resource.
 *
 * Case: attributes with `caseExact: false` (userName, emails.value, displayName, ...) compare
 * lower-cased on both sides, as RFC 7643 section 2.2 requires; the parser's own in-memory matcher
 * is case-sensitive, which is why we only use its parser.
 *
 * Every value, JSON key and pattern is a bind parameter; only fixed SQL text is concatenated.
 */
import { type Filter, parse } from 'scim2-parse-filter';
import { resolvePath, rewriteValuePathComparisons } from './attribute-path.ts';
import { invalidFilter, ScimError } from './errors.ts';
import type { AttributeDef, AttributeType, ResourceModel } from './schemas.ts';

/** Parameters collected while compiling; `$n` refers to params[n-1]. */
export class SqlParams {
  readonly values: unknown[];
  constructor(initial: unknown[] = []) {
    this.values = [...initial];
  }
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Longest filter accepted (a pathological one could otherwise build a huge statement). */
export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;

/** Parses a filter string; invalidFilter when it does not parse. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH)
    throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  try {
    return parse(rewriteValuePathComparisons(text));
  } catch (error) {
    if (error instanceof ScimError) throw error;
    throw invalidFilter(`The filter does not parse: ${(error as Error).message ?? String(error)}`);
  }
}

/** A SQL condition for `filter` over table alias `s` (scim_users or scim_groups). */
export function compileFilter(model: ResourceModel, filter: Filter, params: SqlParams): string {
  return compileNode(model, filter, params, undefined, 0);
}

interface ElementContext {
  /** SQL of the current array element (a jsonb value). */
  element: string;
  attribute: AttributeDef;
}

function compileNode(
  model: ResourceModel,
  node: Filter,
  params: SqlParams,
  element: ElementContext | undefined,
  depth: number,
): string {
  if (depth > MAX_DEPTH) throw invalidFilter('The filter is nested too deeply.');
  switch (node.op) {
    case 'and':
    case 'or': {
      const parts = node.filters.map((child) => compileNode(model, child, params, element, depth + 1));
      return `(${parts.join(node.op === 'and' ? ' and ' : ' or ')})`;
    }
    case 'not':
      return `(not coalesce(${compileNode(model, node.filter, params, element, depth + 1)}, false))`;
    case '[]': {
      if (element) throw invalidFilter('Value filters cannot be nested.');
      const target = resolveForFilter(model, node.attrPath);
      if (!target.attribute.multiValued || target.attribute.type !== 'complex' || target.sub) {
        throw invalidFilter(`"${node.attrPath}[...]" needs a multi-valued complex attribute.`);
      }
      return multiValuedExists(model, target, params, (context) =>
        compileNode(model, node.valFilter, params, context, depth + 1),
      );
    }
    default:
      return compileComparison(model, node, params, element);
  }
}

type Comparison = Extract<
  Filter,
  { attrPath: string; op: 'pr' | 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le' }
>;

function compileComparison(
  model: ResourceModel,
  node: Comparison,
  params: SqlParams,
  element: ElementContext | undefined,
): string {
  const op = node.op.toLowerCase();
  const value = 'compValue' in node ? node.compValue : undefined;
  if (element) {
    const sub = element.attribute.subAttributes?.find(
      (candidate) => candidate.name.toLowerCase() === node.attrPath.toLowerCase(),
    );
    if (!sub) throw invalidFilter(`${element.attribute.name} has no sub-attribute "${node.attrPath}".`);
    return compare(jsonText(element.element, [sub.name], params), sub, op, value, params);
  }
  const target = resolveForFilter(model, node.attrPath);
  const { attribute } = target;
  if (attribute.multiValued) {
    if (attribute.type !== 'complex') {
      // A multi-valued simple attribute (a custom `skills: ["a", "b"]`): any element matches.
      const array = jsonPath('s.resource', target.keys, params);
      const element = compare('e.v', { ...attribute, multiValued: false }, op, value, params);
      return `exists (select 1 from jsonb_array_elements_text(case when jsonb_typeof(${array}) = 'array' then ${array} else '[]'::jsonb end) as e(v) where ${element})`;
    }
    // `emails eq "x"` means `emails.value eq "x"` (RFC 7644 section 3.4.2.2).
    const sub = target.sub ?? attribute.subAttributes?.find((candidate) => candidate.name === 'value');
    if (!sub) throw invalidFilter(`Name a sub-attribute of ${attribute.name} to compare.`);
    if (op === 'pr' && !target.sub) {
      const array = jsonPath('s.resource', target.keys, params);
      return `(jsonb_typeof(${array}) = 'array' and jsonb_array_length(${array}) > 0)`;
    }
    const exists = multiValuedExists(model, target, params, (context) =>
      compare(jsonText(context.element, [sub.name], params), sub, op, value, params),
    );
    // emails.value eq "x": let the GIN index on the lower-cased addresses narrow the rows first.
    if (
      model.kind === 'User' &&
      attribute.name === 'emails' &&
      sub.name === 'value' &&
      op === 'eq' &&
      typeof value === 'string'
    ) {
      return `(s.email_values @> array[lower(${params.add(value)})]::text[] and ${exists})`;
    }
    return exists;
  }
  if (attribute.type === 'complex' && !target.sub) {
    throw invalidFilter(
      `${attribute.name} is complex: compare one of its sub-attributes (${attribute.name}.value).`,
    );
  }
  const definition = target.sub ?? attribute;
  const column = indexedColumn(model, target.path);
  if (column) return compare(column.sql, { ...definition, type: column.type }, op, value, params);
  return compare(jsonText('s.resource', target.keys, params), definition, op, value, params);
}

interface FilterTarget {
  attribute: AttributeDef;
  sub: AttributeDef | undefined;
  /** JSON keys of the attribute in the stored resource (extension URN first for extensions). */
  keys: string[];
  /** Canonical dotted path, e.g. `name.givenName`, `meta.created`. */
  path: string;
}

function resolveForFilter(model: ResourceModel, attrPath: string): FilterTarget {
  let resolved: ReturnType<typeof resolvePath>;
  try {
    resolved = resolvePath(model, attrPath);
  } catch (error) {
    if (error instanceof ScimError) throw invalidFilter(error.detail);
    throw error;
  }
  if (!resolved.attribute) throw invalidFilter(`"${attrPath}" names a schema, not an attribute.`);
  const keys = resolved.extension
    ? [resolved.extension.id, resolved.attribute.name]
    : [resolved.attribute.name];
  if (resolved.subAttribute) keys.push(resolved.subAttribute.name);
  const path = resolved.extension ? `${resolved.extension.id}:${keys.slice(1).join('.')}` : keys.join('.');
  return { attribute: resolved.attribute, sub: resolved.subAttribute, keys, path };
}

interface IndexedColumn {
  sql: string;
  type: AttributeType;
  /** The column has an index on lower(column), so case-insensitive comparisons and sorts use it. */
  lowerIndexed?: boolean;
}

/** Attributes with a column of their own (and, for the common lookups, an index). */
function indexedColumn(model: ResourceModel, path: string): IndexedColumn | undefined {
  const common: Record<string, IndexedColumn> = {
    id: { sql: model.kind === 'User' ? 's.user_id' : 's.group_id', type: 'string' },
    externalId: { sql: 's.external_id', type: 'string' },
    'meta.created': { sql: 's.created_at', type: 'dateTime' },
    'meta.lastModified': { sql: 's.updated_at', type: 'dateTime' },
    displayName: { sql: 's.display_name', type: 'string', lowerIndexed: true },
  };
  const users: Record<string, IndexedColumn> = {
    userName: { sql: 's.user_name', type: 'string', lowerIndexed: true },
    active: { sql: 's.active', type: 'boolean' },
  };
  if (path === 'meta.resourceType') return { sql: `'${model.kind}'`, type: 'string' };
  if (path === 'meta.version' || path === 'meta.location') {
    throw invalidFilter(`Filtering on ${path} is not supported.`);
  }
  if (model.kind === 'Group' && path.startsWith('members')) return undefined;
  return common[path] ?? (model.kind === 'User' ? users[path] : undefined);
}

/** `exists (...)` over the elements of a multi-valued attribute (or group memberships). */
function multiValuedExists(
  model: ResourceModel,
  target: FilterTarget,
  params: SqlParams,
  condition: (context: ElementContext) => string,
): string {
  if (model.kind === 'Group' && target.attribute.name === 'members') {
    // Members live in group_memberships; expose each as {"value": user id, "type": "User"}.
    const inner = condition({
      element: `jsonb_build_object('value', m.user_id, 'type', 'User')`,
      attribute: target.attribute,
    });
    return `exists (select 1 from group_memberships m where m.organization_id = s.organization_id and m.group_id = s.group_id and ${inner})`;
  }
  if (model.kind === 'User' && target.attribute.name === 'groups') {
    const inner = condition({
      element: `jsonb_build_object('value', gm.group_id, 'display', sg.display_name, 'type', 'direct')`,
      attribute: target.attribute,
    });
    return `exists (select 1 from group_memberships gm join scim_groups sg on sg.organization_id = gm.organization_id and sg.group_id = gm.group_id and sg.directory_id = s.directory_id where gm.organization_id = s.organization_id and gm.user_id = s.user_id and ${inner})`;
  }
  const array = jsonPath('s.resource', target.keys.slice(0, target.sub ? -1 : undefined), params);
  const inner = condition({ element: 'e.v', attribute: target.attribute });
  return `exists (select 1 from jsonb_array_elements(case when jsonb_typeof(${array}) = 'array' then ${array} else '[]'::jsonb end) as e(v) where ${inner})`;
}

function jsonPath(base: string, keys: readonly string[], params: SqlParams): string {
  return `jsonb_extract_path(${base}, ${keys.map((key) => `${params.add(key)}::text`).join(', ')})`;
}

function jsonText(base: string, keys: readonly string[], params: SqlParams): string {
  return `jsonb_extract_path_text(${base}, ${keys.map((key) => `${params.add(key)}::text`).join(', ')})`;
}

const ORDERING: Record<string, string> = { gt: '>', ge: '>=', lt: '<', le: '<=' };

function compare(
  expression: string,
  definition: AttributeDef,
  op: string,
  value: unknown,
  params: SqlParams,
): string {
  const type = definition.type;
  if (op === 'pr') {
    return type === 'string' || type === 'reference' || type === 'binary'
      ? `(${expression} is not null and ${expression} <> '')`
      : `(${expression} is not null)`;
  }
  if (value === null || value === undefined) {
    throw invalidFilter(`Compare ${definition.name} with a value; use "pr" to test presence.`);
  }
  switch (type) {
    case 'boolean': {
      const bool = toBoolean(value);
      if (bool === undefined)
        throw invalidFilter(`${definition.name} is a boolean: compare it with true or false.`);
      if (op !== 'eq' && op !== 'ne')
        throw invalidFilter(`${definition.name} is a boolean: only eq and ne apply.`);
      const rendered = expression === 's.active' ? params.add(bool) : `${params.add(String(bool))}::text`;
      return op === 'eq' ? `(${expression} = ${rendered})` : `coalesce(${expression} <> ${rendered}, true)`;
    }
    case 'integer':
    case 'decimal': {
      if (typeof value !== 'number')
        throw invalidFilter(`${definition.name} is a number: compare it with a number.`);
      if (['co', 'sw', 'ew'].includes(op)) throw invalidFilter(`${op} does not apply to numbers.`);
      const numeric = `(case when ${expression} ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' then (${expression})::numeric end)`;
      return ordered(numeric, `${params.add(value)}::numeric`, op);
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw invalidFilter(`${definition.name} is a dateTime: compare it with an xsd:dateTime string.`);
      }
      if (['co', 'sw', 'ew'].includes(op)) throw invalidFilter(`${op} does not apply to dateTime values.`);
      if (expression.startsWith('s.'))
        return ordered(expression, `${params.add(new Date(value).toISOString())}::timestamptz`, op);
      return ordered(expression, `${params.add(value)}::text`, op);
    }
    default: {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw invalidFilter(`${definition.name} is a string: compare it with a string.`);
      }
      const text = String(value);
      const caseExact = definition.caseExact;
      const left = caseExact ? expression : `lower(${expression})`;
      if (op === 'co' || op === 'sw' || op === 'ew') {
        const escaped = (caseExact ? text : text.toLowerCase()).replace(/[\\%_]/g, (char) => `\\${char}`);
        const pattern = op === 'co' ? `%${escaped}%` : op === 'sw' ? `${escaped}%` : `%${escaped}`;
        return `(${left} like ${params.add(pattern)}::text escape '\\')`;
      }
      const right = caseExact ? `${params.add(text)}::text` : `lower(${params.add(text)}::text)`;
      return ordered(left, right, op);
    }
  }
}

function ordered(left: string, right: string, op: string): string {
  if (op === 'eq') return `(${left} = ${right})`;
  if (op === 'ne') return `coalesce(${left} <> ${right}, true)`;
  const symbol = ORDERING[op];
  if (!symbol) throw invalidFilter(`Unknown operator "${op}".`);
  return `(${left} ${symbol} ${right})`;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

/** SQL for `sortBy` (RFC 7644 section 3.4.2.3); multi-valued attributes sort by their first value. */
export function compileSortBy(model: ResourceModel, sortBy: string, params: SqlParams): string {
  let target: FilterTarget;
  try {
    target = resolveForFilter(model, sortBy);
  } catch (error) {
    if (error instanceof ScimError) throw new ScimError(400, `sortBy: ${error.detail}`, 'invalidValue');
    throw error;
  }
  const column = indexedColumn(model, target.path);
  if (column) return column.lowerIndexed ? `lower(${column.sql})` : column.sql;
  if (target.attribute.multiValued) {
    if (model.kind === 'User' && target.attribute.name === 'emails') return 's.email_values[1]';
    throw new ScimError(400, `sortBy: sorting by ${target.attribute.name} is not supported.`, 'invalidValue');
  }
  if (target.attribute.type === 'complex' && !target.sub) {
    throw new ScimError(
      400,
      `sortBy: ${target.attribute.name} is complex; name a sub-attribute.`,
      'invalidValue',
    );
  }
  const definition = target.sub ?? target.attribute;
  const text = jsonText('s.resource', target.keys, params);
  return definition.caseExact ? text : `lower(${text})`;
}
