/**
 * The pure parts of the HR connector pages (./pages/hr-connectors/): the field mapping's
 * overrides, level bands as typed, what to do about a failed connection test, and why a record
 * matched no user. Kept apart so they are tested without a browser.
 */
import type { Schemas } from './api/types.ts';
import { FormValueError } from './schema-form.ts';

export type FieldMapping = Schemas['HrisFieldMapping'];

/** The canonical HR fields a mapping fills (src/connectors/hris-contract.ts `CANONICAL_FIELDS`). */
export const CANONICAL_FIELDS = [
  'employeeNumber',
  'workEmail',
  'firstName',
  'lastName',
  'preferredName',
  'displayName',
  'jobTitle',
  'level',
  'department',
  'division',
  'team',
  'location',
  'costCenter',
  'manager',
  'employmentType',
  'employmentStatus',
  'hireDate',
  'startDate',
  'terminationDate',
  'lastPromotionDate',
  'competencies',
] as const;

/** Derived facts the context API can return (src/modules/hris/contracts.ts `CONTEXT_FACTS`). */
export const CONTEXT_FACTS = [
  'tenureDays',
  'timeInRoleDays',
  'isPeopleManager',
  'teamSize',
  'newInRole',
  'levelBand',
] as const;

export interface CustomRow {
  row: number;
  name: string;
  source: string;
}

/**
 * The overrides to save: only what differs from the connector's defaults. A default cleared is
 * `null` (the field is no longer read); custom attributes and value translations replace the
 * stored ones whole.
 */
export function mappingOverrides(
  defaults: FieldMapping,
  fields: Record<string, string>,
  custom: CustomRow[],
  values: FieldMapping['values'],
): FieldMapping {
  const overrides: Record<string, string | null> = {};
  for (const field of CANONICAL_FIELDS) {
    const chosen = (fields[field] ?? '').trim();
    const standard = defaults.fields[field] ?? '';
    if (chosen === standard) continue;
    if (chosen) overrides[field] = chosen;
    else if (standard) overrides[field] = null;
  }
  const customMap: Record<string, string> = {};
  for (const row of custom) {
    if (row.name.trim() && row.source.trim()) customMap[row.name.trim()] = row.source.trim();
  }
  return { fields: overrides, custom: customMap, values };
}

/** A source field key as a custom attribute name: `dynamic_24407` → `dynamic24407`, `office.name` → `officeName`. */
export function attributeNameFor(source: string): string {
  const name = source.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) =>
    next ? next.toUpperCase() : '',
  );
  return /^[A-Za-z]/.test(name) ? name.slice(0, 64) : '';
}

export type LevelBand = Schemas['HrisSettings']['levelBands'][number];

export function bandsToText(bands: LevelBand[]): string {
  return bands.map((band) => `${band.band}: ${band.levels.join(', ')}`).join('\n');
}

/** `senior: L5, L6` per line → level bands; a line that does not read so is named. */
export function parseBands(text: string): LevelBand[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, index) => {
      const colon = line.indexOf(':');
      const band = colon > 0 ? line.slice(0, colon).trim() : '';
      const levels =
        colon > 0
          ? line
              .slice(colon + 1)
              .split(',')
              .map((level) => level.trim())
              .filter(Boolean)
          : [];
      if (!band || levels.length === 0) {
        throw new FormValueError(
          'levelBands',
          `Line ${index + 1} should read "band: level, level" (e.g. "senior: L5, L6").`,
        );
      }
      return { band, levels };
    });
}

/** What to do about a failed connection test, by the connector's error kind (HrErrorKind). */
export function connectionFix(code: string | undefined, displayName: string): string {
  switch (code) {
    case 'invalid_credentials':
      return `${displayName} refused the credentials. Copy them again from ${displayName}'s API settings, enter them under Settings (Credentials), save, and test again.`;
    case 'forbidden':
      return `The credentials work but may not read employees. In ${displayName}, give the API user read access to employees and to the fields you map, then test again.`;
    case 'not_found':
      return 'Nothing was found at that address. Check the base URL, company domain or report URL under Settings, save, and test again.';
    case 'unreachable':
      return `The hub could not reach ${displayName}. Check the base URL under Settings, and that DNS, a firewall or a proxy does not block the hub's outbound requests, then test again.`;
    case 'throttled':
      return `${displayName} is rate limiting these credentials. Wait a minute and test again.`;
    default:
      return `${displayName} answered in a way the connector did not expect. Check that the base URL points at its API, then test again; the hub's logs have the details.`;
  }
}

const REASONS: Record<string, string> = {
  no_match: 'no user has this employee id or work email',
  no_match_keys: 'the record has neither an employee id nor a work email',
  duplicate_email: 'another record of this sync has the same work email',
  email_taken: 'a user of another source already has this email',
  pre_hire: 'a pre-hire: their user is created on their start date',
};

/** Why a record is unmatched or ambiguous (src/modules/hris/matching.ts reasons), in words. */
export function readableReason(reason: string | undefined): string {
  if (!reason) return '';
  const known = REASONS[reason];
  if (known) return known;
  const [key = '', ...rest] = reason.split('_');
  const what = key === 'employeeId' ? 'employee id' : key === 'workEmail' ? 'work email' : key;
  const tail = rest.join('_');
  if (tail === 'matches_several_users') return `the ${what} matches several users`;
  if (tail === 'shared_in_source') return `another record has the same ${what}`;
  if (tail === 'user_claimed_by_other_record')
    return `the ${what} belongs to a user another record already has`;
  return reason.replaceAll('_', ' ');
}
