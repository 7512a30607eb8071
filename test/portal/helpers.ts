import { expect } from 'vitest';
import { type Browser, type Page, parseForms } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';

export interface CreatedLink {
  url: string;
  token: string;
  link: {
    id: string;
    intent: string;
    status: string;
    connectionId: string | null;
    directoryId: string | null;
    expiresAt: string;
    label: string | null;
  };
}

export async function createLink(
  t: TestHub,
  orgId: string,
  body: Record<string, unknown>,
): Promise<CreatedLink> {
  const response = await t.api('POST', `/api/v1/organizations/${orgId}/setup-links`, { body });
  expect(response.status, response.text).toBe(201);
  const url = response.body.url as string;
  return { url, token: url.split('/setup/')[1] as string, link: response.body.link };
}

/** The CSRF tag of the page's first form that has one. */
export function csrfOf(page: Page): string {
  const form = parseForms(page.html, page.url).find((candidate) => candidate.fields.csrf);
  if (!form) throw new Error(`no form with a csrf field on ${page.url}:\n${page.html.slice(0, 400)}`);
  return form.fields.csrf as string;
}

/** Text of every `role=alert` / `role=status` message on a page. */
export function messagesOf(page: Page): string {
  return [...page.html.matchAll(/role="(?:alert|status)">([^<]*)</g)].map((match) => match[1]).join(' | ');
}

/** Follows the test sign-in's "Continue" link (a meta refresh in a real browser). */
export async function continueTestLogin(browser: Browser, page: Page): Promise<Page> {
  const match = /<a id="continue" href="([^"]+)"/.exec(page.html);
  if (!match) throw new Error(`no continue link on ${page.url}:\n${page.html.slice(0, 400)}`);
  return browser.get(new URL(match[1]?.replaceAll('&amp;', '&') as string, page.url).href, page.history);
}
