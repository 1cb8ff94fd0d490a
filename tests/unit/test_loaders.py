"""fastai DataLoaders over the cached tensors: sortish for training, longest first for inference."""
import numpy as np

from helpers import ragged
from fasthf.encoding.loaders import TokenBatchDL


def test_sorted_batches_are_longest_first_and_sortish_covers_every_item_once():
    rng = np.random.default_rng(0)
    rows = [[1] * int(n) for n in rng.integers(1, 40, size=1000)]
    split = ragged(rows, labels=[0] * len(rows))
    sorted_dl = TokenBatchDL(split, bs=32, shuffle=False)
    widths = [batch[0].shape[1] for batch in sorted_dl]
    assert widths == sorted(widths, reverse=True)
    shuffled = TokenBatchDL(split, bs=32, shuffle=True)
    idxs = list(shuffled.get_idxs())
    assert sorted(idxs) == list(range(len(rows)))
    assert idxs != sorted(idxs, key=lambda i: -len(rows[i]))
    real = sum(int(b[1].sum()) for b in shuffled)
    padded = sum(b[1].numel() for b in shuffled)
    assert real / padded > 0.9  # sortish batches: little padding, unlike random batches
    random_batches = [idxs_ for idxs_ in np.array_split(rng.permutation(len(rows)), len(rows) // 32)]
    random_padded = sum(len(b) * max(len(rows[i]) for i in b) for b in random_batches)
    assert real / random_padded < 0.7
