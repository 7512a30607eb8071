import { describe, expect, it } from 'vitest';
import { rewriteValuePathComparisons } from './attribute-path.ts';
import { ScimError } from './errors.ts';
import { compileFilter, compileSortBy, parseFilter, SqlParams } from './filter-sql.ts';
import { customSchemaDef, GROUP_MODEL, userModel } from './schemas.ts';

const users = userModel(
  customSchemaDef({
    id: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User',
    name: 'Acme',
    attributes: [
      {
        name: 'badge',
        type: 'integer',
        multiValued: false,
        caseExact: false,
        required: false,
        description: '',
      },
      {
        name: 'skills',
        type: 'string',
        multiValued: true,
        caseExact: false,
        required: false,
        description: '',
      },
    ],
  }),
);

function compile(filter: string, model = users) {
  const params = new SqlParams(['org', 'dir']);
  const sql = compileFilter(model, parseFilter(filter), params);
  return { sql, params: params.values.slice(2) };
}

function scimErrorOf(run: () => unknown): ScimError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a ScimError');
}

describe('SCIM filter compiler', () => {
  it('compiles userName eq to the lower(user_name) index expression, value bound', () => {
    const { sql, params } = compile('userName eq "Test_User_1"');
    expect(sql).toBe('(lower(s.user_name) = lower($3::text))');
    expect(params).toEqual(['Test_User_1']);
  });

  it('accepts operators in any case and core-URN-qualified attributes', () => {
    expect(compile('urn:ietf:params:scim:schemas:core:2.0:User:userName Eq "x"').sql).toBe(
      '(lower(s.user_name) = lower($3::text))',
    );
  });

  it('keeps externalId and id case-exact (RFC 7643 caseExact: true)', () => {
    expect(compile('externalId eq "AbC"').sql).toBe('(s.external_id = $3::text)');
    expect(compile('id eq "usr_1"').sql).toBe('(s.user_id = $3::text)');
  });

  it('reads emails[type eq "work"].value eq as one element matching both, with the GIN prefilter', () => {
    expect(rewriteValuePathComparisons('emails[type eq "work"].value eq "a@b.c"')).toBe(
      'emails[(type eq "work") and value eq "a@b.c"]',
    );
    const { sql, params } = compile('emails[type eq "work"].value eq "A@B.c"');
    expect(sql.match(/exists/g)).toHaveLength(1);
    expect(sql).toContain('lower(jsonb_extract_path_text(e.v, $');
    expect(params).toEqual(['emails', 'type', 'work', 'value', 'A@B.c']);
  });

  it('uses the email GIN index for emails.value eq', () => {
    const { sql, params } = compile('emails.value eq "Ada@Example.com"');
    expect(sql).toMatch(/^\(s\.email_values @> array\[lower\(\$(\d+)\)\]::text\[\] and exists/);
    const index = Number(/array\[lower\(\$(\d+)\)/.exec(sql)?.[1]) - 3;
    expect(params[index]).toBe('Ada@Example.com');
  });

  it('does not rewrite brackets inside string values', () => {
    expect(rewriteValuePathComparisons('displayName eq "a[b].c eq"')).toBe('displayName eq "a[b].c eq"');
  });

  it('compiles and, or, not and grouping', () => {
    const { sql } = compile('(userName sw "a" or displayName co "b") and not (active eq false)');
    expect(sql).toBe(
      "(((lower(s.user_name) like $3::text escape '\\') or (lower(s.display_name) like $4::text escape '\\')) and (not coalesce((s.active = $5), false)))",
    );
  });

  it('escapes LIKE wildcards in co, sw and ew values', () => {
    expect(compile('userName co "50%_off"').params).toEqual(['%50\\%\\_off%']);
    expect(compile('userName sw "a_"').params).toEqual(['a\\_%']);
    expect(compile('userName ew "%z"').params).toEqual(['%\\%z']);
  });

  it('binds values, never splices them (quotes stay data)', () => {
    const { sql, params } = compile(`userName eq "x'); drop table users; --"`);
    expect(sql).not.toContain('drop');
    expect(params).toEqual(["x'); drop table users; --"]);
  });

  it('compares meta.lastModified as a timestamp and validates it', () => {
    expect(compile('meta.lastModified gt "2026-01-01T00:00:00Z"').sql).toBe(
      '(s.updated_at > $3::timestamptz)',
    );
    expect(scimErrorOf(() => compile('meta.lastModified gt "yesterday"')).scimType).toBe('invalidFilter');
  });

  it('reaches enterprise and custom extension attributes through the stored resource', () => {
    const { sql, params } = compile(
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"',
    );
    expect(sql).toBe('(lower(jsonb_extract_path_text(s.resource, $3::text, $4::text)) = lower($5::text))');
    expect(params).toEqual([
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'department',
      'Sales',
    ]);
    expect(compile('urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge ge 10').sql).toContain(
      '::numeric',
    );
  });

  it('compiles pr on strings and on multi-valued attributes', () => {
    expect(compile('title pr').sql).toContain('is not null and');
    expect(compile('emails pr').sql).toContain('jsonb_array_length');
  });

  it('filters group members through the membership table', () => {
    const { sql } = compile('members[value eq "usr_1"]', GROUP_MODEL);
    expect(sql).toContain('from group_memberships m where m.organization_id = s.organization_id');
    expect(compile('displayName eq "Sales"', GROUP_MODEL).sql).toBe(
      '(lower(s.display_name) = lower($3::text))',
    );
  });

  it('answers invalidFilter for what does not parse or does not exist', () => {
    for (const filter of [
      'userName eq',
      'userName foo "x"',
      'userName eq "x" extra',
      'nosuchattribute eq "x"',
      'urn:example:unknown:2.0:User:x eq "y"',
      'active gt true',
      'active eq "maybe"',
      'name eq "x"',
      'emails[type eq "work"',
      'meta.version eq "W/\\"1\\""',
    ]) {
      const error = scimErrorOf(() => compile(filter));
      expect(error.status, filter).toBe(400);
      expect(error.scimType, filter).toBe('invalidFilter');
    }
  });

  it('refuses an overlong filter', () => {
    expect(scimErrorOf(() => compile(`userName eq "${'x'.repeat(5000)}"`)).scimType).toBe('invalidFilter');
  });

  it('compiles sortBy to a column, a resource path, or the first email', () => {
    const params = new SqlParams(['org', 'dir']);
    expect(compileSortBy(users, 'userName', params)).toBe('lower(s.user_name)');
    expect(compileSortBy(users, 'meta.created', params)).toBe('s.created_at');
    expect(compileSortBy(users, 'name.familyName', params)).toContain('jsonb_extract_path_text');
    expect(compileSortBy(users, 'emails', params)).toBe('s.email_values[1]');
    expect(scimErrorOf(() => compileSortBy(users, 'nope', params)).scimType).toBe('invalidValue');
  });
});

describe('SCIM filter compiler: multi-valued simple attributes', () => {
  it('matches any element of a custom multi-valued string', () => {
    const model = userModel(
      customSchemaDef({
        id: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User',
        name: 'Acme',
        attributes: [
          {
            name: 'skills',
            type: 'string',
            multiValued: true,
            caseExact: false,
            required: false,
            description: '',
          },
        ],
      }),
    );
    const params = new SqlParams(['org', 'dir']);
    const sql = compileFilter(
      model,
      parseFilter('urn:ietf:params:scim:schemas:extension:acme:2.0:User:skills eq "Go"'),
      params,
    );
    expect(sql).toContain('jsonb_array_elements_text');
    expect(sql).toContain('(lower(e.v) = lower(');
  });
});
