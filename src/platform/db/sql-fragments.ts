/** Small SQL fragments shared by repositories. */
import { type SQL, sql } from 'drizzle-orm';

/** `array[$1, $2, ...]::text[]`, for `= any(...)` filters. */
export function textArray(values: readonly string[]): SQL {
  return sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;
}

/**
 * `array(select ...)` of a JSON list's strings: a whole list as ONE bound parameter, for
 * `= any(...)` filters. Use it wherever the list can be long (a group's members, a page of source
 * ids): a statement carries at most 65,535 parameters, and past that the protocol's count wraps.
 */
export function textList(values: readonly string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

/** A LIKE pattern that matches `value` literally (wildcards in user input escaped), as `%value%` or `value%`. */
export function likePattern(value: string, mode: 'contains' | 'prefix'): string {
  const escaped = value.replace(/[\\%_]/g, (char) => `\\${char}`);
  return mode === 'contains' ? `%${escaped}%` : `${escaped}%`;
}
