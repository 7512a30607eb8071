/**
 * The SCIM PATCH engine (RFC 7644 section 3.5.2), tolerant of what Entra ID and Okta really send:
 *
 * - `op` in any case (`Replace`, Entra's default; `replace`, `aadOptscim062020` and Okta);
 * - path-less `add`/`replace` whose value object has plain, dotted (`name.givenName`), URN-qualified
 *   (`urn:...:enterprise:2.0:User:employeeNumber`) and filtered (`emails[type eq "work"].value`) keys;
 * - filtered paths; a filter that pins values (`type eq "work"`) creates the element when none
 *   matches, as Entra expects when it adds a first work email;
 * - string booleans (`"False"`), `manager` as a bare id or `{"value": id}`;
 * - group members: `add`/`remove` in batches, Entra's default removal (`path: "members"` with a
 *   value list), `members[value eq "id"]`, and a full `replace` — returned as membership changes
 *   rather than stored in the document;
 * - Okta's `{"op":"replace","value":{"id": ..., "displayName": ...}}` (an unchanged `id` is fine).
 *
 * Pure: takes the stored document, returns the new one. Nothing is written here, so a request
 * whose last operation fails leaves nothing half-applied.
 */
import type { Filter } from 'scim2-parse-filter';
import { type ResolvedPath, resolvePath } from './attribute-path.ts';
import { invalidSyntax, invalidValue, mutability, noTarget, ScimError } from './errors.ts';
import { coerceValue, type ResourceDocument } from './resource.ts';
import type { AttributeDef, ResourceModel } from './schemas.ts';
import { equalityTemplate, matchesValueFilter } from './value-filter.ts';

export type PatchOpName = 'add' | 'remove' | 'replace';

export interface PatchOperation {
  op: PatchOpName;
  path: string | undefined;
  value: unknown;
}

/** Group membership changes, in request order. */
export type MemberChange =
  | { kind: 'add'; ids: string[] }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'replace'; ids: string[] }
  | { kind: 'removeAll' };

export interface PatchResult {
  resource: ResourceDocument;
  memberChanges: MemberChange[];
}

/** Most operations accepted in one PATCH request. */
export const MAX_OPERATIONS = 1000;

/** Validates the PatchOp message and normalizes each operation's `op`. */
export function readPatchRequest(body: unknown): PatchOperation[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax(
      'The body must be a PatchOp message: {"schemas": [...PatchOp], "Operations": [...]}.',
    );
  }
  const message = body as Record<string, unknown>;
  const schemas = message.schemas;
  if (
    !Array.isArray(schemas) ||
    !schemas.some(
      (urn) =>
        typeof urn === 'string' && urn.toLowerCase() === 'urn:ietf:params:scim:api:messages:2.0:patchop',
    )
  ) {
    throw invalidSyntax('"schemas" must be ["urn:ietf:params:scim:api:messages:2.0:PatchOp"].');
  }
  for (const urn of schemas) {
    if (typeof urn !== 'string' || urn.toLowerCase() !== 'urn:ietf:params:scim:api:messages:2.0:patchop') {
      throw invalidValue(`Unknown schema "${String(urn)}" in a PatchOp message.`);
    }
  }
  const key = Object.keys(message).find((name) => name.toLowerCase() === 'operations');
  const operations = key ? message[key] : undefined;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('"Operations" must be a non-empty array.');
  }
  if (operations.length > MAX_OPERATIONS) {
    throw new ScimError(400, `At most ${MAX_OPERATIONS} operations per request.`, 'tooMany');
  }
  return operations.map((operation, index) => {
    if (!operation || typeof operation !== 'object' || Array.isArray(operation)) {
      throw invalidSyntax(`Operations[${index}] must be an object.`);
    }
    const record = Object.fromEntries(
      Object.entries(operation as Record<string, unknown>).map(([name, value]) => [
        name.toLowerCase(),
        value,
      ]),
    );
    const op = typeof record.op === 'string' ? record.op.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw invalidSyntax(
        `Operations[${index}].op must be add, remove or replace; got ${JSON.stringify(record.op)}.`,
      );
    }
    if (record.path !== undefined && record.path !== null && typeof record.path !== 'string') {
      throw invalidSyntax(`Operations[${index}].path must be a string.`);
    }
    const path =
      typeof record.path === 'string' && record.path.trim() !== '' ? record.path.trim() : undefined;
    return { op, path, value: record.value };
  });
}

