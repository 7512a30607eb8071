/**
 * The HR and directory connectors the hub knows, by provider key. A directory of kind `hris` or
 * `directory` names one of these as its `provider`. Add a connector here after writing it (see
 * the doc block of `hris-contract.ts`).
 */
import type { HrConnector } from './hris-contract.ts';

// The registry holds connectors of different config types; each parses its own config.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry, narrowed by each manifest's schemas
type AnyHrConnector = HrConnector<any, any>;

const connectors = new Map<string, AnyHrConnector>();

export function registerHrConnector(connector: AnyHrConnector): void {
  connectors.set(connector.manifest.provider, connector);
}

export function hrConnector(provider: string): AnyHrConnector | undefined {
  return connectors.get(provider);
}

export function hrConnectors(): AnyHrConnector[] {
  return [...connectors.values()];
}
