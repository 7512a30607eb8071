/**
 * A small browser for end-to-end tests over real HTTP: a cookie jar (per host, Path and expiry
 * honoured, no SameSite games), redirects followed, and HTML forms read and submitted, with
 * auto-submitting forms (SAML POST binding, OIDC form_post, consent pages made of hidden inputs)
 * posted on their own, as a browser with JavaScript would.
 *
 *   const browser = new Browser();
 *   const page = await browser.get(`${hub.url}/login?login_hint=jane@acme.test`);
 *   const done = await browser.submit(page, { email: 'jane@acme.test' });
 */

export interface Page {
  url: string;
  status: number;
  headers: Headers;
  html: string;
  /** Every URL visited to get here (redirects and auto-posted forms included). */
  history: string[];
}

export interface Form {
  action: string;
  method: 'GET' | 'POST';
  fields: Record<string, string>;
  /** Names of visible (non-hidden) inputs. */
  visible: string[];
}

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires?: number;
}

export class Browser {
  readonly cookies: Cookie[] = [];
  /** Stop following at these URL prefixes (e.g. to capture a response before it is posted). */
  stopAt: string[] = [];
  autoSubmit = true;
  maxSteps = 25;
  /** Called after each HTTP exchange with its URL and duration (benchmarks time the hub's share). */
  onExchange: ((url: string, ms: number) => void) | undefined;

  async get(url: string, history: string[] = []): Promise<Page> {
    return this.#navigate(url, { method: 'GET' }, history);
  }

  async post(url: string, fields: Record<string, string>, history: string[] = []): Promise<Page> {
    return this.#navigate(url, { method: 'POST', body: new URLSearchParams(fields).toString() }, history);
  }

  /** Fills and submits the page's first form (or the one whose action contains `formAction`). */
  async submit(page: Page, values: Record<string, string> = {}, formAction?: string): Promise<Page> {
    const form = parseForms(page.html, page.url).find(
      (candidate) => !formAction || candidate.action.includes(formAction),
    );
    if (!form) throw new Error(`no form on ${page.url}:\n${page.html.slice(0, 500)}`);
    const fields = { ...form.fields, ...values };
    if (form.method === 'GET') {
      const url = new URL(form.action);
      for (const [key, value] of Object.entries(fields)) url.searchParams.set(key, value);
      return this.get(url.href, page.history);
    }
    return this.post(form.action, fields, page.history);
  }

  cookie(name: string): string | undefined {
    return this.cookies.find((cookie) => cookie.name === name)?.value;
  }

  clearCookies(): void {
    this.cookies.length = 0;
  }

  async #navigate(start: string, init: { method: string; body?: string }, history: string[]): Promise<Page> {
    let url = start;
    let request = init;
    const visited = [...history];
    for (let step = 0; step < this.maxSteps; step++) {
      visited.push(url);
      const headers: Record<string, string> = { 'user-agent': 'switchboard-test-browser' };
      const cookieHeader = this.#cookieHeader(url);
      if (cookieHeader) headers.cookie = cookieHeader;
      if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const started = performance.now();
      const response = await fetch(url, {
        method: request.method,
        headers,
        body: request.body,
        redirect: 'manual',
      });
      this.#store(url, response.headers);
      const html = await response.text();
      this.onExchange?.(url, performance.now() - started);
      if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
        const next = new URL(response.headers.get('location') as string, url).href;
        if (this.stopAt.some((prefix) => next.startsWith(prefix))) {
          return { url: next, status: response.status, headers: response.headers, html, history: visited };
        }
        url = next;
        request = { method: 'GET' };
        continue;
      }
      const page: Page = { url, status: response.status, headers: response.headers, html, history: visited };
      const auto = this.autoSubmit ? autoSubmittedForm(html, url) : undefined;
      if (auto && !this.stopAt.some((prefix) => auto.action.startsWith(prefix))) {
        url = auto.action;
        request =
          auto.method === 'POST'
            ? { method: 'POST', body: new URLSearchParams(auto.fields).toString() }
            : { method: 'GET' };
        if (auto.method === 'GET') {
          const target = new URL(auto.action);
          for (const [key, value] of Object.entries(auto.fields)) target.searchParams.set(key, value);
          url = target.href;
        }
        continue;
      }
      return page;
    }
    throw new Error(`more than ${this.maxSteps} redirects from ${start}: ${visited.join(' -> ')}`);
  }

  #cookieHeader(url: string): string {
    const target = new URL(url);
    const now = Date.now();
    return this.cookies
      .filter(
        (cookie) =>
          cookie.host === target.host &&
          target.pathname.startsWith(cookie.path) &&
          (!cookie.expires || cookie.expires > now),
      )
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  #store(url: string, headers: Headers): void {
    const host = new URL(url).host;
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      let path = '/';
      let expires: number | undefined;
      for (const attribute of attributes) {
        const [key = '', attributeValue = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = attributeValue || '/';
        if (key.toLowerCase() === 'max-age') expires = Date.now() + Number(attributeValue) * 1000;
        if (key.toLowerCase() === 'expires' && expires === undefined) expires = Date.parse(attributeValue);
      }
      const existing = this.cookies.findIndex(
        (cookie) => cookie.name === name && cookie.host === host && cookie.path === path,
      );
      if (existing >= 0) this.cookies.splice(existing, 1);
      if (expires !== undefined && expires <= Date.now()) continue;
      this.cookies.push({ name, value, host, path, ...(expires !== undefined ? { expires } : {}) });
    }
  }
}

/** A form that would submit itself: onload/script submit, or a form of hidden inputs only. */
function autoSubmittedForm(html: string, base: string): Form | undefined {
  const forms = parseForms(html, base);
  if (forms.length !== 1) return undefined;
  const form = forms[0] as Form;
  const scripted = /\.submit\(\)/.test(html);
  if (scripted || (form.visible.length === 0 && Object.keys(form.fields).length > 0)) return form;
  return undefined;
}

export function parseForms(html: string, base: string): Form[] {
  const forms: Form[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1] ?? '');
    const fields: Record<string, string> = {};
    const visible: string[] = [];
    for (const input of (match[2] ?? '').matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const attrs = parseAttributes(input[2] ?? '');
      const type = (attrs.type ?? (input[1]?.toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
      if (!attrs.name) continue;
      if (type === 'submit' || type === 'button') {
        continue;
      }
      fields[attrs.name] = attrs.value ?? '';
      if (type !== 'hidden') visible.push(attrs.name);
    }
    forms.push({
      action: new URL(attributes.action ?? base, base).href,
      method: (attributes.method ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
      visible,
    });
  }
  return forms;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(
    /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g,
  )) {
    const name = (match[1] ?? '').toLowerCase();
    attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

export function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&amp;/g, '&');
}

/** Text of the element with this id (e.g. `trace-id` on error and result pages). */
export function textById(html: string, id: string): string | undefined {
  const match = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html);
  return match ? decodeEntities(match[1] ?? '') : undefined;
}