export interface PatchContext {
  model: ResourceModel;
  /** The resource's id (an unchanged `id` in a path-less value is accepted). */
  id: string;
}

/** Applies the operations in order to a copy of `resource`. */
export function applyPatch(
  context: PatchContext,
  resource: ResourceDocument,
  operations: readonly PatchOperation[],
): PatchResult {
  const state: PatchResult = { resource: structuredClone(resource), memberChanges: [] };
  operations.forEach((operation, index) => {
    try {
      applyOperation(context, state, operation);
    } catch (error) {
      if (error instanceof ScimError && operations.length > 1) {
        throw new ScimError(error.status, `Operations[${index}]: ${error.detail}`, error.scimType);
      }
      throw error;
    }
  });
  return state;
}

function applyOperation(context: PatchContext, state: PatchResult, operation: PatchOperation): void {
  if (operation.path === undefined) {
    if (operation.op === 'remove') throw noTarget('A remove operation needs a path.');
    const value = operation.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidValue(`A path-less ${operation.op} needs an object value of attributes.`);
    }
    for (const [key, attributeValue] of Object.entries(value as Record<string, unknown>)) {
      if (key.toLowerCase() === 'schemas') continue;
      if (key.toLowerCase() === 'id') {
        if (attributeValue === context.id) continue;
        throw mutability('id is read-only.');
      }
      applyAtPath(context, state, operation.op, key, attributeValue, true);
    }
    return;
  }
  applyAtPath(context, state, operation.op, operation.path, operation.value, false);
}

function applyAtPath(
  context: PatchContext,
  state: PatchResult,
  op: PatchOpName,
  path: string,
  value: unknown,
  pathless: boolean,
): void {
  const target = resolvePath(context.model, path);
  const doc = state.resource;

  // A whole extension: `urn:...:enterprise:2.0:User` with an object of its attributes.
  if (!target.attribute) {
    const extension = target.extension;
    if (!extension) throw invalidValue(`"${path}" names no attribute.`);
    if (op === 'remove') {
      delete doc[extension.id];
      return;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidValue(`"${path}" takes an object of ${extension.name} attributes.`);
    }
    for (const [key, attributeValue] of Object.entries(value as Record<string, unknown>)) {
      applyAtPath(context, state, op, `${extension.id}:${key}`, attributeValue, pathless);
    }
    return;
  }

  const attribute = target.attribute;
  const definition = target.subAttribute ?? attribute;
  if (attribute.mutability === 'readOnly' || definition.mutability === 'readOnly') {
    throw mutability(
      `${attribute.name}${target.subAttribute ? `.${target.subAttribute.name}` : ''} is read-only.`,
    );
  }
  if (context.model.kind === 'Group' && attribute.name === 'members') {
    applyMembers(state, op, target, value);
    return;
  }
  const container = containerOf(doc, target, op !== 'remove');
  if (!container) return; // removing from an extension that is not there

  if (target.filter) {
    applyFiltered(container, op, attribute, target.filter, target.subAttribute, value, path);
  } else if (target.subAttribute) {
    applySubAttribute(container, op, attribute, target.subAttribute, value, path);
  } else {
    applyAttribute(container, op, attribute, value, path);
  }
  if (target.extension && Object.keys(container).length === 0) delete doc[target.extension.id];
}

