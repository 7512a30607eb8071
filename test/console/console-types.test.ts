/**
 * The console's API types (web/src/api/schema.gen.ts) are what openapi-typescript makes of the
 * hub's OpenAPI document today: a route whose schema changed without regenerating them fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  renderConsoleTypes,
  SCHEMA_FILE,
} from '../../scripts/console-types/generate.ts';

describe('console API types', () => {
  it('web/src/api/schema.gen.ts matches the OpenAPI document', async () => {
    const generated = await renderConsoleTypes(await buildOpenApiDocument());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(
      generated === committed,
      'web/src/api/schema.gen.ts is out of date with the routes: run npm run console:types and commit it',
    ).toBe(true);
  });
});
