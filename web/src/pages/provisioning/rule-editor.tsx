/**
 * The rule editor: a name and position (react-hook-form), and the condition and effects edited as
 * a form (condition rows in all/any groups, effects per destination) or as JSON, with a dry run
 * showing who would be affected. The form's problems (../../rule-forms.ts) show once a dry run or a
 * save found them, and follow every edit until fixed.
 */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { attributeSections, labelOf } from '../../components/rule-fields/attributes.ts';
import { ConditionFields } from '../../components/rule-fields/condition-fields.tsx';
import { EffectFields } from '../../components/rule-fields/effect-fields.tsx';
import { Button, ErrorBox, Field } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import {
  conditionProblems,
  conditionToForm,
  effectProblems,
  effectsToForm,
  type FormProblem,
  formToCondition,
  formToEffects,
} from '../../rule-forms.ts';
import { DryRunResult } from './dry-run.tsx';
import type { Destination } from './kinds.tsx';
import { type EditorState, initialEditor, notAFormNotice, parseJson, type Rule } from './rule-state.ts';

export type { Rule } from './rule-state.ts';

const ruleForm = z.object({ name: z.string(), position: z.string() });
type RuleForm = z.infer<typeof ruleForm>;

export function RuleEditor({
  org,
  rule,
  destinations,
  names,
  onDone,
}: {
  org: string;
  rule: Rule | undefined;
  destinations: Destination[];
  names: Map<string, string>;
  onDone: (saved: boolean, warnings?: Schemas['ProvisioningCatalogWarning'][]) => void;
}) {
  const form = useForm<RuleForm>({
    resolver: zodResolver(ruleForm),
    defaultValues: { name: rule?.name ?? '', position: rule ? String(rule.position) : '' },
  });
  // The condition and effects: rows the tree editor changes, or JSON (./rule-state.ts).
  const [editor, setEditor] = useState<EditorState>(() => initialEditor(rule, destinations));
  /** Once a dry run or save found problems, they follow every edit until fixed. */
  const [checked, setChecked] = useState(false);
  const path = { params: { path: { org } } };
  const groups = useQuery(
    apiQuery('/api/v1/organizations/{org}/groups', { params: { path: { org }, query: { limit: 200 } } }),
  );
  const hrDirectories = useQuery(apiQuery('/api/v1/organizations/{org}/hris/directories', path));
  const customAttributes = [
    ...new Set((hrDirectories.data?.data ?? []).flatMap((d) => Object.keys(d.effectiveMapping.custom ?? {}))),
  ].sort();
  const connections = useQuery(apiQuery('/api/v1/organizations/{org}/connections', path));
  const ssoAttributes = [
    ...new Set((connections.data?.data ?? []).flatMap((c) => Object.keys(c.mapping.attributes ?? {}))),
  ].sort();
  const sections = attributeSections(customAttributes, ssoAttributes);
  const groupNames = (groups.data?.data ?? []).map((group) => group.name);
  const formProblems = (state: EditorState): FormProblem[] =>
    state.mode === 'json'
      ? []
      : [
          ...conditionProblems(state.condition, (subject) => labelOf(sections, subject)),
          ...effectProblems(state.effects, new Set(destinations.map((d) => d.id))),
        ];
  const problems = checked ? formProblems(editor) : [];
  const toJson = () => {
    setChecked(false);
    setEditor({
      ...editor,
      mode: 'json',
      notice: undefined,
      conditionText: JSON.stringify(formToCondition(editor.condition), null, 2),
      effectsText: JSON.stringify(formToEffects(editor.effects), null, 2),
    });
  };
  const toForm = () => {
    try {
      const condition = conditionToForm(parseJson('The condition', editor.conditionText));
      const effects = effectsToForm(parseJson('The effects', editor.effectsText));
      setEditor({ ...editor, mode: 'form', condition, effects, notice: undefined });
    } catch (error) {
      setEditor({ ...editor, notice: notAFormNotice(error) });
    }
  };
  /** The rule as the API takes it, or undefined (with the problems shown) when the form is incomplete. */
  const draft = (name: string) => {
    setChecked(true);
    if (formProblems(editor).length) return undefined;
    return {
      name: name || 'Untitled rule',
      condition:
        editor.mode === 'form'
          ? formToCondition(editor.condition)
          : parseJson('The condition', editor.conditionText),
      effects:
        editor.mode === 'form' ? formToEffects(editor.effects) : parseJson('The effects', editor.effectsText),
    };
  };
  // An incomplete form sends nothing: draft() shows its problems and answers undefined.
  const dryRun = useApiMutation(({ name }: RuleForm) => {
    const body = draft(name);
    if (!body) return Promise.resolve(undefined);
    return unwrap(
      client.POST('/api/v1/organizations/{org}/provisioning/rules/dry-run', {
        ...path,
        body: { rule: { ...body, enabled: true }, limit: 200 } as Schemas['ProvisioningDryRunInput'],
      }),
    );
  });
  const save = useApiMutation(
    ({ name, position }: RuleForm) => {
      const body = draft(name);
      if (!body) return Promise.resolve(undefined);
      const full = {
        ...body,
        ...(position.trim() ? { position: Number(position) } : {}),
      } as Schemas['CreateProvisioningRuleInput'];
      return unwrap(
        rule
          ? client.PATCH('/api/v1/organizations/{org}/provisioning/rules/{id}', {
              params: { path: { org, id: rule.id } },
              body: full,
            })
          : client.POST('/api/v1/organizations/{org}/provisioning/rules', { ...path, body: full }),
      );
    },
    {
      onSuccess: (saved) => {
        if (saved) onDone(true, saved.warnings);
      },
    },
  );
  return (
    <form
      className="card form"
      aria-label={rule ? 'Edit rule' : 'New rule'}
      onSubmit={form.handleSubmit((values) => save.mutate(values))}
    >
      <h2>{rule ? `Edit ${rule.name}` : 'New rule'}</h2>
      <div className="grid2">
        <Field label="Rule name" htmlFor="rule-name">
          <input id="rule-name" {...form.register('name')} placeholder="Engineers" />
        </Field>
        <Field label="Position" htmlFor="rule-position" hint="1 is evaluated first; empty: last.">
          <input id="rule-position" type="number" min={1} {...form.register('position')} />
        </Field>
      </div>
      <div className="row mode-switch">
        <span className="muted small">Edit as</span>
        <button
          type="button"
          className={editor.mode === 'form' ? 'primary small' : 'secondary small'}
          aria-pressed={editor.mode === 'form'}
          onClick={() => (editor.mode === 'form' ? undefined : toForm())}
        >
          Form
        </button>
        <button
          type="button"
          className={editor.mode === 'json' ? 'primary small' : 'secondary small'}
          aria-pressed={editor.mode === 'json'}
          onClick={() => (editor.mode === 'json' ? undefined : toJson())}
        >
          JSON
        </button>
      </div>
      {editor.notice ? (
        <div className="warning" role="status">
          {editor.notice}
        </div>
      ) : null}
      {editor.mode === 'form' ? (
        <>
          <section aria-labelledby="rule-condition-title">
            <h3 id="rule-condition-title">Who</h3>
            <ConditionFields
              form={editor.condition}
              onChange={(condition) => setEditor({ ...editor, condition })}
              sections={sections}
              groupNames={groupNames}
              invalid={problems.map((problem) => problem.field)}
            />
          </section>
          <section aria-labelledby="rule-effects-title">
            <h3 id="rule-effects-title">Gets what, where</h3>
            {destinations.length === 0 ? (
              <div className="warning">
                No destination yet: <Link to={`/admin/o/${org}/destinations`}>add one</Link> first.
              </div>
            ) : null}
            <EffectFields
              effects={editor.effects}
              onChange={(effects) => setEditor({ ...editor, effects })}
              destinations={destinations}
            />
          </section>
        </>
      ) : (
        <div className="grid2">
          <Field
            label="Condition (JSON)"
            htmlFor="rule-condition"
            hint={
              <>
                <code>all</code>/<code>any</code>/<code>not</code>, <code>group</code>, <code>role</code>,{' '}
                <code>source</code>, <code>attribute</code>, <code>always</code>.
              </>
            }
          >
            <textarea
              id="rule-condition"
              className="mono"
              rows={10}
              spellCheck={false}
              value={editor.conditionText}
              onChange={(e) => setEditor({ ...editor, conditionText: e.target.value })}
            />
          </Field>
          <Field
            label="Effects (JSON)"
            htmlFor="rule-effects"
            hint={
              <>
                Per destination: <code>account</code>, <code>enrollments</code> [{'{'}kind, id, activation,
                expiry{'}'}], <code>groups</code>. Destinations:{' '}
                {destinations.map((d) => `${d.name} = ${d.id}`).join('; ') || 'none yet'}.
              </>
            }
          >
            <textarea
              id="rule-effects"
              className="mono"
              rows={10}
              spellCheck={false}
              value={editor.effectsText}
              onChange={(e) => setEditor({ ...editor, effectsText: e.target.value })}
            />
          </Field>
        </div>
      )}
      {problems.length ? (
        <div className="error" role="alert">
          <strong>Fix {problems.length === 1 ? 'this' : `these ${problems.length} fields`} first:</strong>
          <ul>
            {problems.map((problem) => (
              <li key={problem.message}>{problem.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorBox error={save.error ?? dryRun.error} />
      <div className="actions">
        <Button
          className="secondary"
          busy={dryRun.isPending}
          busyLabel="Evaluating everyone…"
          onClick={form.handleSubmit((values) => dryRun.mutate(values))}
        >
          Dry run
        </Button>
        <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
          {rule ? 'Save rule' : 'Create rule'}
        </Button>
        <button type="button" className="secondary" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
      {dryRun.data ? <DryRunResult result={dryRun.data} names={names} /> : null}
    </form>
  );
}
