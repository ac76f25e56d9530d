"""Many applications at once: a table file decided in chunks on this machine.

:mod:`ruleplus.batch.local` reads CSV/JSONL/Parquet, decides with the vectorised back end and
writes the result; a partition-at-a-time runner on Spark joins it here (next round) behind the
same :func:`decide_table` seam.
"""

from ruleplus.batch.local import BatchSummary, decide_table, unwrap_inputs

__all__ = ["BatchSummary", "decide_table", "unwrap_inputs"]
