/** Admin API: the provider's signing keys (list, rotate, revoke). */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import type { App } from '../../../platform/http/types.ts';
import { rotateKeysBody, signingKeySchema } from '../contracts.ts';
import type { ProviderHost } from '../provider-host.ts';
import type { SigningKeyService } from '../signing-keys.ts';

export function signingKeyRoutes(
  app: App,
  deps: { keys: SigningKeyService; host: ProviderHost; requireScope: ScopeGuard },
) {
  const { keys, host, requireScope } = deps;
  const tags = ['Signing keys'];

  app.route({
    method: 'GET',
    url: '/api/v1/signing-keys',
    schema: {
      tags,
      summary: 'List the OpenID provider signing keys and where each is in its lifecycle',
      response: { 200: z.object({ data: z.array(signingKeySchema), retentionSeconds: z.number().int() }) },
    },
    onRequest: requireScope('read'),
    handler: async () => {
      await keys.ensure();
      return { data: await keys.list(), retentionSeconds: await keys.retentionSeconds() };
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/signing-keys/rotate',
    schema: {
      tags,
      summary: 'Rotate: publish new keys now; they sign after activateInSeconds',
      body: rotateKeysBody.optional(),
      response: { 201: z.object({ data: z.array(signingKeySchema) }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['signing_key.rotated'] },
    handler: async (request, reply) => {
      const created = await keys.rotate(
        {
          ...(request.body?.algorithms ? { algorithms: request.body.algorithms } : {}),
          ...(request.body?.activateInSeconds !== undefined
            ? { activateInSeconds: request.body.activateInSeconds }
            : {}),
        },
        request.actor,
      );
      host.invalidate();
      return reply.status(201).send({ data: created });
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/signing-keys/:kid/revoke',
    schema: {
      tags,
      summary: 'Withdraw a key at once (compromise): it neither signs nor verifies any more',
      params: z.object({ kid: z.string().max(200) }),
      response: { 200: signingKeySchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['signing_key.revoked'] },
    handler: async (request) => {
      const revoked = await keys.revoke(request.params.kid, request.actor);
      host.invalidate();
      return revoked;
    },
  });
}
