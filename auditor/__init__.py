"""audit-logs: is this LLM gateway log data good enough to charge spend back to teams?

The public API is small: ``audit(paths, policy) -> AuditResult``. Everything else is
stage internals (loaders -> records -> contract/rules -> findings -> scoring -> reporters).
"""

__version__ = "0.1.0"

__all__ = ["audit", "AuditResult", "load_policy", "__version__"]


def __getattr__(name):
    # Imported lazily so that `import auditor.pricing` (etc.) does not pull in the whole pipeline.
    if name in ("audit", "AuditResult"):
        from auditor import api

        return getattr(api, name)
    if name == "load_policy":
        from auditor.policy import load_policy

        return load_policy
    raise AttributeError(name)
