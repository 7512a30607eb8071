/**
 * The Personio fake in its own process for the hris-sync bench, so the hub's figures (CPU, peak
 * RSS) are not the fake's. Driven over IPC: `seed` (count), `touch` (ids to change), `close`.
 */
import type { HrFakeEmployee } from '../test/connectors/hris-contract.ts';
import { startPersonioFake } from '../test/fakes/personio/index.ts';

const DEPARTMENTS = ['Engineering', 'Sales', 'Marketing', 'Finance', 'People', 'Support', 'Legal', 'Product'];

export function benchPeople(count: number): HrFakeEmployee[] {
  return Array.from({ length: count }, (_, index) => {
    const n = index + 1;
    return {
      id: String(n),
      employeeNumber: `E${n}`,
      firstName: `First${n}`,
      lastName: `Last${n}`,
      email: `person${n}@bench.example.com`,
      jobTitle: n % 10 === 0 ? 'Manager' : 'Specialist',
      department: DEPARTMENTS[n % DEPARTMENTS.length] as string,
      // A tree: person k manages persons 10k+1 to 10k+10.
      managerId: n === 1 ? null : String(Math.max(1, Math.floor((n - 1) / 10))),
      status: 'active',
      hireDate: `20${String(10 + (n % 14)).padStart(2, '0')}-0${(n % 9) + 1}-1${n % 10}`,
      terminationDate: null,
      custom: { dynamic_24407: ['S', 'M', 'L', 'XL'][n % 4] as string },
    };
  });
}

type Command = { type: 'seed'; count: number } | { type: 'touch'; ids: string[] } | { type: 'close' };

if (process.send) {
  const fake = await startPersonioFake({ rateLimit: false });
  process.on('message', async (command: Command) => {
    if (command.type === 'seed') fake.seed(benchPeople(command.count));
    if (command.type === 'touch') {
      fake.tick(15 * 60_000);
      for (const id of command.ids) fake.update(id, { jobTitle: 'Lead' });
    }
    if (command.type === 'close') {
      await fake.close();
      process.exit(0);
    }
    process.send?.({ type: 'done', config: fake.config, credentials: fake.credentials });
  });
  process.send({ type: 'ready', config: fake.config, credentials: fake.credentials });
}
