/** Actors for changes made outside an HTTP request. */
import { hostname, userInfo } from 'node:os';
import type { Actor } from './contracts.ts';

/**
 * The actor of a `switchboard` command: the operating-system user who ran it, on which host. The
 * account name comes from the OS (not from `$USER`, which anyone can set), falling back to the
 * environment only where the OS has no entry for the uid (some containers).
 */
export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? 'unknown'}`;
  }
  return { type: 'cli', id: user, name: `${user}@${hostname()}` };
}
