/** Small SQL fragments shared by repositories. */
import { type SQL, sql } from 'drizzle-orm';

/** `array[$1, $2, ...]::text[]`, for `= any(...)` filters. */
export function textArray(values: readonly string[]): SQL {
  return sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;
}

/** A LIKE pattern that matches `value` literally (wildcards in user input escaped), as `%value%` or `value%`. */
export function likePattern(value: string, mode: 'contains' | 'prefix'): string {
  const escaped = value.replace(/[\\%_]/g, (char) => `\\${char}`);
  return mode === 'contains' ? `%${escaped}%` : `${escaped}%`;
}
