/**
 * Attribute references (RFC 7644 section 3.10) and PATCH paths (section 3.5.2):
 * `userName`, `name.givenName`, `emails[type eq "work"].value`, `members[value eq "id"]`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, or a bare extension URN.
 * Attribute names are case-insensitive; they resolve to the schema's spelling.
 */
import { type Filter, parse } from 'scim2-parse-filter';
import { invalidFilter, invalidPath } from './errors.ts';
import {
  type AttributeDef,
  coreAttributes,
  findAttribute,
  type ResourceModel,
  type SchemaDef,
} from './schemas.ts';

export interface ResolvedPath {
  /** The extension holding the attribute; undefined for core attributes. */
  extension: SchemaDef | undefined;
  /** The top-level attribute; undefined when the path names a whole extension. */
  attribute: AttributeDef | undefined;
  /** A value filter on a multi-valued attribute (`emails[type eq "work"]`). */
  filter: Filter | undefined;
  /** The sub-attribute (`name.givenName`, `emails[...].value`). */
  subAttribute: AttributeDef | undefined;
}

/** Resolves a PATCH path or attribute reference. Throws invalidPath for what the schemas do not define. */
export function resolvePath(model: ResourceModel, raw: string): ResolvedPath {
  const path = raw.trim();
  if (!path) throw invalidPath('The path is empty.');
  let rest = path;
  let extension: SchemaDef | undefined;
  if (/^urn:/i.test(path)) {
    const split = splitUrn(model, path);
    extension = split.extension;
    rest = split.rest;
    if (!rest) {
      if (!extension) throw invalidPath(`"${path}" names the core schema; name an attribute.`);
      return { extension, attribute: undefined, filter: undefined, subAttribute: undefined };
    }
  }
  const { name, filterText, sub } = splitSegments(rest, path);
  const candidates = extension ? extension.attributes : coreAttributes(model);
  const attribute = findAttribute(candidates, name);
  if (!attribute) {
    throw invalidPath(`"${path}": ${extension ? extension.id : model.core.id} has no attribute "${name}".`);
  }
  let filter: Filter | undefined;
  if (filterText !== undefined) {
    if (!attribute.multiValued || attribute.type !== 'complex') {
      throw invalidPath(
        `"${path}": a value filter needs a multi-valued complex attribute; ${attribute.name} is not.`,
      );
    }
    try {
      filter = parse(filterText);
    } catch (error) {
      throw invalidPath(`"${path}": the value filter does not parse (${(error as Error).message}).`);
    }
  }
  let subAttribute: AttributeDef | undefined;
  if (sub !== undefined) {
    subAttribute = attribute.subAttributes ? findAttribute(attribute.subAttributes, sub) : undefined;
    if (!subAttribute) throw invalidPath(`"${path}": ${attribute.name} has no sub-attribute "${sub}".`);
  }
  return { extension, attribute, filter, subAttribute };
}

/** Splits `urn:...:User:attr.sub` into the known schema and the attribute part. */
function splitUrn(model: ResourceModel, path: string): { extension: SchemaDef | undefined; rest: string } {
  const lower = path.toLowerCase();
  const schemas: Array<{ id: string; extension: SchemaDef | undefined }> = [
    { id: model.core.id, extension: undefined },
    ...model.extensions.map((schema) => ({ id: schema.id, extension: schema })),
  ];
  // Longest first, so an extension whose URN extends another's is matched whole.
  schemas.sort((a, b) => b.id.length - a.id.length);
  for (const schema of schemas) {
    const id = schema.id.toLowerCase();
    if (lower === id) return { extension: schema.extension, rest: '' };
    if (lower.startsWith(`${id}:`)) return { extension: schema.extension, rest: path.slice(id.length + 1) };
  }
  const cut = path.lastIndexOf(':');
  throw invalidPath(`"${path}": unknown schema ${path.slice(0, cut)}; see /Schemas for the supported ones.`);
}

function splitSegments(rest: string, whole: string): { name: string; filterText?: string; sub?: string } {
  const bracket = rest.indexOf('[');
  if (bracket === -1) {
    const parts = rest.split('.');
    if (parts.length > 2 || !parts.every(isAttributeName))
      throw invalidPath(`"${whole}" is not a valid path.`);
    return { name: parts[0] as string, ...(parts[1] !== undefined ? { sub: parts[1] } : {}) };
  }
  const name = rest.slice(0, bracket);
  const close = closingBracket(rest, bracket);
  if (close === -1 || !isAttributeName(name)) throw invalidPath(`"${whole}" is not a valid path.`);
  const filterText = rest.slice(bracket + 1, close);
  const after = rest.slice(close + 1);
  if (after === '') return { name, filterText };
  if (!after.startsWith('.') || !isAttributeName(after.slice(1)))
    throw invalidPath(`"${whole}" is not a valid path.`);
  return { name, filterText, sub: after.slice(1) };
}

function isAttributeName(value: string): boolean {
  return /^\$?[A-Za-z][\w$-]*$/.test(value) || value === '$ref';
}

/** Index of the `]` closing the `[` at `open`, skipping quoted strings; -1 when unbalanced. */
export function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === ']') return i;
  }
  return -1;
}

/**
 * Rewrites `attr[F].sub op value` into `attr[(F) and sub op value]` before parsing. The parser
 * reads the first form as `attr[F] and attr.sub op value`, which could match `F` on one element
 * and the comparison on another; RFC 7644 means the same element (Entra filters
 * `emails[type eq "work"].value eq "..."`).
 */
export function rewriteValuePathComparisons(filter: string): string {
  let out = '';
  let i = 0;
  while (i < filter.length) {
    const char = filter[i] as string;
    if (char === '"') {
      const end = endOfString(filter, i);
      out += filter.slice(i, end);
      i = end;
      continue;
    }
    if (char !== '[') {
      out += char;
      i++;
      continue;
    }
    const close = closingBracket(filter, i);
    if (close === -1) throw invalidFilter(`Unbalanced "[" in filter: ${filter}`);
    const inner = filter.slice(i + 1, close);
    const tail = /^\.(\$?[A-Za-z][\w$-]*)\s+(eq|ne|co|sw|ew|gt|ge|lt|le|pr)\b/i.exec(filter.slice(close + 1));
    if (!tail) {
      out += `[${rewriteValuePathComparisons(inner)}]`;
      i = close + 1;
      continue;
    }
    const [matched, sub, op] = tail as unknown as [string, string, string];
    let j = close + 1 + matched.length;
    let comparison = `${sub} ${op}`;
    if (op.toLowerCase() !== 'pr') {
      while (filter[j] === ' ') j++;
      const valueEnd = filter[j] === '"' ? endOfString(filter, j) : endOfWord(filter, j);
      comparison += ` ${filter.slice(j, valueEnd)}`;
      j = valueEnd;
    }
    out += `[(${rewriteValuePathComparisons(inner)}) and ${comparison}]`;
    i = j;
  }
  return out;
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  throw invalidFilter('Unterminated string in filter.');
}

function endOfWord(text: string, start: number): number {
  let i = start;
  while (i < text.length && !/[\s()[\]]/.test(text[i] as string)) i++;
  return i;
}
