"""``python -m auditor`` runs the CLI, for environments where the ``audit-logs`` script is not on PATH."""

from auditor.cli import main

main(prog_name="audit-logs")
