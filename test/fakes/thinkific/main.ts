/**
 * `npm run fake:thinkific`: the Thinkific fake on its own, so a person can point a destination at
 * it. Environment: PORT (default 4010), THINKIFIC_API_KEY, THINKIFIC_SUBDOMAIN, RATE_LIMIT
 * (requests per minute, `0` for none; default 120), RESET_STYLE (`epoch`, `seconds`, `milliseconds`).
 */
import { FakeThinkific } from './server.ts';

const rate = Number(process.env.RATE_LIMIT ?? 120);
const fake = await new FakeThinkific({
  port: Number(process.env.PORT ?? 4010),
  apiKey: process.env.THINKIFIC_API_KEY ?? 'fake-thinkific-key',
  subdomain: process.env.THINKIFIC_SUBDOMAIN ?? 'acme-academy',
  rateLimit: rate > 0 ? { requests: rate, perSeconds: 60 } : null,
  resetStyle: (process.env.RESET_STYLE as 'epoch' | 'seconds' | 'milliseconds' | undefined) ?? 'epoch',
}).start();
process.stdout.write(
  `${JSON.stringify(
    {
      baseUrl: fake.url,
      apiKey: fake.apiKey,
      subdomain: fake.subdomain,
      rateLimitPerMinute: rate || null,
      courses: fake.courses,
      bundles: fake.bundles,
      destination: {
        kind: 'thinkific',
        name: 'Thinkific (fake)',
        settings: { baseUrl: fake.url, subdomain: fake.subdomain },
        credentials: { apiKey: fake.apiKey },
      },
    },
    null,
    2,
  )}\n`,
);
const stop = async () => {
  await fake.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
