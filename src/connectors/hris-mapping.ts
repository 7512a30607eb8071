/**
 * Field mapping: a {@link SourceRecord} (flat vendor fields) → a {@link CanonicalEmployee}, driven
 * by data ({@link FieldMapping}) so a directory can remap fields without code. Dates are normalised
 * to `YYYY-MM-DD` (ISO strings, `/Date(ms)/` OData values, epoch milliseconds), values translated
 * through `mapping.values`, empty strings become null.
 */
import {
  CANONICAL_FIELDS,
  type CanonicalEmployee,
  type CanonicalField,
  type CanonicalValue,
  DATE_FIELDS,
  type FieldMapping,
  type JobHistoryEntry,
  type SourceRecord,
  type SourceValue,
} from './hris-contract.ts';

/** A directory's mapping over the connector defaults: per key, the directory wins; null removes. */
export function mergeMapping(
  defaults: FieldMapping,
  overrides: Partial<FieldMapping> | undefined,
): FieldMapping {
  const fields: FieldMapping['fields'] = { ...defaults.fields, ...overrides?.fields };
  const values: FieldMapping['values'] = { ...defaults.values };
  for (const [key, table] of Object.entries(overrides?.values ?? {}) as Array<
    [CanonicalField, Record<string, string>]
  >) {
    values[key] = { ...values[key], ...table };
  }
  return { fields, custom: { ...defaults.custom, ...overrides?.custom }, values };
}

export function mapSourceRecord(record: SourceRecord, mapping: FieldMapping): CanonicalEmployee {
  const fields: CanonicalEmployee['fields'] = {};
  for (const field of CANONICAL_FIELDS) {
    const key = mapping.fields[field];
    if (!key) continue;
    if (!(key in record.fields)) continue;
    fields[field] = canonicalValue(field, record.fields[key], mapping.values[field]);
  }
  const custom: Record<string, CanonicalValue> = {};
  for (const [name, key] of Object.entries(mapping.custom)) {
    if (key in record.fields) custom[name] = toCanonical(record.fields[key]);
  }
  if (!fields.lastPromotionDate && record.jobHistory?.length) {
    const derived = lastPromotionDate(record.jobHistory);
    if (derived) fields.lastPromotionDate = derived;
  }
  return {
    sourceId: record.sourceId,
    fields,
    custom,
    ...(record.jobHistory ? { jobHistory: record.jobHistory } : {}),
  };
}

/**
 * The latest promotion in a job history: an entry the source marks as a promotion, else the
 * latest entry whose level differs from the one before it (a level change within the company is
 * what HR systems record as a promotion; a title-only change is not counted).
 */
export function lastPromotionDate(history: readonly JobHistoryEntry[]): string | null {
  const entries = [...history].sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate));
  let latest: string | null = null;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as JobHistoryEntry;
    const previous = entries[index - 1];
    const flagged = entry.promotion === true;
    const levelChanged =
      entry.promotion === undefined &&
      previous !== undefined &&
      Boolean(entry.level) &&
      Boolean(previous.level) &&
      entry.level !== previous.level;
    if (flagged || levelChanged) latest = normalizeDate(entry.effectiveDate);
  }
  return latest;
}

function canonicalValue(
  field: CanonicalField,
  raw: SourceValue | undefined,
  translations: Record<string, string> | undefined,
): CanonicalValue {
  let value = toCanonical(raw);
  if (value === null) return null;
  if (translations) {
    const translate = (item: string) => translations[item.toLowerCase()] ?? item;
    value = Array.isArray(value) ? value.map(translate) : translate(value);
  }
  if (DATE_FIELDS.has(field) && typeof value === 'string') return normalizeDate(value);
  if (field === 'competencies' && typeof value === 'string') {
    return value
      .split(/[,;]/)
      .map((item) => item.trim())
      .filter(Boolean);
  }
  if (field === 'workEmail' && typeof value === 'string') return value.trim().toLowerCase();
  return value;
}

function toCanonical(raw: SourceValue | undefined): CanonicalValue {
  if (raw === undefined || raw === null) return null;
  if (Array.isArray(raw)) {
    const items = raw.map((item) => String(item)).filter((item) => item !== '');
    return items.length ? items : null;
  }
  const text = String(raw).trim();
  return text === '' ? null : text;
}

/**
 * `YYYY-MM-DD` from the date forms vendors send: ISO date or date-time (`2020-03-01T00:00:00+01:00`
 * keeps its calendar date), OData v2 `/Date(1546300800000)/` or `/Date(…+0000)/`, epoch ms.
 * Unreadable values are kept as given rather than guessed, and BambooHR's `0000-00-00` is null.
 */
export function normalizeDate(value: string): string | null {
  const text = value.trim();
  if (text === '' || text.startsWith('0000-00-00')) return null;
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(text);
  if (iso) return iso[1] as string;
  const odata = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(text);
  const epoch = odata ? Number(odata[1]) : /^-?\d{10,13}$/.test(text) ? Number(text) : undefined;
  if (epoch !== undefined) return new Date(epoch).toISOString().slice(0, 10);
  return text;
}
