/** The rule kind's ops and conflicts. */
import type { Rule, RuleSpec } from '../../../rtnl/rule/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/**
 * An op on a policy rule (desired: a RuleSpec; actual: a Rule as read back). A rule's identity
 * is everything it matches and does (ruleKey), so a rule is only created or deleted; an update
 * is an adoption: ours is added beside the foreign one, which is then deleted.
 */
export type RuleOp = EntryOp<'rule', RuleSpec, Rule>;

/** A desired rule left alone: a rule of another protocol is the same rule (its key). */
export type RuleConflict = ConflictOf<'rule', RuleSpec, Rule>;
