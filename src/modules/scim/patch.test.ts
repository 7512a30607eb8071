import { describe, expect, it } from 'vitest';
import { ScimError } from './errors.ts';
import { applyPatch, type PatchOperation, readPatchRequest } from './patch.ts';
import { GROUP_MODEL, userModel } from './schemas.ts';

const USERS = userModel(undefined);
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function user() {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: 'ada@contoso.com',
    active: true,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ type: 'work', value: 'ada@contoso.com', primary: true }],
  };
}

function patchUser(resource: Record<string, unknown>, operations: unknown[]) {
  return applyPatch(
    { model: USERS, id: 'usr_1' },
    resource,
    readPatchRequest({ schemas: [PATCH_OP], Operations: operations }),
  ).resource;
}

function patchGroup(operations: unknown[]) {
  return applyPatch(
    { model: GROUP_MODEL, id: 'grp_1' },
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Sales' },
    readPatchRequest({ schemas: [PATCH_OP], Operations: operations }),
  );
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

describe('PATCH engine: Entra default behaviour', () => {
  it('matches op case-insensitively and coerces the string boolean "False"', () => {
    const result = patchUser(user(), [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(result.active).toBe(false);
    expect(
      patchUser({ ...user(), active: false }, [{ op: 'Replace', path: 'active', value: 'True' }]).active,
    ).toBe(true);
  });

  it('replaces the work email through a filtered path, keeping the value exactly as sent', () => {
    const result = patchUser(user(), [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'Ada.King@Contoso.com' },
    ]);
    expect(result.emails).toEqual([{ type: 'work', value: 'Ada.King@Contoso.com', primary: true }]);
  });

  it('adds a work email when none matches the filter (Entra adds through a filtered path)', () => {
    const { emails: _emails, ...withoutEmails } = user();
    const result = patchUser(withoutEmails, [
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'a@b.c' },
    ]);
    expect(result.emails).toEqual([{ type: 'work', value: 'a@b.c' }]);
  });

  it('sets enterprise attributes through URN-qualified paths', () => {
    const result = patchUser(user(), [
      { op: 'Add', path: `${ENTERPRISE}:employeeNumber`, value: '1042' },
      { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Research' },
    ]);
    expect(result[ENTERPRISE]).toEqual({ employeeNumber: '1042', department: 'Research' });
    expect(result.schemas).toContain(ENTERPRISE);
  });

  it('accepts manager as a bare id or as {"value": id}, and removes it', () => {
    const bare = patchUser(user(), [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'usr_boss' }]);
    expect((bare[ENTERPRISE] as any).manager).toEqual({ value: 'usr_boss' });
    const wrapped = patchUser(user(), [
      { op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: 'usr_b2' } },
    ]);
    expect((wrapped[ENTERPRISE] as any).manager).toEqual({ value: 'usr_b2' });
    const removed = patchUser(wrapped, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
    expect(removed[ENTERPRISE]).toBeUndefined();
  });

  it('adds members with "$ref": null and removes them with a value list', () => {
    const added = patchGroup([
      { op: 'Add', path: 'members', value: [{ $ref: null, value: 'usr_1' }, { value: 'usr_2' }] },
    ]);
    expect(added.memberChanges).toEqual([{ kind: 'add', ids: ['usr_1', 'usr_2'] }]);
    expect(added.resource).not.toHaveProperty('members');
    const removed = patchGroup([{ op: 'Remove', path: 'members', value: [{ value: 'usr_1' }] }]);
    expect(removed.memberChanges).toEqual([{ kind: 'remove', ids: ['usr_1'] }]);
  });
});

describe('PATCH engine: Entra aadOptscim062020 and Okta', () => {
  it('applies a path-less replace with plain, dotted, URN and filtered keys', () => {
    const result = patchUser(user(), [
      {
        op: 'replace',
        value: {
          displayName: 'Ada K',
          'name.givenName': 'Augusta',
          [`${ENTERPRISE}:department`]: 'Math',
          'emails[type eq "work"].value': 'augusta@contoso.com',
          active: false,
        },
      },
    ]);
    expect(result).toMatchObject({
      displayName: 'Ada K',
      name: { givenName: 'Augusta', familyName: 'Lovelace' },
      emails: [{ type: 'work', value: 'augusta@contoso.com', primary: true }],
      active: false,
      [ENTERPRISE]: { department: 'Math' },
    });
  });

  it('merges a path-less extension object', () => {
    const result = patchUser(user(), [
      { op: 'replace', value: { [ENTERPRISE]: { division: 'R&D', costCenter: '42' } } },
    ]);
    expect(result[ENTERPRISE]).toEqual({ division: 'R&D', costCenter: '42' });
  });

  it("deactivates with Okta's path-less {active: false}", () => {
    expect(patchUser(user(), [{ op: 'replace', value: { active: false } }]).active).toBe(false);
  });

  it('removes a member by members[value eq "id"]', () => {
    const result = patchGroup([{ op: 'remove', path: 'members[value eq "usr_9"]' }]);
    expect(result.memberChanges).toEqual([{ kind: 'remove', ids: ['usr_9'] }]);
  });

  it("accepts Okta's group replace carrying the unchanged id, and a full members replace", () => {
    const renamed = patchGroup([{ op: 'replace', value: { id: 'grp_1', displayName: 'Sales EMEA' } }]);
    expect(renamed.resource.displayName).toBe('Sales EMEA');
    const replaced = patchGroup([
      { op: 'replace', path: 'members', value: [{ value: 'usr_3', display: 'C' }] },
    ]);
    expect(replaced.memberChanges).toEqual([{ kind: 'replace', ids: ['usr_3'] }]);
  });

  it('refuses an id that differs (mutability)', () => {
    expect(scimErrorOf(() => patchGroup([{ op: 'replace', value: { id: 'grp_other' } }])).scimType).toBe(
      'mutability',
    );
  });
});

describe('PATCH engine: RFC 7644 rules', () => {
  it('appends to multi-valued attributes on add and moves primary', () => {
    const result = patchUser(user(), [
      { op: 'add', path: 'emails', value: [{ type: 'home', value: 'h@x.org', primary: true }] },
    ]);
    expect(result.emails).toEqual([
      { type: 'work', value: 'ada@contoso.com' },
      { type: 'home', value: 'h@x.org', primary: true },
    ]);
  });

  it('removes matching elements by filter, and sub-attributes by path', () => {
    const twoEmails = { ...user(), emails: [...user().emails, { type: 'home', value: 'h@x.org' }] };
    expect(patchUser(twoEmails, [{ op: 'remove', path: 'emails[type eq "home"]' }]).emails).toEqual(
      user().emails,
    );
    expect(patchUser(user(), [{ op: 'remove', path: 'name.givenName' }]).name).toEqual({
      familyName: 'Lovelace',
    });
  });

  it('answers mutability for read-only attributes', () => {
    for (const path of ['id', 'meta.created', 'groups', 'meta']) {
      expect(scimErrorOf(() => patchUser(user(), [{ op: 'replace', path, value: 'x' }])).scimType, path).toBe(
        'mutability',
      );
    }
  });

  it('answers invalidPath for attributes the schemas do not define', () => {
    for (const path of [
      'nosuch',
      'name.nosuch',
      'urn:example:unknown:2.0:User:x',
      'emails[type eq]',
      'userName[type eq "x"]',
    ]) {
      expect(scimErrorOf(() => patchUser(user(), [{ op: 'replace', path, value: 'x' }])).scimType, path).toBe(
        'invalidPath',
      );
    }
  });

  it('answers noTarget for a path-less remove and for a filter that cannot create what it misses', () => {
    expect(scimErrorOf(() => patchUser(user(), [{ op: 'remove' }])).scimType).toBe('noTarget');
    expect(
      scimErrorOf(() =>
        patchUser(user(), [{ op: 'replace', path: 'emails[value co "nobody"].type', value: 'home' }]),
      ).scimType,
    ).toBe('noTarget');
  });

  it('answers invalidValue for values of the wrong type', () => {
    expect(
      scimErrorOf(() => patchUser(user(), [{ op: 'replace', path: 'active', value: 'sometimes' }])).scimType,
    ).toBe('invalidValue');
    expect(
      scimErrorOf(() => patchUser(user(), [{ op: 'replace', path: 'name', value: 'Ada' }])).scimType,
    ).toBe('invalidValue');
  });

  it('leaves the input untouched when a later operation fails (nothing half-applied)', () => {
    const input = user();
    const before = JSON.stringify(input);
    const error = scimErrorOf(() =>
      patchUser(input, [
        { op: 'replace', path: 'displayName', value: 'Changed' },
        { op: 'replace', path: 'id', value: 'x' },
      ]),
    );
    expect(error.detail).toMatch(/^Operations\[1\]/);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('validates the PatchOp message itself', () => {
    expect(scimErrorOf(() => readPatchRequest({ Operations: [] })).scimType).toBe('invalidSyntax');
    expect(scimErrorOf(() => readPatchRequest({ schemas: [PATCH_OP], Operations: [] })).scimType).toBe(
      'invalidSyntax',
    );
    expect(
      scimErrorOf(() => readPatchRequest({ schemas: [PATCH_OP], Operations: [{ op: 'merge', path: 'x' }] }))
        .scimType,
    ).toBe('invalidSyntax');
    expect(
      scimErrorOf(() => readPatchRequest({ schemas: [PATCH_OP, 'urn:x:y'], Operations: [{ op: 'add' }] }))
        .scimType,
    ).toBe('invalidValue');
    const ops: PatchOperation[] = readPatchRequest({
      schemas: [PATCH_OP],
      operations: [{ OP: 'ADD', Path: 'title', Value: 'x' }],
    });
    expect(ops).toEqual([{ op: 'add', path: 'title', value: 'x' }]);
  });
});
