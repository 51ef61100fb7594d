"""The chargeback rules. Importing this package registers every rule (see ``base.rule``)."""

from auditor.rules import contract  # noqa: F401  (registers rules)
from auditor.rules.base import REGISTRY, Hits, Rule, RuleContext, rule
from auditor.rules.runner import SelectionError, find_rule, run_rules, select_rules

__all__ = ["REGISTRY", "Hits", "Rule", "RuleContext", "SelectionError", "find_rule", "rule", "run_rules", "select_rules"]
