"""Data-parallel stages: the launch command (a stage of 2 processes over gloo runs whole in
tests/workflow/test_distributed_stage.py)."""
from fasthf.training.distributed import launch_command


def test_the_launch_is_accelerate_with_n_processes():
    command = launch_command(3, {"x": 1})
    assert command[:2] == ["accelerate", "launch"] and command[command.index("--num_processes") + 1] == "3"
    assert command[command.index("--mixed_precision") + 1] == "no"  # fastai's Autocast does precision
