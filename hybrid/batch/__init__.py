"""hybrid at corpus scale: encode, decode or transcode millions of images on a Ray cluster,
resumably (``hybrid batch``).

The modules, in the order data flows through them:

- :mod:`~hybrid.batch.jobs`: what is done to each image (frozen, validated settings).
- :mod:`~hybrid.batch.inputs`: folders, globs and manifests -> (input, output) pairs.
- :mod:`~hybrid.batch.storage`: local paths and fsspec URLs; atomic writes.
- :mod:`~hybrid.batch.work`: one image through :mod:`hybrid.api`, and its results row.
- :mod:`~hybrid.batch.results`: the Parquet results table, which is also the resume log.
- :mod:`~hybrid.batch.cluster`: Ray (embedded or a cluster), workers, devices, threads.
- :mod:`~hybrid.batch.pipeline`: the Ray Data pipeline and the resume logic.
- :mod:`~hybrid.batch.summary`: the end-of-run line.

Nothing here imports Ray, pyarrow or torch until a batch runs (the ``cluster`` extra:
``pip install 'hybrid-jpeg-codec[cluster]'``).
"""

from __future__ import annotations

from hybrid.batch.cluster import ClusterSettings
from hybrid.batch.jobs import BatchJob, DecodeSettings, EncodeSettings
from hybrid.batch.pipeline import BatchReport, BatchRequest, run_batch

__all__ = [
    "BatchJob",
    "BatchReport",
    "BatchRequest",
    "ClusterSettings",
    "DecodeSettings",
    "EncodeSettings",
    "run_batch",
]
