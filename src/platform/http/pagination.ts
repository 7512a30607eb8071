/** Cursor pagination shared by list endpoints: `?limit=&after=`, answered with `{ data, nextCursor }`. */
import { z } from 'zod';

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Items per page (1-200).'),
  after: z.string().max(200).optional().describe('The `nextCursor` of the previous page.'),
};

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      data: z.array(item),
      nextCursor: z.string().nullable().describe('Pass as `after` for the next page; null on the last page.'),
    })
    .meta({ id });
}
