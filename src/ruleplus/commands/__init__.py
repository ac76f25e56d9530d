"""Command groups of the ``ruleplus`` CLI (mounted by :mod:`ruleplus.cli`)."""
