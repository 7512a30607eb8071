/**
 * The HR and directory connectors the hub knows, by provider key. A directory of kind `hris` or
 * `directory` names one of these as its `provider`. Add a connector to `CONNECTORS` after writing
 * it (see the doc block of `hris-contract.ts`).
 */

import { bamboohrConnector } from './bamboohr/index.ts';
import { googleWorkspaceConnector } from './google-workspace/index.ts';
import type { HrConnector } from './hris-contract.ts';
import { mergeConnector } from './merge/index.ts';
import { graphConnector } from './microsoft-graph/index.ts';
import { personioConnector } from './personio/index.ts';
import { successFactorsConnector } from './successfactors/index.ts';
import { workdayConnector } from './workday/index.ts';

// The registry holds connectors of different config types; each parses its own config and credentials.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry, narrowed by each manifest's schemas
export type AnyHrConnector = HrConnector<any, any>;

const CONNECTORS: AnyHrConnector[] = [
  personioConnector,
  bamboohrConnector,
  workdayConnector,
  successFactorsConnector,
  mergeConnector,
  googleWorkspaceConnector,
  graphConnector,
];

const byProvider = new Map(CONNECTORS.map((connector) => [connector.manifest.provider, connector]));

/**
 * Adds a connector at run time (an embedding application's own connector, or a test's stand-in).
 * A provider key already taken is refused.
 */
export function registerHrConnector(connector: AnyHrConnector): void {
  if (byProvider.has(connector.manifest.provider)) {
    throw new Error(`an HR connector "${connector.manifest.provider}" is already registered`);
  }
  CONNECTORS.push(connector);
  byProvider.set(connector.manifest.provider, connector);
}

export function hrConnector(provider: string): AnyHrConnector | undefined {
  return byProvider.get(provider);
}

export function hrConnectors(): readonly AnyHrConnector[] {
  return CONNECTORS;
}

/** Provider keys of every HR/directory connector. */
export function hrProviders(): string[] {
  return [...byProvider.keys()];
}
