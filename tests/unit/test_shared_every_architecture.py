"""A shared-encoding chain (two stages, then prediction) for every tiny architecture of the suite, without
Snakemake: the span head trains with each encoder, whatever its padding side, token types or layer lists."""
import json

import numpy as np
import pandas as pd
import pytest

from tiny_models import ARCHITECTURES


@pytest.fixture(scope="module")
def sentences(competition_files):
    """The fixture's phrases of its first 24 sentences, with labels."""
    from helpers import read_train

    train = read_train(competition_files["train"])
    return train[train.SentenceId.isin(sorted(train.SentenceId.unique())[:24])].reset_index(drop=True)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_a_shared_chain_trains_and_predicts_with_every_architecture(arch, sentences, tiny_model_folder, tmp_path):
    import torch

    from fasthf.encoding.shared import tokenize_groups
    from fasthf.inputs.folds import FoldData
    from fasthf.models.architectures import load_checkpoint, load_pretrained
    from fasthf.models.shared_head import SpanModel
    from fasthf.outputs.prediction import by_row_number, predict_probs
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK, label_names

    model, tokenizer = load_pretrained(str(tiny_model_folder(arch)), label_names(), add_prefix_space=True)
    model.save_pretrained(tmp_path / "start")
    split, counts = tokenize_groups(sentences.Phrase.tolist(), sentences.SentenceId.tolist(), tokenizer, 128,
                                    labels=sentences.Sentiment.to_numpy())
    assert counts["found_as_spans"] > 0.9 * len(sentences), counts
    split.save(tmp_path / "train.safetensors")
    held_out = sentences.SentenceId.isin(sorted(sentences.SentenceId.unique())[:4])
    pd.DataFrame({"row": range(len(sentences)), "fold": np.where(held_out, 0, -1)}).to_csv(tmp_path / "folds.csv",
                                                                                           index=False)
    data = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), 0)
    settings = TrainSettings(batch_size=4, mixed_precision="no")
    previous = tmp_path / "start"
    for index, stage in enumerate([Stage(-1, 1, 2e-3), Stage(0, 1, 1e-3, head_lr_mult=3)], 1):
        metrics = run_stage(stage, index, previous, data, tmp_path / str(index), settings, SENTIMENT_TASK)
        previous = tmp_path / str(index) / "model"
        assert metrics["valid_rows"] == int(held_out.sum()) and metrics["train_sequences"] < metrics["train_rows"]
    assert json.loads((tmp_path / "2" / "metrics.json").read_text())["lr"][-1] == pytest.approx(3e-3)
    valid = pd.read_csv(tmp_path / "2" / "valid_outputs.csv")
    assert valid.row.tolist() == np.flatnonzero(held_out).tolist()
    trained = load_checkpoint(previous, n_labels=5)
    assert isinstance(trained, SpanModel)
    outputs = by_row_number(split, predict_probs(trained, split, 8, precision="no"))
    assert outputs.shape == (len(sentences), 5) and torch.allclose(outputs.sum(1), torch.ones(len(sentences)), atol=1e-5)
    # the held-out rows' outputs of the last validation pass are the saved model's
    assert np.allclose(valid.filter(like="out_").to_numpy(), outputs[held_out.to_numpy()].numpy(), atol=1e-4)
