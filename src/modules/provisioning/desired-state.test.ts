import { describe, expect, it } from 'vitest';
import type { GroupView, UserView } from '../directory/index.ts';
import { computeDesired, profileOf } from './desired-state.ts';

const user = (overrides: Partial<UserView> = {}): UserView => ({
  id: 'usr_1',
  organizationId: 'org_1',
  email: 'Ada@Example.com',
  givenName: 'Ada',
  familyName: 'Lovelace',
  displayName: null,
  status: 'active',
  externalIds: {},
  profile: { startDate: '2026-03-01', department: 'Sales', roles: ['manager'] },
  source: 'scim',
  version: 1,
  lastLoginAt: null,
  createdAt: '2026-01-15T10:00:00.000Z',
  updatedAt: '2026-01-15T10:00:00.000Z',
  ...overrides,
});
const group = (name: string) => ({ id: `grp_${name}`, name }) as GroupView;
const rule = (id: string, condition: unknown, effects: unknown[], enabled = true) => ({
  id,
  enabled,
  condition: condition as Record<string, unknown>,
  effects: effects as Array<Record<string, unknown>>,
});

describe('computeDesired', () => {
  it('merges matching rules for one destination: earliest activation, latest expiry, groups once', () => {
    const desired = computeDesired(
      user(),
      [group('Sales')],
      [
        rule('r1', { group: 'sales' }, [
          {
            destinationId: 'd1',
            enrollments: [{ id: 101, expiry: { daysAfterStart: 30 } }],
            groups: ['Sales Team'],
          },
        ]),
        rule('r2', { role: 'Manager' }, [
          {
            destinationId: 'd1',
            enrollments: [
              { id: '101', activation: { at: '2026-02-01T00:00:00Z' }, expiry: { daysAfterStart: 90 } },
            ],
            groups: ['sales team', 'Managers'],
          },
        ]),
        rule('r3', { always: true }, [{ destinationId: 'd2', enrollments: [{ id: 999 }] }]),
        rule('r4', { always: true }, [{ destinationId: 'd1', enrollments: [{ id: 555 }] }], false),
      ],
      'd1',
    );
    expect(desired.rules).toEqual(['r1', 'r2']);
    expect(desired.account).toBe(true);
    expect(desired.profile?.email).toBe('ada@example.com');
    expect(desired.groups).toEqual(['Managers', 'Sales Team']);
    expect(desired.enrollments).toEqual([
      {
        kind: 'course',
        productId: '101',
        activatedAt: '2026-02-01T00:00:00.000Z',
        expiresAt: new Date(Date.parse('2026-03-01') + 90 * 86_400_000).toISOString(),
      },
    ]);
  });

  it('defaults activation to the start date (or creation) and never expires', () => {
    const rules = [
      rule('r', { always: true }, [{ destinationId: 'd', enrollments: [{ kind: 'bundle', id: 7 }] }]),
    ];
    expect(computeDesired(user(), [], rules, 'd').enrollments[0]).toEqual({
      kind: 'bundle',
      productId: '7',
      activatedAt: '2026-03-01T00:00:00.000Z',
      expiresAt: null,
    });
    expect(computeDesired(user({ profile: {} }), [], rules, 'd').enrollments[0]?.activatedAt).toBe(
      '2026-01-15T10:00:00.000Z',
    );
  });

  it('gives nothing to people who are not active, have no email, or match no rule', () => {
    const rules = [rule('r', { group: 'Sales' }, [{ destinationId: 'd', groups: ['x'] }])];
    expect(computeDesired(user({ status: 'suspended' }), [group('Sales')], rules, 'd').account).toBe(false);
    expect(computeDesired(user({ email: null }), [group('Sales')], rules, 'd').account).toBe(false);
    expect(computeDesired(user(), [group('Support')], rules, 'd').account).toBe(false);
    expect(computeDesired(null, [], rules, 'd').account).toBe(false);
  });

  it('fills the names Thinkific requires from the email when missing', () => {
    expect(profileOf(user({ givenName: null, familyName: '' }))).toMatchObject({
      givenName: 'Ada',
      familyName: '-',
    });
  });
});
