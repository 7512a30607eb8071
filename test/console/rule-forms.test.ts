/**
 * The console's rule editor without a browser: conditions and effects as form rows and back,
 * checked against the server's own schemas (src/platform/conditions.ts, the provisioning
 * contracts) and evaluator, and the messages that name what to fix.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ruleEffectSchema } from '../../src/modules/provisioning/contracts.ts';
import {
  type Condition,
  type ConditionSubject,
  conditionSchema,
  matchesCondition,
} from '../../src/platform/conditions.ts';
import {
  type ConditionForm,
  type ConditionRow,
  conditionProblems,
  conditionToForm,
  effectProblems,
  effectsToForm,
  emptyEffect,
  emptyEnrollment,
  emptyGroup,
  emptyRow,
  formToCondition,
  formToEffects,
  NotAForm,
  newConditionForm,
} from '../../web/src/rule-forms.ts';

const label = (subject: string) => (subject === 'hr.department' ? 'HR: Department' : subject);

const subjects: ConditionSubject[] = [
  {
    userId: 'usr_1',
    email: 'ada@acme.test',
    givenName: 'Ada',
    familyName: 'Lovelace',
    source: 'hris',
    profile: {
      department: 'Engineering',
      hr: { department: 'Engineering', level: 'L3', custom: { site: 'Paris' } },
    },
    groups: new Set(['engineering', 'grp_1']),
    roles: new Set(['manager']),
  },
  {
    userId: 'usr_2',
    email: 'bob@acme.test',
    givenName: 'Bob',
    familyName: null,
    source: 'scim',
    profile: { department: 'Sales', hr: { level: 4 } },
    groups: new Set(['sales']),
    roles: new Set(),
  },
  {
    userId: 'usr_3',
    email: null,
    givenName: null,
    familyName: null,
    source: 'sso',
    profile: {},
    groups: new Set(),
    roles: new Set(),
  },
];

const sameVerdicts = (a: Condition, b: Condition) =>
  subjects.map((subject) => matchesCondition(a, subject)).join() ===
  subjects.map((subject) => matchesCondition(b, subject)).join();

describe('conditions as a form', () => {
  const exact: Condition[] = [
    { group: 'Engineering' },
    { group: ['Engineering', 'Sales'] },
    { all: [] },
    { all: [{ group: 'Engineering' }, { attribute: 'hr.level', in: ['L3', 4] }] },
    { any: [{ role: 'manager' }, { not: { source: 'scim' } }] },
    { not: { any: [{ group: 'Sales' }, { attribute: 'email', startsWith: 'bob' }] } },
    {
      all: [
        { attribute: 'hr.custom.site', equals: 'Paris' },
        {
          any: [
            { attribute: 'givenName', contains: 'ad' },
            { not: { attribute: 'department', equals: 'Sales' } },
          ],
        },
        { attribute: 'hr.department', exists: true },
        { attribute: 'familyName', exists: false },
      ],
    },
    { attribute: 'hr.level', equals: 4 },
    { always: true },
  ];

  for (const condition of exact) {
    it(`round-trips ${JSON.stringify(condition)} unchanged`, () => {
      const form = conditionToForm(condition);
      expect(formToCondition(form)).toEqual(condition);
    });
  }

  it('keeps the meaning of shapes it writes differently (not of a test, double negation)', () => {
    const shapes: Condition[] = [
      { not: { attribute: 'department', exists: true } },
      { not: { not: { group: 'Sales' } } },
      { not: { always: true } },
      { any: [{ not: { all: [{ role: 'manager' }, { group: 'Engineering' }] } }] },
    ];
    for (const condition of shapes) {
      const written = formToCondition(conditionToForm(condition));
      expect(conditionSchema.safeParse(written).success).toBe(true);
      expect(sameVerdicts(condition, written as Condition)).toBe(true);
    }
  });

  it('writes what the API accepts, for each operator', () => {
    const form = newConditionForm();
    const rows: Array<Partial<ConditionRow>> = [
      { subject: 'group', operator: 'in', values: ['Engineering'] },
      { subject: 'role', operator: 'notIn', values: ['manager', 'admin'] },
      { subject: 'source', operator: 'in', values: ['hris'] },
      { subject: 'hr.department', operator: 'equals', values: ['Engineering'] },
      { subject: 'hr.department', operator: 'notEquals', values: ['Sales'] },
      { subject: 'hr.level', operator: 'oneOf', values: ['L3', 'L4'] },
      { subject: 'hr.level', operator: 'noneOf', values: ['L1'] },
      { subject: 'email', operator: 'contains', values: ['@acme'] },
      { subject: 'email', operator: 'notContains', values: ['contractor'] },
      { subject: 'givenName', operator: 'startsWith', values: ['A'] },
      { subject: 'givenName', operator: 'notStartsWith', values: ['Z'] },
      { subject: 'hr.custom.site', operator: 'set', values: [] },
      { subject: 'hr.custom.site', operator: 'unset', values: [] },
      { subject: 'always', operator: 'always', values: [] },
    ];
    form.root.items = rows.map((row) => ({ ...emptyRow(), ...row }));
    const nested = emptyGroup('any');
    nested.negate = true;
    nested.items = [{ ...emptyRow(), subject: 'group', operator: 'in', values: ['Sales'] }];
    form.root.items.push(nested);
    const written = formToCondition(form);
    expect(conditionSchema.parse(written)).toEqual(written);
    expect(formToCondition(conditionToForm(written))).toEqual(written);
    expect(conditionProblems(form, label)).toEqual([]);
  });

  it('says where and why a condition cannot be shown as a form', () => {
    const cases: Array<[unknown, string]> = [
      [[1], 'condition'],
      [{ all: [{ group: 'a', role: 'b' }] }, 'condition.all[0]'],
      [{ any: [{ attribute: 'x', equals: 'a', contains: 'b' }] }, 'condition.any[0]'],
      [{ all: [{ teams: 'x' }] }, 'condition.all[0]'],
      [
        { all: [{ all: [{ all: [{ all: [{ group: 'deep' }] }] }] }] },
        'condition.all[0].all[0].all[0].all[0]',
      ],
    ];
    for (const [condition, path] of cases) {
      let caught: unknown;
      try {
        conditionToForm(condition);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(NotAForm);
      expect((caught as NotAForm).path).toBe(path);
    }
  });

  it('names the row and the fix for what is missing', () => {
    const form: ConditionForm = newConditionForm();
    form.root.items = [
      { ...emptyRow(), subject: 'hr.department', operator: 'equals', values: [''] },
      { ...emptyRow(), subject: 'group', operator: 'in', values: [] },
      { ...emptyRow(), subject: 'source', operator: 'in', values: ['ldap'] },
      { ...emptyRow(), subject: 'hr custom', operator: 'equals', values: ['x'] },
      emptyGroup('any'),
    ];
    expect(conditionProblems(form, label).map((problem) => problem.message)).toEqual([
      'Condition 1 (HR: Department): enter a value, or choose "is set" to test only that it has one.',
      'Condition 2 (group): add at least a group name (press Enter after each).',
      'Condition 3 (source): ldap is not a source; use scim, sso, import, hris, api.',
      'Condition 4 (hr custom): "hr custom" is not an attribute name; use letters, digits and dots for nested attributes (hr.custom.costCode).',
      'Group 5 is empty: add a condition to it, or remove the group.',
    ]);
    expect(conditionProblems({ root: emptyGroup('all'), bare: false }, label)).toEqual([]);
  });
});

describe('effects as a form', () => {
  it('round-trips effects as the API stores them', () => {
    const stored = z.array(ruleEffectSchema).parse([
      {
        destinationId: 'dst_1',
        enrollments: [
          { id: 12, activation: { daysAfterStart: 7 }, expiry: { at: '2027-01-31T00:00:00Z' } },
          { kind: 'bundle', id: 'b-9' },
        ],
        groups: ['Cohort A'],
      },
      { destinationId: 'dst_2', account: false },
    ]);
    const written = formToEffects(effectsToForm(stored));
    expect(written).toEqual(stored);
    expect(z.array(ruleEffectSchema).parse(written)).toEqual(written);
  });

  it('refuses as a form what it cannot edit, naming where', () => {
    expect(() =>
      effectsToForm([
        { destinationId: 'dst_1', enrollments: [{ id: 1, expiry: { at: '2027-01-31T09:30:00Z' } }] },
      ]),
    ).toThrow('effects[0].enrollments[0].expiry.at');
    expect(() => effectsToForm([{ destinationId: 'dst_1', seats: 3 }])).toThrow('effects[0]: seats');
  });

  it('names the destination block and field to fix', () => {
    const effect = emptyEffect('');
    const enrollment = emptyEnrollment();
    enrollment.activation = { mode: 'daysAfterStart', days: '1.5', date: '' };
    effect.enrollments = [enrollment];
    const other = emptyEffect('dst_gone');
    expect(effectProblems([effect, other], new Set(['dst_1'])).map((problem) => problem.message)).toEqual([
      'Destination 1: choose where the rule provisions people.',
      'Destination 1, enrollment 1: enter the course id from the LMS (e.g. 1234).',
      'Destination 1, enrollment 1: "starts" needs a whole number of days between -3650 and 3650.',
      'Destination 2: dst_gone is not a destination of this organization; choose one from the list.',
    ]);
    expect(effectProblems([], new Set())[0]?.field).toBe('Destinations');
  });
});
