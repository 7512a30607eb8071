/**
 * Google Directory user → {@link SourceRecord}. Multi-valued attributes are reduced to the values
 * mappings want: the primary organization (`organization.title`, `.department`, `.costCenter`,
 * `.description`), the `organization` external id (the employee number), the first desk location,
 * and the manager: Google names the manager by email (`relations[type=manager]`), which the read
 * resolves to the manager's user id (`manager.id`) when that person is in the directory.
 */
import type { SourceRecord, SourceValue } from '../hris-contract.ts';
import { flattenFields } from '../source-fields.ts';
import type { GoogleUser } from './schemas.ts';

export function flattenGoogleUser(user: GoogleUser, idByEmail: ReadonlyMap<string, string>): SourceRecord {
  const { organizations, relations, externalIds, locations, kind, etag, emails, ...rest } =
    user as GoogleUser & Record<string, unknown>;
  void kind;
  void etag;
  void emails;
  const fields: Record<string, SourceValue> = flattenFields(rest);
  const organization = organizations?.find((o) => o.primary) ?? organizations?.[0];
  if (organization) {
    fields['organization.title'] = organization.title ?? null;
    fields['organization.department'] = organization.department ?? null;
    fields['organization.costCenter'] = organization.costCenter ?? null;
    fields['organization.description'] = organization.description ?? null;
  }
  for (const external of externalIds ?? []) {
    const type = external.type === 'custom' ? external.customType : external.type;
    if (type) fields[`externalId.${type}`] = external.value;
  }
  const location = locations?.[0];
  if (location) fields['location.buildingId'] = location.buildingId ?? null;
  const manager = relations?.find((r) => r.type === 'manager')?.value;
  if (manager) {
    fields['manager.email'] = manager;
    fields['manager.id'] = idByEmail.get(manager.toLowerCase()) ?? null;
  }
  return { sourceId: user.id, fields };
}
