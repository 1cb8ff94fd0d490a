"""The per-row outputs table: its columns, the round trip through a file, rows put in order, folds joined."""
import numpy as np
import pandas as pd
import pytest

from fasthf.outputs.table import OutputsError, Predictions, mean, out_of_fold, output_columns, read_in_file_order


def test_the_table_is_row_then_one_column_per_output_and_round_trips(tmp_path):
    predictions = Predictions([7, 3], np.array([[0.1, 0.6, 0.3], [0.0, 0.2, 0.8]]))
    predictions.write(tmp_path / "outputs.csv", from_memory=[True, False])
    frame = pd.read_csv(tmp_path / "outputs.csv")
    assert list(frame.columns) == ["row", *output_columns(3), "from_memory"] == ["row", "out_0", "out_1", "out_2",
                                                                                "from_memory"]
    back = Predictions.read(tmp_path / "outputs.csv")  # extra columns are not outputs
    assert back.rows.tolist() == [7, 3] and back.outputs.tolist() == predictions.outputs.tolist()


def test_outputs_come_back_in_file_order_and_a_missing_row_is_named(tmp_path):
    Predictions([2, 0, 1], np.array([[2.0], [0.0], [1.0]])).write(tmp_path / "test_outputs.csv")
    assert read_in_file_order(tmp_path / "test_outputs.csv", 3).ravel().tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(OutputsError, match=r"1 row\(s\) have no prediction \(first: row 3\)"):
        read_in_file_order(tmp_path / "test_outputs.csv", 4)


def test_folds_join_into_one_out_of_fold_table_and_seeds_average():
    a, b = Predictions([0, 2], np.eye(2)), Predictions([1], np.array([[0.5, 0.5]]))
    joined = out_of_fold([a, b])
    assert sorted(joined.rows.tolist()) == [0, 1, 2]
    with pytest.raises(OutputsError, match="row 0 is held out by more than one fold"):
        out_of_fold([a, a])
    averaged = mean([Predictions([0, 1], np.array([[1.0], [0.0]])), Predictions([1, 0], np.array([[1.0], [0.0]]))])
    assert averaged.aligned([0, 1]).ravel().tolist() == [0.5, 0.5]
