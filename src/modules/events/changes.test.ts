import { describe, expect, it } from 'vitest';
import { diffViews, sameValue } from './changes.ts';

describe('sameValue', () => {
  it('compares objects member by member, whatever their key order', () => {
    expect(sameValue({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(
      true,
    );
    expect(sameValue({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
    expect(sameValue('1', 1)).toBe(false);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue({ a: null }, {})).toBe(true);
  });
});

describe('diffViews', () => {
  it('reports no change for a deeper object or array whose keys come back in another order', () => {
    const before = { name: 'x', saml: { mapping: { email: 'mail', groups: ['g'] } }, tags: [{ a: 1, b: 2 }] };
    const after = { tags: [{ b: 2, a: 1 }], saml: { mapping: { groups: ['g'], email: 'mail' } }, name: 'x' };
    expect(diffViews(before, after, { depth: 1 })).toEqual({});
    expect(diffViews(before, { ...after, name: 'y' }, { depth: 1 })).toEqual({
      name: { from: 'x', to: 'y' },
    });
  });
});
