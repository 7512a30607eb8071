/** Every destination connector passes the shared contract against its fake. */
import { describe, expect, it } from 'vitest';
import { runDestinationContract } from '../../src/connectors/contract.ts';
import { ScimConnector } from '../../src/connectors/scim/client.ts';
import { ThinkificConnector } from '../../src/connectors/thinkific/client.ts';
import { WebhookConnector } from '../../src/connectors/webhook/client.ts';
import { HttpClient } from '../../src/platform/http-client.ts';
import { FakeScimApp } from '../fakes/scim-app/server.ts';
import { FakeThinkific } from '../fakes/thinkific/server.ts';
import { FakeWebhookReceiver } from '../fakes/webhook-receiver/server.ts';

const http = new HttpClient();

runDestinationContract(
  { describe, it, expect },
  {
    name: 'thinkific',
    setup: async () => {
      const fake = await new FakeThinkific({ rateLimit: null }).start();
      const connector = new ThinkificConnector({
        http,
        settings: { baseUrl: fake.url, subdomain: fake.subdomain },
        credentials: { apiKey: fake.apiKey },
      });
      return { connector, course: '101', close: () => fake.stop() };
    },
  },
);

runDestinationContract(
  { describe, it, expect },
  {
    name: 'scim',
    setup: async () => {
      const fake = await new FakeScimApp().start();
      const connector = new ScimConnector({
        http,
        settings: { baseUrl: fake.url },
        credentials: { token: fake.token },
      });
      return { connector, close: () => fake.stop() };
    },
  },
);

runDestinationContract(
  { describe, it, expect },
  {
    name: 'webhook',
    setup: async () => {
      const fake = await new FakeWebhookReceiver().start();
      const connector = new WebhookConnector({
        http,
        settings: { url: fake.url },
        credentials: { secret: fake.secret },
      });
      return {
        connector,
        course: '101',
        close: async () => {
          // Every delivery carried a valid Standard Webhooks signature.
          expect(fake.rejected).toEqual([]);
          await fake.stop();
        },
      };
    },
  },
);
