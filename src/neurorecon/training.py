"""The training-loop pieces every tiny model here shares: AdamW with a one-cycle learning-rate
schedule, seeded shuffled minibatches (so fixed seeds give identical weights), and the moving
average of the weights that the diffusion models save."""

from __future__ import annotations

import math
from typing import Iterator

import torch


def batches_per_epoch(n_items: int, batch_size: int, group: int = 1) -> int:
    """How many minibatches :func:`shuffled_batches` yields per epoch."""
    return math.ceil(math.ceil(n_items / group) / max(1, batch_size // group))


def one_cycle_adamw(parameters, cfg: dict, n_items: int, weight_decay: float, group: int = 1):
    """AdamW and a OneCycleLR schedule (10% warm-up) over ``cfg["epochs"]`` epochs of ``n_items``
    in minibatches of whole ``group``s (see :func:`shuffled_batches`)."""
    optimiser = torch.optim.AdamW(parameters, lr=cfg["learning_rate"], weight_decay=weight_decay)
    steps_per_epoch = batches_per_epoch(n_items, cfg["batch_size"], group)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=cfg["learning_rate"], total_steps=cfg["epochs"] * steps_per_epoch, pct_start=0.1)
    return optimiser, schedule


def shuffled_batches(n_items: int, batch_size: int, generator: torch.Generator, group: int = 1
                     ) -> Iterator[torch.Tensor]:
    """Index tensors of one epoch's minibatches, in an order drawn from ``generator``.

    Consecutive items ``[k * group, (k + 1) * group)`` stay together in one batch (contrastive hard
    negatives); batches hold ``batch_size // group`` whole groups. ``group`` 1 is a plain shuffle.
    """
    groups = torch.randperm(-(-n_items // group), generator=generator)
    per_batch = max(1, batch_size // group)
    for start in range(0, len(groups), per_batch):
        members = (groups[start:start + per_batch, None] * group + torch.arange(group)[None]).reshape(-1)
        yield members[members < n_items]


class WeightAverage:
    """An exponential moving average of a module's parameters (decay ``decay`` per step): the
    weights a diffusion model is saved with, which sample cleaner after few steps."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.module, self.decay = module, decay
        self.averages = [param.detach().clone() for param in module.parameters()]

    @torch.no_grad()
    def update(self) -> None:
        for average, param in zip(self.averages, self.module.parameters()):
            average.lerp_(param, 1.0 - self.decay)

    @torch.no_grad()
    def copy_to_module(self) -> None:
        for average, param in zip(self.averages, self.module.parameters()):
            param.copy_(average)


def training_step(loss: torch.Tensor, optimiser, schedule, average: WeightAverage) -> float:
    """One optimiser and learning-rate step on ``loss``, then the weight average; the loss value."""
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    schedule.step()
    average.update()
    return loss.item()
