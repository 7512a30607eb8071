/**
 * The rule editor's state: a rule's condition and effects as form rows (../../rule-forms.ts), or
 * as JSON when the form cannot show them, and the switch between the two.
 */
import type { Schemas } from '../../api/types.ts';
import {
  type ConditionForm,
  conditionToForm,
  type EffectForm,
  effectsToForm,
  emptyEffect,
  formToCondition,
  formToEffects,
  NotAForm,
  newConditionForm,
} from '../../rule-forms.ts';

export type Rule = Schemas['ProvisioningRule'];

export function parseJson(label: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${label} is not valid JSON: ${(error as Error).message}`);
  }
}

type EditorMode = 'form' | 'json';

export interface EditorState {
  mode: EditorMode;
  condition: ConditionForm;
  effects: EffectForm[];
  conditionText: string;
  effectsText: string;
  /** Why the rule opened as JSON (it cannot be shown as a form). */
  notice?: string;
}

export function initialEditor(rule: Rule | undefined, destinations: Array<{ id: string }>): EditorState {
  if (!rule) {
    const effects = [emptyEffect(destinations[0]?.id ?? '')];
    const condition = newConditionForm();
    return {
      mode: 'form',
      condition,
      effects,
      conditionText: JSON.stringify(formToCondition(condition), null, 2),
      effectsText: JSON.stringify(formToEffects(effects), null, 2),
    };
  }
  const conditionText = JSON.stringify(rule.condition, null, 2);
  const effectsText = JSON.stringify(rule.effects, null, 2);
  try {
    return {
      mode: 'form',
      condition: conditionToForm(rule.condition),
      effects: effectsToForm(rule.effects),
      conditionText,
      effectsText,
    };
  } catch (error) {
    return {
      mode: 'json',
      condition: newConditionForm(),
      effects: [],
      conditionText,
      effectsText,
      notice: notAFormNotice(error),
    };
  }
}

export function notAFormNotice(error: unknown): string {
  if (error instanceof NotAForm)
    return `This JSON cannot be shown as a form (${error.message}). Keep editing it as JSON; it is saved as written.`;
  return `This JSON cannot be shown as a form: ${(error as Error).message}. Fix it, or keep editing it as JSON.`;
}
