"""The online decision path and the audited management actions.

``DecisionService.decide`` is the one call behind ``POST /v1/decisions``: idempotency, identity
facts, signals, evaluation and the write. :mod:`ruleplus.serving.admin` holds the management
actions (one audited transaction each) that the HTTP admin routes and the CLI share, and
:mod:`ruleplus.serving.mapping` the partner field mappings applied before a strategy sees a body.
"""
