"""Shared training pieces: seeded minibatches, whole hard-negative groups per batch."""

import torch

from neurorecon.training import batches_per_epoch, shuffled_batches


def test_each_item_comes_once_per_epoch_in_seeded_order():
    first = torch.cat(list(shuffled_batches(10, 4, torch.Generator().manual_seed(0))))
    again = torch.cat(list(shuffled_batches(10, 4, torch.Generator().manual_seed(0))))
    assert sorted(first.tolist()) == list(range(10)) and torch.equal(first, again)
    assert batches_per_epoch(10, 4) == 3


def test_groups_stay_whole_within_one_batch():
    batches = list(shuffled_batches(20, 7, torch.Generator().manual_seed(1), group=3))
    assert len(batches) == batches_per_epoch(20, 7, group=3) == 4  # 7 groups (the last holds 2), 2 per batch
    assert sorted(torch.cat(batches).tolist()) == list(range(20))
    for batch in batches:
        groups = {int(i) // 3 for i in batch}
        assert len(batch) == sum(min(3, 20 - 3 * g) for g in groups)  # every member of each group present
