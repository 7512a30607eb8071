/**
 * XML parsing for SAML messages and metadata, hardened: a document with a DTD (and so any entity
 * declaration, internal or external) is refused before parsing (SAML 2.0 core §1.3: messages must
 * not contain one; it is the door to XXE and entity expansion), parse errors are fatal, and
 * elements are looked up by namespace, never by prefix.
 */
import { DOMParser } from '@xmldom/xmldom';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export class XmlRefused extends Error {
  override name = 'XmlRefused';
}

/** Parses XML, refusing DTDs, entity declarations and malformed documents. */
export function parseXml(xml: string): Document {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new XmlRefused('the document contains a DTD or entity declaration, which SAML forbids');
  }
  const errors: string[] = [];
  const document = new DOMParser({
    locator: {},
    errorHandler: {
      warning: () => {},
      error: (message: string) => errors.push(message),
      fatalError: (message: string) => errors.push(message),
    },
  }).parseFromString(xml, 'text/xml');
  if (errors.length || !document?.documentElement) {
    throw new XmlRefused(
      `the document is not well-formed XML${errors[0] ? `: ${errors[0].split('\n')[0]}` : ''}`,
    );
  }
  return document as unknown as Document;
}

/** Direct element children of `parent` with this namespace and local name. */
export function children(parent: Element | Document, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  const nodes = parent.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Element;
    if (node.nodeType === 1 && node.namespaceURI === namespace && node.localName === localName)
      found.push(node);
  }
  return found;
}

export function child(parent: Element | Document, namespace: string, localName: string): Element | undefined {
  return children(parent, namespace, localName)[0];
}

/** Descendant elements anywhere below `parent`. */
export function descendants(parent: Element | Document, namespace: string, localName: string): Element[] {
  const list = parent.getElementsByTagNameNS(namespace, localName);
  const found: Element[] = [];
  for (let i = 0; i < list.length; i++) {
    const element = list.item(i);
    if (element) found.push(element);
  }
  return found;
}

/** The element's whole text (all text nodes joined; comments are not text). */
export function text(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  const value = element.textContent ?? '';
  return value.trim();
}

/** True when any comment node sits below `element`. */
export function containsComment(element: Node): boolean {
  const nodes = element.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (!node) continue;
    if (node.nodeType === 8) return true;
    if (node.nodeType === 1 && containsComment(node)) return true;
  }
  return false;
}

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
