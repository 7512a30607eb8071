import { personioConnector } from '../../src/connectors/personio/index.ts';
import { describeHrConnectorContract } from '../connectors/hris-contract.ts';
import { startPersonioFake } from '../fakes/personio/index.ts';

describeHrConnectorContract({ connector: personioConnector, startFake: () => startPersonioFake() });

describeHrConnectorContract({
  connector: personioConnector,
  variant: 'API v2',
  startFake: () => startPersonioFake({ apiVersion: 'v2' }),
});
