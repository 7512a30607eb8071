import { describe, expect, it } from 'vitest';
import { failureMessage } from './client.ts';

describe('failureMessage', () => {
  it("gives a database error's own message, not the statement and parameters around it", () => {
    const cause = Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    const wrapped = new Error(
      'Failed query: select * from users where email in ($1, $2)\nparams: ada@example.com,bob@example.com',
      { cause },
    );
    expect(failureMessage(wrapped)).toBe(
      'Database error 57014: canceling statement due to statement timeout',
    );
  });

  it('keeps other messages, without parameters, at most 500 characters', () => {
    expect(failureMessage(new Error('Failed query: select 1\nparams: secret'))).toBe(
      'Failed query: select 1',
    );
    expect(failureMessage(new Error('x'.repeat(900)))).toHaveLength(500);
    expect(failureMessage('plain')).toBe('plain');
  });
});
