/** BambooHR report and directory rows → flat source fields (already flat; values kept as strings). */
import type { SourceRecord, SourceValue } from '../hris-contract.ts';
import type { BambooEmployee } from './schemas.ts';

export function flattenBambooEmployee(employee: BambooEmployee): SourceRecord {
  const fields: Record<string, SourceValue> = {};
  for (const [key, value] of Object.entries(employee)) {
    if (value === null || typeof value !== 'object') fields[key] = value as SourceValue;
    else if (Array.isArray(value)) fields[key] = value.filter((item) => item !== null) as SourceValue;
  }
  return { sourceId: String(employee.id), fields };
}
