"""Shared test settings: one torch thread (two threads on two busy cores crawl)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
