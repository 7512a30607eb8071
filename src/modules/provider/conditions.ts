/** Route conditions: the shared condition language (src/platform/conditions.ts). */
export {
  type ConditionSubject as RouteSubject,
  describeCondition,
  matchesCondition,
} from '../../platform/conditions.ts';
