/**
 * Attribute mapping: a declarative map from what an IdP sends (OIDC claims, SAML attributes, the
 * SAML NameID as `$nameid`) to Switchboard's canonical user fields and custom profile attributes.
 *
 * Each field names one source or a list tried in order (first non-empty wins), so one mapping can
 * cope with `email` on some users and only `upn` on others. Claim names are matched exactly
 * (SAML attribute names are URIs with dots in them, so no path syntax).
 */
import { EMAIL_PATTERN } from '../directory/index.ts';
import type { AttributeMapping, CanonicalField } from './contracts.ts';

export const CANONICAL_FIELDS = [
  'subject',
  'email',
  'given_name',
  'family_name',
  'name',
  'employee_id',
  'department',
  'title',
  'groups',
] as const satisfies readonly CanonicalField[];

/** The SAML NameID as a mapping source. */
export const NAMEID_SOURCE = '$nameid';

export interface MappedProfile {
  subject?: string;
  email?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  employee_id?: string;
  department?: string;
  title?: string;
  groups: string[];
  /** Custom profile attributes. */
  attributes: Record<string, string | string[]>;
}

export interface MappingResult {
  profile: MappedProfile;
  /** Which source each field came from. */
  sources: Partial<Record<string, string>>;
  /** Fields whose sources were all absent or empty, with the sources tried. */
  missing: Array<{ field: string; tried: string[] }>;
  /** Values present but unusable (an email that is not one), with why. */
  invalid: Array<{ field: string; source: string; reason: string }>;
}

/** Applies a mapping to received claims. Pure: the preview endpoint and logins share it. */
export function applyMapping(mapping: AttributeMapping, claims: Record<string, unknown>): MappingResult {
  const profile: MappedProfile = { groups: [], attributes: {} };
  const result: MappingResult = { profile, sources: {}, missing: [], invalid: [] };
  for (const field of CANONICAL_FIELDS) {
    const tried = sourcesOf(mapping[field]);
    if (tried.length === 0) continue;
    const found = firstPresent(claims, tried);
    if (!found) {
      result.missing.push({ field, tried });
      continue;
    }
    result.sources[field] = found.source;
    if (field === 'groups') {
      profile.groups = [...new Set(toStrings(found.value))];
      continue;
    }
    const value = toStrings(found.value)[0];
    if (value === undefined) continue;
    if (field === 'email') {
      const email = value.trim();
      if (!EMAIL_PATTERN.test(email)) {
        result.invalid.push({
          field,
          source: found.source,
          reason: `"${truncate(email)}" is not an email address`,
        });
        continue;
      }
      profile.email = email.toLowerCase();
      continue;
    }
    profile[field] = value.trim();
  }
  if (!profile.name && (profile.given_name || profile.family_name)) {
    profile.name = [profile.given_name, profile.family_name].filter(Boolean).join(' ');
  }
  for (const [key, source] of Object.entries(mapping.attributes ?? {})) {
    const tried = sourcesOf(source);
    const found = firstPresent(claims, tried);
    if (!found) continue;
    const values = toStrings(found.value);
    profile.attributes[key] = values.length === 1 ? (values[0] as string) : values;
    result.sources[`attributes.${key}`] = found.source;
  }
  return result;
}

/** Merges an admin's overrides onto a preset's defaults; `null` removes a preset field. */
export function mergeMapping(
  base: AttributeMapping,
  overrides: AttributeMapping | undefined,
): AttributeMapping {
  if (!overrides) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'attributes') continue;
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  const attributes = { ...(base.attributes ?? {}), ...(overrides.attributes ?? {}) };
  for (const [key, value] of Object.entries(attributes)) if (value === null) delete attributes[key];
  if (Object.keys(attributes).length) merged.attributes = attributes;
  else delete merged.attributes;
  return merged as AttributeMapping;
}

function sourcesOf(source: unknown): string[] {
  if (typeof source === 'string') return [source];
  if (Array.isArray(source)) return source.filter((item): item is string => typeof item === 'string');
  return [];
}

function firstPresent(claims: Record<string, unknown>, sources: string[]) {
  for (const source of sources) {
    if (!Object.hasOwn(claims, source)) continue;
    const value = claims[source];
    if (toStrings(value).length) return { source, value };
  }
  return undefined;
}

/** Strings from a claim value: a string, a number, or an array of those; empty strings dropped. */
function toStrings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === 'string' && item.trim()) out.push(item.trim());
    else if (typeof item === 'number' || typeof item === 'boolean') out.push(String(item));
  }
  return out;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}

/** Claims as an admin may see them in a trace: values kept, long ones cut, token-like claims hidden. */
export function summarizeClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(claims)) {
    if (/^(at_hash|c_hash|s_hash|nonce|sid|access_token|id_token|refresh_token|code)$/i.test(key)) {
      out[key] = '[redacted]';
      continue;
    }
    if (typeof value === 'string') out[key] = value.length > 500 ? `${value.slice(0, 500)}...` : value;
    else if (Array.isArray(value) && value.length > 100)
      out[key] = [...value.slice(0, 100), `... ${value.length - 100} more`];
    else out[key] = value;
  }
  return out;
}