function containerOf(
  doc: ResourceDocument,
  target: ResolvedPath,
  create: boolean,
): Record<string, unknown> | undefined {
  if (!target.extension) return doc;
  const existing = doc[target.extension.id];
  if (existing && typeof existing === 'object' && !Array.isArray(existing))
    return existing as Record<string, unknown>;
  if (!create) return undefined;
  const fresh: Record<string, unknown> = {};
  doc[target.extension.id] = fresh;
  const schemas = doc.schemas;
  if (Array.isArray(schemas) && !schemas.includes(target.extension.id)) schemas.push(target.extension.id);
  return fresh;
}

/** `attr` with no filter and no sub-attribute. */
function applyAttribute(
  container: Record<string, unknown>,
  op: PatchOpName,
  attribute: AttributeDef,
  value: unknown,
  path: string,
): void {
  if (op === 'remove') {
    if (attribute.multiValued && attribute.type === 'complex' && value !== undefined && value !== null) {
      // Entra-style: remove the listed values from a multi-valued attribute.
      const listed = coerceValue(attribute, value, path) as Array<Record<string, unknown>> | undefined;
      const current = asArray(container[attribute.name]);
      const valueSub = attribute.subAttributes?.find((sub) => sub.name === 'value');
      const remaining = current.filter(
        (item) =>
          !(listed ?? []).some((candidate) =>
            sameValue(item.value, candidate.value, valueSub?.caseExact ?? false),
          ),
      );
      setOrDelete(container, attribute.name, remaining.length ? remaining : undefined);
      return;
    }
    delete container[attribute.name];
    return;
  }
  const coerced = coerceValue(attribute, value, path);
  if (attribute.multiValued) {
    const incoming = (coerced as unknown[] | undefined) ?? [];
    if (op === 'replace') {
      setOrDelete(container, attribute.name, incoming.length ? incoming : undefined);
      return;
    }
    const current = asArray(container[attribute.name]) as unknown[];
    const merged = [...current];
    for (const item of incoming) {
      if (attribute.type === 'complex' && (item as Record<string, unknown>).primary === true) {
        for (const existing of merged) delete (existing as Record<string, unknown>).primary;
      }
      if (!merged.some((existing) => JSON.stringify(existing) === JSON.stringify(item))) merged.push(item);
    }
    setOrDelete(container, attribute.name, merged.length ? merged : undefined);
    return;
  }
  if (attribute.type === 'complex' && coerced !== undefined) {
    // Sub-attributes given replace those there; the others stay (RFC 7644 section 3.5.2.3).
    const current = container[attribute.name];
    const base =
      current && typeof current === 'object' && !Array.isArray(current)
        ? (current as Record<string, unknown>)
        : {};
    container[attribute.name] = { ...base, ...(coerced as Record<string, unknown>) };
    return;
  }
  setOrDelete(container, attribute.name, coerced);
}

/** `name.givenName`, `manager.value`, or `emails.value` (every element). */
function applySubAttribute(
  container: Record<string, unknown>,
  op: PatchOpName,
  attribute: AttributeDef,
  sub: AttributeDef,
  value: unknown,
  path: string,
): void {
  if (attribute.multiValued) {
    const items = asArray(container[attribute.name]);
    if (op === 'remove') {
      for (const item of items) delete item[sub.name];
      setOrDelete(
        container,
        attribute.name,
        items.filter((item) => Object.keys(item).length > 0),
      );
      return;
    }
    const coerced = coerceValue(sub, value, path);
    if (items.length === 0) {
      if (coerced !== undefined) container[attribute.name] = [{ [sub.name]: coerced }];
      return;
    }
    for (const item of items) setOrDelete(item, sub.name, coerced);
    return;
  }
  const current = container[attribute.name];
  const object =
    current && typeof current === 'object' && !Array.isArray(current)
      ? (current as Record<string, unknown>)
      : {};
  if (op === 'remove') delete object[sub.name];
  else setOrDelete(object, sub.name, coerceValue(sub, value, path));
  setOrDelete(container, attribute.name, Object.keys(object).length ? object : undefined);
}

