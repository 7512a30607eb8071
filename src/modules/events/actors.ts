/** Actors for changes made outside an HTTP request. */
import { hostname, userInfo } from 'node:os';
import type { Actor } from './contracts.ts';

/**
 * The actor of a `switchboard` command: the operating-system account that ran it, on which host.
 * Both come from the OS, never from the environment (`$USER`, `$LOGNAME`), which anyone can set.
 * Where the OS has no account entry for the uid (some containers), the actor is named by its uid.
 */
export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid:${process.getuid?.() ?? 'unknown'}`;
  }
  return { type: 'cli', id: user, name: `${user}@${hostname()}` };
}
