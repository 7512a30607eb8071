/**
 * Runs the Microsoft Graph fake in its own process for benchmarks, so the hub's peak RSS is not
 * inflated by the fake's 100,000 generated people. Talks over the IPC channel of `fork`:
 * sends `{ ready, url, tenantId, clientId, clientSecret }`, then answers `{ change: n }` (changes
 * the job title of n people) with `{ changed }`.
 */
import { startFakeGraph } from '../../test/fakes/microsoft-graph/index.ts';

const employees = Number(process.argv[2] ?? 100_000);
const fake = await startFakeGraph({ employees, defaultDeltaPageSize: 999 });
process.send?.({
  ready: true,
  url: fake.url,
  tenantId: fake.tenantId,
  clientId: fake.clientId,
  clientSecret: fake.clientSecret,
});
process.on('message', (message: { change?: number; close?: boolean }) => {
  if (message.change) {
    const people = fake.people.list().slice(0, message.change);
    for (const person of people) fake.people.change(person.id, { jobTitle: `${person.jobTitle} II` });
    process.send?.({ changed: people.length });
  }
  if (message.close) void fake.close().then(() => process.exit(0));
});
