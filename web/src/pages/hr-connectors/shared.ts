/** What the HR connector pages share: their types, paths, schedules and a value as text. */
import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../../api/errors.ts';
import { apiQuery } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import type { JsonSchema } from '../../schema-form.ts';

export type HrConnector = Schemas['HrisConnector'];
export type HrDirectory = Schemas['HrisDirectory'];
export type SyncRun = Schemas['HrisSyncRun'];
export type HrRecord = Schemas['HrisRecord'];
type CanonicalValue = string | string[] | null;

export const INTERVALS: Array<{ value: string; label: string }> = [
  { value: '', label: 'only on demand' },
  { value: '15', label: 'every 15 minutes' },
  { value: '60', label: 'every hour' },
  { value: '360', label: 'every 6 hours' },
  { value: '1440', label: 'every day' },
];

export const hrConnectorPath = (org: string, id: string) => `/admin/o/${org}/directories/hr/${id}`;

export function showValue(value: CanonicalValue | undefined): string {
  if (value === null || value === undefined) return '—';
  return Array.isArray(value) ? value.join(', ') : value;
}

export function intervalLabel(schedule: HrDirectory['schedule']): string {
  if (schedule.intervalMinutes === null) return 'on demand';
  return (
    INTERVALS.find((item) => item.value === String(schedule.intervalMinutes))?.label ??
    `every ${schedule.intervalMinutes} minutes`
  );
}

/** The connectors this hub has (GET /api/v1/hris/connectors). */
export function useConnectors() {
  return useQuery(apiQuery('/api/v1/hris/connectors', undefined));
}

/** A connector's settings or secrets schema: JSON Schema, typed as any object in the OpenAPI document. */
export function schemaOf(schema: Record<string, unknown>): JsonSchema {
  return schema as JsonSchema;
}

/** A guided field left empty or mistyped, shown like the API's own problems (ErrorBox). */
export function formProblemAt(field: string, message: string, fix: string): ApiError {
  return new ApiError(0, { code: 'invalid_input', detail: message, field, fix });
}
