/** Provisioning rules of one organization, evaluated in order; the editor is ./rule-editor.tsx. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { Schemas } from '../../api/types.ts';
import type { PageProps } from '../../app.tsx';
import { Badge, Button, Empty, ErrorBox, Loader, PageHeader } from '../../components/ui.tsx';
import { CatalogWarnings } from './catalog-warnings.tsx';
import { type Rule, RuleEditor } from './rule-editor.tsx';

export function RulesPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const rules = useQuery(
    apiQuery('/api/v1/organizations/{org}/provisioning/rules', { params: { path: { org } } }),
  );
  const destinations = useQuery(
    apiQuery('/api/v1/organizations/{org}/destinations', { params: { path: { org } } }),
  );
  const [editing, setEditing] = useState<Rule | 'new' | undefined>();
  const [saveWarnings, setSaveWarnings] = useState<Schemas['ProvisioningCatalogWarning'][]>([]);
  const reload = () => invalidate(queryClient, '/api/v1/organizations/{org}/provisioning/rules');
  const toggle = useApiMutation(
    (rule: Rule) => {
      const path = { params: { path: { org, id: rule.id } } };
      return unwrap(
        rule.enabled
          ? client.POST('/api/v1/organizations/{org}/provisioning/rules/{id}/disable', path)
          : client.POST('/api/v1/organizations/{org}/provisioning/rules/{id}/enable', path),
      );
    },
    { onSuccess: reload },
  );
  const remove = useApiMutation(
    (rule: Rule) =>
      unwrap(
        client.DELETE('/api/v1/organizations/{org}/provisioning/rules/{id}', {
          params: { path: { org, id: rule.id } },
        }),
      ),
    { onSuccess: reload },
  );
  const admin = can(session, 'admin');
  const names = new Map((destinations.data?.data ?? []).map((d) => [d.id, d.name]));
  return (
    <>
      <PageHeader
        title="Provisioning rules"
        subtitle="Evaluated in order for every person: who gets an account, enrollments and groups, where."
        actions={
          admin && !editing ? (
            <button type="button" className="primary" onClick={() => setEditing('new')}>
              New rule
            </button>
          ) : null
        }
      />
      {editing ? (
        <RuleEditor
          key={editing === 'new' ? 'new' : editing.id}
          org={org}
          rule={editing === 'new' ? undefined : editing}
          destinations={destinations.data?.data ?? []}
          names={names}
          onDone={(saved, warnings) => {
            setEditing(undefined);
            setSaveWarnings(warnings ?? []);
            if (saved) void reload();
          }}
        />
      ) : null}
      {saveWarnings.length ? (
        <div className="card">
          <strong>Saved, but not everything could be checked:</strong>
          <CatalogWarnings warnings={saveWarnings} />
        </div>
      ) : null}
      <ErrorBox error={toggle.error ?? remove.error} />
      <Loader state={rules} label="Loading rules…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No rule yet.">
              A rule says: people matching this condition get this in that destination.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Name</th>
                    <th>Condition</th>
                    <th>Destinations</th>
                    <th>Status</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((rule) => (
                    <tr key={rule.id}>
                      <td>{rule.position}</td>
                      <td>{rule.name}</td>
                      <td>{rule.description}</td>
                      <td>
                        {rule.effects
                          .map(
                            (effect) =>
                              names.get(String(effect.destinationId)) ?? String(effect.destinationId),
                          )
                          .join(', ')}
                      </td>
                      <td>
                        <Badge tone={rule.enabled ? 'ok' : 'neutral'}>
                          {rule.enabled ? 'enabled' : 'disabled'}
                        </Badge>
                      </td>
                      <td>
                        {admin ? (
                          <div className="actions">
                            <Button
                              className="secondary small"
                              busy={toggle.isPending}
                              onClick={() => toggle.mutate(rule)}
                            >
                              {rule.enabled ? 'Disable' : 'Enable'}
                            </Button>
                            <button
                              type="button"
                              className="secondary small"
                              onClick={() => setEditing(rule)}
                            >
                              Edit
                            </button>
                            <Button
                              className="danger small"
                              busy={remove.isPending}
                              onClick={() => {
                                if (
                                  !window.confirm(
                                    `Delete "${rule.name}"? People who only had it lose what it gave, per each destination's policy.`,
                                  )
                                )
                                  return;
                                remove.mutate(rule);
                              }}
                            >
                              Delete
                            </Button>
                          </div>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
    </>
  );
}
