"""fastai DataLoaders over cached token tensors: sortish for training, longest first for inference."""
from __future__ import annotations

import numpy as np
from fastai.data.load import DataLoader
from fastai.text.data import SortedDL

from fasthf.encoding.tensors import TokenizedSplit


class TokenBatchDL(DataLoader):
    """fastai DataLoader over a `TokenizedSplit`.

    Shuffled: fastai's sortish order (random chunks of similar length, longest batch first);
    not shuffled: longest first. `Learner.get_preds(reorder=True)` puts results back in dataset order.
    """

    def __init__(self, dataset: TokenizedSplit, bs: int = 64, shuffle: bool = False, **kwargs):
        super().__init__(dataset, bs=bs, shuffle=shuffle, **kwargs)
        self.res = dataset.lengths.numpy()
        self.idx_max = int(np.argmax(self.res)) if len(self.res) else 0

    @property
    def n_inp(self) -> int:
        return self.dataset.n_inputs

    def create_item(self, s):
        return s

    def create_batch(self, b):
        return self.dataset.collate(b)

    def retain(self, res, b):
        return res

    def get_idxs(self):
        if self.shuffle:
            return super().get_idxs()
        return self.dataset.longest_first().tolist()

    shuffle_fn = SortedDL.shuffle_fn