/** `emails[type eq "work"]` and `emails[type eq "work"].value`. */
function applyFiltered(
  container: Record<string, unknown>,
  op: PatchOpName,
  attribute: AttributeDef,
  filter: Filter,
  sub: AttributeDef | undefined,
  value: unknown,
  path: string,
): void {
  const items = asArray(container[attribute.name]);
  const matches = items.filter((item) => matchesValueFilter(filter, item, attribute));
  if (op === 'remove') {
    if (sub) for (const item of matches) delete item[sub.name];
    const remaining = sub
      ? items.filter((item) => Object.keys(item).length > 0)
      : items.filter((item) => !matches.includes(item));
    setOrDelete(container, attribute.name, remaining.length ? remaining : undefined);
    return;
  }
  let incoming: Record<string, unknown> | undefined;
  if (sub) {
    const coerced = coerceValue(sub, value, path);
    incoming = coerced === undefined ? undefined : { [sub.name]: coerced };
  } else {
    const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
    incoming = coerceValue({ ...attribute, multiValued: false }, single, path) as
      | Record<string, unknown>
      | undefined;
  }
  if (matches.length === 0) {
    const template = equalityTemplate(filter, attribute);
    if (!template) throw noTarget(`"${path}" matches no value.`);
    if (!incoming) return;
    const created = { ...template, ...incoming };
    if (created.primary === true) for (const item of items) delete item.primary;
    container[attribute.name] = [...items, created];
    return;
  }
  for (const item of matches) {
    if (incoming === undefined) {
      if (sub) delete item[sub.name];
      continue;
    }
    if (incoming.primary === true) for (const other of items) if (other !== item) delete other.primary;
    Object.assign(item, incoming);
  }
  container[attribute.name] = items;
}

/** Group `members`: turned into membership changes. */
function applyMembers(state: PatchResult, op: PatchOpName, target: ResolvedPath, value: unknown): void {
  if (target.subAttribute)
    throw invalidValue('Change members as a whole ({"value": id}), not their sub-attributes.');
  const ids = memberIds(value);
  if (target.filter) {
    const filtered = idsOfValueFilter(target.filter);
    if (!filtered) throw invalidValue('members can be filtered by value only: members[value eq "id"].');
    if (op !== 'remove') throw invalidValue('Use add with path "members" to add members.');
    state.memberChanges.push({ kind: 'remove', ids: filtered });
    return;
  }
  if (op === 'add') state.memberChanges.push({ kind: 'add', ids });
  else if (op === 'replace') state.memberChanges.push({ kind: 'replace', ids });
  else if (value === undefined || value === null) state.memberChanges.push({ kind: 'removeAll' });
  else state.memberChanges.push({ kind: 'remove', ids });
}

function memberIds(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, index) => {
    const id = item && typeof item === 'object' ? (item as Record<string, unknown>).value : undefined;
    if (typeof id !== 'string' || id === '')
      throw invalidValue(`members[${index}].value must be the id of a User.`);
    return id;
  });
}

/** `value eq "a"`, or several joined by `or`: the ids; undefined for any other filter. */
function idsOfValueFilter(filter: Filter): string[] | undefined {
  if (filter.op === 'or') {
    const ids: string[] = [];
    for (const child of filter.filters) {
      const part = idsOfValueFilter(child);
      if (!part) return undefined;
      ids.push(...part);
    }
    return ids;
  }
  if (
    filter.op.toLowerCase() === 'eq' &&
    'attrPath' in filter &&
    filter.attrPath.toLowerCase() === 'value' &&
    'compValue' in filter
  ) {
    return typeof filter.compValue === 'string' ? [filter.compValue] : undefined;
  }
  return undefined;
}

function asArray(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value)
    ? (value.filter((item) => item && typeof item === 'object') as Array<Record<string, unknown>>)
    : [];
}

function setOrDelete(container: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete container[key];
  else container[key] = value;
}

function sameValue(a: unknown, b: unknown, caseExact: boolean): boolean {
  if (typeof a === 'string' && typeof b === 'string')
    return caseExact ? a === b : a.toLowerCase() === b.toLowerCase();
  return a === b;
}
