/** Airflow's trigger rules, same string names. Evaluation lives with the scheduler (issue 3). */
export const TRIGGER_RULES = [
  "all_success",
  "all_failed",
  "all_done",
  "all_skipped",
  "one_success",
  "one_failed",
  "one_done",
  "none_failed",
  "none_failed_min_one_success",
  "none_skipped",
  "always",
  "all_done_setup_success",
] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** Deprecated Airflow 2 names, accepted and normalised. */
export const TRIGGER_RULE_ALIASES: Record<string, TriggerRule> = {
  dummy: "always",
  none_failed_or_skipped: "none_failed_min_one_success",
};

export function normalizeTriggerRule(rule: string): TriggerRule | undefined {
  if ((TRIGGER_RULES as readonly string[]).includes(rule)) return rule as TriggerRule;
  return TRIGGER_RULE_ALIASES[rule];
}

export const WEIGHT_RULES = ["downstream", "upstream", "absolute"] as const;
export type WeightRule = (typeof WEIGHT_RULES)[number];
