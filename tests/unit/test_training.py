"""The optimizer: fastai's Adam with decoupled weight decay, stepped by torch's fused AdamW."""
import numpy as np
import torch
from fastai.optimizer import Adam

from fasthf.training import fused_adamw


def two_groups(seed=0):
    torch.manual_seed(seed)
    groups = [[torch.nn.Parameter(torch.randn(7, 5)), torch.nn.Parameter(torch.randn(5))],
              [torch.nn.Parameter(torch.randn(3, 7))]]
    return groups


def run(opt_func, groups, lrs, moms, steps=5):
    opt = opt_func(groups, lr=1e-3)
    opt.set_hypers(wd=0.01)
    for step in range(steps):
        opt.set_hypers(lr=lrs[step], mom=moms[step])  # as fit_one_cycle does, batch by batch
        torch.manual_seed(100 + step)
        for group in groups:
            for p in group:
                p.grad = torch.randn_like(p)
        opt.step()
        opt.zero_grad()
    return [p.detach().clone() for group in groups for p in group]


def test_fused_adamw_steps_exactly_as_fastais_adam_with_decoupled_weight_decay():
    lrs = [np.array([1e-3, 3e-3]) * f for f in (0.2, 0.6, 1.0, 0.7, 0.3)]  # discriminative, scheduled
    moms = [0.95, 0.9, 0.85, 0.9, 0.95]
    fastai = run(lambda g, lr: Adam(g, lr=lr, decouple_wd=True), two_groups(), lrs, moms)
    fused = run(fused_adamw, two_groups(), lrs, moms)
    start = [p.detach() for group in two_groups() for p in group]
    for a, b, p0 in zip(fastai, fused, start):
        assert not torch.equal(a, p0)  # it trained
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_fastais_hyper_parameters_reach_the_torch_optimizer():
    opt = fused_adamw(two_groups(), lr=1e-3)
    opt.set_hypers(lr=np.array([1e-4, 2e-4]), mom=0.85, wd=0.05)
    groups = opt.opt.param_groups
    assert [g["lr"] for g in groups] == [1e-4, 2e-4]
    assert all(g["betas"] == (0.85, 0.99) and g["weight_decay"] == 0.05 and g["eps"] == 1e-5 for g in groups)
    assert all(g["fused"] for g in groups)  # parameters on the CPU: torch's fused kernel
