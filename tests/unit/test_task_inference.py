"""`task: auto`: the kind of task read from the target column(s) and the sample submission."""
import pandas as pd
import pytest

from fasthf.inputs.task_inference import infer_task


@pytest.mark.parametrize("values, targets, answers, kind", [
    (["a", "b", "a"], ["y"], None, "binary"),
    (["EAP", "HPL", "MWS"], ["y"], None, "multiclass"),
    (["0", "1", "1"], ["y"], None, "binary"),
    (["0", "3", "4", "2"], ["y"], None, "multiclass"),
    (["0.5", "-1.25", "2"], ["y"], None, "regression"),
    ([str(v) for v in range(40)], ["y"], None, "regression"),
    ([str(v) for v in range(40)], ["y"], [str(v) for v in range(40)], "multiclass"),
])
def test_auto_infers_the_task_from_the_target_and_the_sample(values, targets, answers, kind):
    assert infer_task(pd.DataFrame({"y": values}), targets, None, answers)[0] == kind


def test_several_zero_one_targets_are_multilabel_and_several_numbers_regression():
    frame = pd.DataFrame({"a": ["0", "1"], "b": ["1", "1"], "c": ["0.5", "2"]})
    assert infer_task(frame, ["a", "b"])[0] == "multilabel"
    assert infer_task(frame, ["a", "c"])[0] == "regression"
