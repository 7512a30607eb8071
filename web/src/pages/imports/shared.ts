/** What the imports pages share: which statuses are still working, the counts as words. */
import type { Schemas } from '../../api/types.ts';

export type Import = Schemas['Import'];

export const RUNNING = new Set<Import['status']>(['uploading', 'queued', 'previewing', 'applying']);

export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, value]) => value > 0)
    .map(([key, value]) => `${value} ${key}`);
  return parts.join(', ') || 'no rows';
}
