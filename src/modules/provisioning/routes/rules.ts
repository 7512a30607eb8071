/** Admin API: provisioning rules (ordered, enable/disable) and their dry run. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import type { App } from '../../../platform/http/types.ts';
import { createRuleBody, dryRunBody, dryRunSchema, ruleSchema, updateRuleBody } from '../contracts.ts';
import type { RuleService } from '../rules.ts';

const orgParams = z.object({ org: z.string().describe('Organization id or slug.') });
const ruleParams = orgParams.extend({ id: z.string() });

export function ruleRoutes(app: App, deps: { rules: RuleService; requireScope: ScopeGuard }) {
  const { rules, requireScope } = deps;
  const tags = ['Provisioning'];
  const base = '/api/v1/organizations/:org/provisioning/rules';

  app.route({
    method: 'POST',
    url: base,
    schema: {
      tags,
      summary: 'Create a provisioning rule; everyone it may affect is re-evaluated',
      params: orgParams,
      body: createRuleBody,
      response: { 201: ruleSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['rule.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await rules.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: base,
    schema: {
      tags,
      summary: 'List provisioning rules in evaluation order',
      params: orgParams,
      response: { 200: z.object({ data: z.array(ruleSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await rules.list(request.params.org) }),
  });

  app.route({
    method: 'POST',
    url: `${base}/dry-run`,
    schema: {
      tags,
      summary: 'Dry run: who the rules (or a rule not yet saved) would affect, and what would change',
      params: orgParams,
      body: dryRunBody,
      response: { 200: dryRunSchema },
    },
    onRequest: requireScope('read'),
    config: { audit: { none: 'changes nothing' } },
    handler: async (request) => rules.dryRun(request.params.org, request.body),
  });

  app.route({
    method: 'GET',
    url: `${base}/:id`,
    schema: { tags, summary: 'Get a provisioning rule', params: ruleParams, response: { 200: ruleSchema } },
    onRequest: requireScope('read'),
    handler: async (request) => rules.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: `${base}/:id`,
    schema: {
      tags,
      summary:
        'Update a rule (condition, effects, position, enabled); everyone it may affect is re-evaluated',
      params: ruleParams,
      body: updateRuleBody,
      response: { 200: ruleSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['rule.updated', 'rule.enabled', 'rule.disabled'] },
    handler: async (request) =>
      rules.update(request.params.org, request.params.id, request.body, request.actor),
  });

  for (const action of ['enable', 'disable'] as const) {
    app.route({
      method: 'POST',
      url: `${base}/:id/${action}`,
      schema: {
        tags,
        summary: `${action === 'enable' ? 'Enable' : 'Disable'} a provisioning rule`,
        params: ruleParams,
        response: { 200: ruleSchema },
      },
      onRequest: requireScope('admin'),
      config: { audit: [action === 'enable' ? 'rule.enabled' : 'rule.disabled'] },
      handler: async (request) =>
        rules.update(request.params.org, request.params.id, { enabled: action === 'enable' }, request.actor),
    });
  }

  app.route({
    method: 'DELETE',
    url: `${base}/:id`,
    schema: {
      tags,
      summary: 'Delete a rule; people who only had it lose what it gave, per destination policy',
      params: ruleParams,
      response: { 204: z.null() },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['rule.deleted'] },
    handler: async (request, reply) => {
      await rules.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });
}
