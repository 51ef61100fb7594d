"""The chargeback rules. Importing this package imports every module in it, which registers
its rules (see ``base.rule``); a new rule module needs no other registration."""

import pkgutil
from importlib import import_module

from auditor.rules.base import REGISTRY, Hits, Rule, RuleContext, rule
from auditor.rules.runner import SelectionError, check_config, find_rule, run_rules, select_rules

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in ("base", "runner"):
        import_module(f"{__name__}.{_m}")

__all__ = ["REGISTRY", "Hits", "Rule", "RuleContext", "SelectionError", "check_config", "find_rule", "rule", "run_rules", "select_rules"]
