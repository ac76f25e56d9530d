"""Example data: synthetic loan applications and reading / writing tables by file extension."""

from ruleplus.datasets.io import iter_jsonl_records, read_table, write_table
from ruleplus.datasets.synth import APPLICATION_SCHEMA, synth_applications

__all__ = [
    "APPLICATION_SCHEMA",
    "iter_jsonl_records",
    "read_table",
    "synth_applications",
    "write_table",
]
