import { bamboohrConnector } from '../../src/connectors/bamboohr/index.ts';
import { describeHrConnectorContract } from '../connectors/hris-contract.ts';
import { startBamboohrFake } from '../fakes/bamboohr/index.ts';

describeHrConnectorContract({
  connector: bamboohrConnector,
  variant: '429 + Retry-After',
  startFake: () => startBamboohrFake(),
});
describeHrConnectorContract({
  connector: bamboohrConnector,
  variant: '503 + Retry-After',
  // BambooHR throttled with 503 + Retry-After until 16 Sep 2026.
  startFake: () => startBamboohrFake({ throttleStatus: 503 }),
});
