"""The training-loop pieces every tiny model here shares: AdamW with a one-cycle learning-rate
schedule, and seeded shuffled minibatches, so fixed seeds give identical weights."""

from __future__ import annotations

import math
from typing import Iterator

import torch


def one_cycle_adamw(parameters, cfg: dict, n_items: int, weight_decay: float):
    """AdamW and a OneCycleLR schedule (10% warm-up) over ``cfg["epochs"]`` epochs of ``n_items``."""
    optimiser = torch.optim.AdamW(parameters, lr=cfg["learning_rate"], weight_decay=weight_decay)
    steps_per_epoch = math.ceil(n_items / cfg["batch_size"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=cfg["learning_rate"], total_steps=cfg["epochs"] * steps_per_epoch, pct_start=0.1)
    return optimiser, schedule


def shuffled_batches(n_items: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors of one epoch's minibatches, in an order drawn from ``generator``."""
    order = torch.randperm(n_items, generator=generator)
    for start in range(0, n_items, batch_size):
        yield order[start:start + batch_size]
