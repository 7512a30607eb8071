/**
 * The webhook event catalogue keeps up with the code: every event type a route declares as its
 * audit trail (`config: { audit: [...] }`) can be subscribed to by name.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_EVENT_FAMILIES, KNOWN_EVENT_TYPES } from '../../src/modules/webhooks/index.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

describe('webhook event catalogue', () => {
  it('lists every event type routes declare as their audit trail', () => {
    const declared = new Set<string>();
    for (const file of sourceFiles(new URL('../../src', import.meta.url).pathname)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/audit:\s*\[([^\]]*)\]/g)) {
        for (const type of (match[1] ?? '').matchAll(/'([a-z_]+\.[a-z_.]+)'/g))
          declared.add(type[1] as string);
      }
    }
    expect(declared.size).toBeGreaterThan(30);
    const missing = [...declared].filter((type) => !KNOWN_EVENT_TYPES.has(type));
    expect(missing).toEqual([]);
    for (const type of declared) expect(KNOWN_EVENT_FAMILIES.has(type.split('.')[0] as string)).toBe(true);
  });
});
