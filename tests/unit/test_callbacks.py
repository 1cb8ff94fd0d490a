"""`ema_decay`: a stage validates and keeps a moving average of its weights, and trains on the raw ones."""
import pytest
import torch
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import SGD

from fasthf.training.callbacks import WeightAverage

DECAY = 0.9


class RecordSteps(Callback):
    """The raw weights after every optimizer step, and the weights each validation pass sees."""
    order = 90  # after WeightAverage's before_validate, so it sees what the validation pass sees

    def before_fit(self):
        self.start = self.weights()
        self.steps, self.validated, self.epoch_starts = [], [], []

    def before_train(self):
        self.epoch_starts.append(self.weights())

    def after_step(self):
        self.steps.append(self.weights())

    def before_validate(self):
        self.validated.append(self.weights())

    def weights(self):
        return [p.detach().clone() for p in self.learn.model.parameters()]


def by_hand(start, steps, decay=DECAY):
    """The warmed-up moving average, written out: step n keeps min(decay, (1 + n) / (10 + n)) of it."""
    average = [w.clone() for w in start]
    for n, weights in enumerate(steps, start=1):
        keep = min(decay, (1 + n) / (10 + n))
        average = [a * keep + w * (1 - keep) for a, w in zip(average, weights)]
    return average


def regression_learner(*cbs):
    torch.manual_seed(0)
    x = torch.randn(96, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(96, 1)
    rows = list(zip(x, y))
    dls = DataLoaders.from_dsets(rows[:64], rows[64:], bs=16, shuffle=False, device="cpu")
    return Learner(dls, torch.nn.Linear(4, 1), loss_func=torch.nn.MSELoss(), opt_func=SGD, lr=0.05, cbs=list(cbs))


def close(a, b):
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b))


def test_validation_and_the_saved_weights_are_the_average_and_training_goes_on_from_the_raw_weights():
    record = RecordSteps()
    learn = regression_learner(WeightAverage(DECAY), record)
    learn.fit(2)
    steps_per_epoch = len(learn.dls.train)
    assert len(record.steps) == 2 * steps_per_epoch
    first_epoch = record.steps[:steps_per_epoch]
    # each validation pass saw the average of the steps so far, not the last step's weights
    assert close(record.validated[0], by_hand(record.start, first_epoch))
    assert not close(record.validated[0], first_epoch[-1])
    # the second epoch trained on from the raw weights
    assert close(record.epoch_starts[1], first_epoch[-1])
    # and the stage ends holding the average (what it saves)
    final = by_hand(record.start, record.steps)
    assert close(record.validated[1], final)
    assert close([p.detach() for p in learn.model.parameters()], final)
    # the recorded validation loss is that of the averaged weights
    x, y = (torch.stack(t) for t in zip(*learn.dls.valid.dataset))
    with torch.no_grad():
        assert learn.recorder.values[-1][1] == pytest.approx(torch.nn.functional.mse_loss(learn.model(x), y).item(),
                                                            rel=1e-5)


def test_a_decay_outside_zero_to_one_is_refused():
    for decay in (0, 1, 1.5):
        with pytest.raises(ValueError, match="ema_decay"):
            WeightAverage(decay)


def test_lr_find_with_an_average_leaves_the_weights_as_they_were(tmp_path):
    learn = regression_learner(WeightAverage(DECAY))
    learn.path = tmp_path
    before = [p.detach().clone() for p in learn.model.parameters()]
    learn.lr_find(num_it=20, show_plot=False)
    assert len(learn.recorder.losses) > 5
    assert close([p.detach() for p in learn.model.parameters()], before)
