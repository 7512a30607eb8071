import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.ts';

describe('newId', () => {
  it('is prefixed, unique and sorts in creation order', () => {
    const ids = Array.from({ length: 2000 }, () => newId('user'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) expect(isId('user', id)).toBe(true);
    expect(isId('organization', ids[0] as string)).toBe(false);
  });
});
