/**
 * Facts derived from a source's job history, for the connectors that have one (Workday,
 * SuccessFactors, Merge): the last promotion date is the newest history entry the source marks as
 * a promotion, unless the directory's mapping fills `lastPromotionDate` from a field itself (or
 * turns it off with null).
 */
import type { CanonicalEmployee, FieldMapping, SourceRecord } from './hris-contract.ts';
import { mapSourceRecord } from './hris-mapping.ts';

export function lastPromotionDate(record: Pick<SourceRecord, 'jobHistory'>): string | null {
  const promotions = (record.jobHistory ?? [])
    .filter((entry) => entry.promotion)
    .map((entry) => entry.effectiveDate);
  return promotions.sort().at(-1) ?? null;
}

/** {@link mapSourceRecord}, then `lastPromotionDate` from the job history when the mapping leaves it to us. */
export function mapWithJobHistory(record: SourceRecord, mapping: FieldMapping): CanonicalEmployee {
  const employee = mapSourceRecord(record, mapping);
  if (mapping.fields.lastPromotionDate === undefined && record.jobHistory) {
    employee.fields.lastPromotionDate = lastPromotionDate(record);
  }
  return employee;
}
