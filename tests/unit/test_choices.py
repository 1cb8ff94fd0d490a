"""Multiple choice (`competition.choices`, fasthf.encoding.choices): each option read beside its question as a pair, one
shared output per pair, a softmax across a row's options; the llm-science fixture trained, predicted, submitted
ranked, and predicted again by the bundle and the package as by the pipeline."""
import json
import logging
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from fasthf.encoding.choices import ChoiceError, ChoiceSplit, tokenize_choices
from fasthf.encoding.tensor_cache import load_split, prepare_tensors
from fasthf.encoding.tensors import Padding, TokenizedSplit
from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError
from fasthf.models.architectures import (CheckpointError, group_parameter_names, load_checkpoint, load_pretrained,
                                  logits_in_fp32, output_layer)
from fasthf.models.precision import Fp32Linear
from helpers import REPO
from tiny_models import ARCHITECTURES

SLUG = "kaggle-llm-science-exam"
FIXTURE = REPO / "tests" / "fixtures" / f"{SLUG}.zip"
PRESET = Competition.from_config(SLUG, REPO / "config" / "competitions")


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """The fixture unpacked and checked as the download step does it: (paths, competition, task)."""
    from fasthf.inputs.archive import extract_competition

    paths = extract_competition(FIXTURE, tmp_path_factory.mktemp("exam"), PRESET)
    return (paths, *Competition.load(paths["competition"]))


@pytest.fixture(scope="module")
def tiny(tiny_model_folder, tmp_path_factory, exam):
    """A tiny random BERT as a multiple-choice model, saved as the pretrained step saves it; its tensors."""
    from fasthf.models.architectures import fetch_pretrained

    paths, competition, task = exam
    folder = tmp_path_factory.mktemp("mc")
    info = fetch_pretrained(str(tiny_model_folder("bert")), task.output_names, folder / "pretrained", 0,
                            head="choice")
    tokenizer = load_pretrained(str(folder / "pretrained"), task.output_names, head="choice")[1]
    summary = prepare_tensors(paths["train"], paths["test"], tokenizer, folder / "tensors", 48, competition, task)
    return folder, tokenizer, info, summary


# -- the description --------------------------------------------------------------------------------------

def test_choices_are_the_classes_in_their_order_and_read_from_train_and_test(exam):
    paths, competition, task = exam
    assert competition.choices == ("A", "B", "C", "D", "E") and competition.text == ("prompt",)
    assert task.kind == "multiclass" and task.classes == list("ABCDE") and task.output_names == list("ABCDE")
    assert competition.input_columns == ["id", "prompt", *"ABCDE"]
    assert {competition.roles[c] for c in "ABCDE"} == {"choices"}
    assert Competition.from_description(json.loads(json.dumps(competition.describe()))) == competition
    assert "competition.choices names 5 options" in json.loads(paths["competition"].read_text())["inferred"]
    two = Competition.from_config({**_block(), "choices": ["A", "B"]})
    assert two.fit(pd.DataFrame({"id": ["1", "2"], "prompt": ["q", "r"], "A": ["a", "b"], "B": ["c", "d"],
                                 "answer": ["B", "A"]}))[0].kind == "binary"


def _block(**changes) -> dict:
    import yaml

    block = yaml.safe_load((REPO / "config" / "competitions" / f"{SLUG}.yaml").read_text())["competition"]
    return {**block, **changes}


@pytest.mark.parametrize("changes, message", [
    ({"choices": ["A", "B", "prompt"]}, r"the column\(s\) \['prompt'\] are given two roles"),
    ({"choices": ["A", "B", "answer"]}, r"the column\(s\) \['answer'\] are given two roles"),
    ({"choices": ["A"]}, r"competition.choices: \['A'\] names one column"),
    ({"text_pair": "E", "choices": ["A", "B", "C", "D"]}, "text_pair must be null"),
    ({"task": "regression"}, "makes the task multiclass"),
    ({"labels": {"A": "first"}}, "labels must be null"),
])
def test_a_description_choices_cannot_read_is_refused_in_one_sentence(changes, message):
    with pytest.raises(ValueError, match=message):
        Competition.from_config(_block(**changes))


def _edited_fixture(tmp_path, row: int, column: str, value: str):
    """The fixture's files unpacked, train.csv's `row` holding `value` in `column`; the path of train.csv."""
    with zipfile.ZipFile(FIXTURE) as archive:
        archive.extractall(tmp_path)
    train = pd.read_csv(tmp_path / "train.csv", dtype=str, keep_default_na=False)
    train.loc[row, column] = value
    train.to_csv(tmp_path / "train.csv", index=False)
    return tmp_path / "train.csv"


def test_a_row_missing_an_option_is_refused_naming_file_line_and_column(tmp_path):
    path = _edited_fixture(tmp_path, 6, "C", "  ")
    with pytest.raises(DataError) as error:
        PRESET.read_train(path)
    assert str(error.value).startswith(f"{path}: line 8: column 'C' is empty: a multiple-choice row missing an option")
    assert str(error.value).count(". ") == 0  # one sentence
    from fasthf.inputs.archive import extract_competition

    with zipfile.ZipFile(tmp_path / "edited.zip", "w") as archive:  # the download step stops there, before training
        for name in ("train.csv", "test.csv", "sample_submission.csv"):
            archive.write(tmp_path / name, name)
    with pytest.raises(DataError, match=r"train.csv \(in .*edited.zip\): line 8: column 'C' is empty"):
        extract_competition(tmp_path / "edited.zip", tmp_path / "data", PRESET)


def test_an_answer_that_names_no_choice_is_refused_naming_file_line_and_column(tmp_path):
    path = _edited_fixture(tmp_path, 3, "answer", "F")
    with pytest.raises(DataError, match=r"train.csv: line 5: column 'answer': 'F' is not one of the labels "
                                        r"\['A', 'B', 'C', 'D', 'E'\]"):
        PRESET.fit(PRESET.read_train(path), path=str(path))


@pytest.mark.parametrize("encode, stride, message", [
    ("group", None, "encode: group .* multiple-choice row .*: set encode: row$"),
    ("row", 32, "window_stride: 32 reads long texts in windows, which multiple choice .*: set window_stride: null$"),
])
def test_shared_encoding_and_windows_are_refused_at_preprocess(exam, tiny, encode, stride, message):
    paths, competition, task = exam
    with pytest.raises(ChoiceError, match=message):
        prepare_tensors(paths["train"], paths["test"], tiny[1], tiny[0] / "refused", 48, competition, task, encode,
                        stride)


# -- the tensors ----------------------------------------------------------------------------------------

def test_a_batch_is_rows_by_options_by_length_each_pair_padded_and_masked_alone(tiny):
    tokenizer = tiny[1]
    questions = ["which one is fine", "a much longer question with many more words in it than the first"]
    options = [["good", "bad"], ["not good at all", "fun"], ["dull", "great fun and a fine film"]]
    split, counts = tokenize_choices(questions, options, tokenizer, 64, labels=np.array([2, 0]))
    assert len(split) == 2 and split.n_choices == 3 and counts == {"truncated": 0, "choices": 3, "pairs": 6,
                                                                    "options_cut": 0, "tokens": counts["tokens"]}
    ids, mask, types, labels = split.collate([1, 0])
    assert ids.shape == mask.shape == types.shape == (2, 3, int(split.lengths.max()))
    assert labels.tolist() == [0, 2]
    for b, row in enumerate([1, 0]):
        for k in range(3):
            expected = tokenizer(questions[row], options[k][row])["input_ids"]
            assert ids[b, k, :len(expected)].tolist() == expected
            assert mask[b, k].tolist() == [1] * len(expected) + [0] * (ids.shape[2] - len(expected))
            assert (ids[b, k, len(expected):] == tokenizer.pad_token_id).all()
    assert split.lengths.tolist() == [max(len(tokenizer(questions[i], o[i])["input_ids"]) for o in options)
                                      for i in range(2)]
    assert split.longest_first().tolist() == [1, 0] and split.positions([1, 0]).tolist() == [1, 0]
    part = split.subset([1])
    assert part.rows.tolist() == [1] and part.labels.tolist() == [0]
    assert all(torch.equal(a, b[:1, :, :a.shape[2]]) for a, b in zip(part.collate([0]), split.collate([1, 0])[:3]))


def test_left_padding_pads_each_option_on_the_left():
    pairs = TokenizedSplit(torch.tensor([5, 6, 7, 8, 9, 10], dtype=torch.int32), torch.tensor([0, 1, 3, 6]),
                           torch.arange(3), Padding(0, 0, "left"))
    split = ChoiceSplit(pairs, torch.tensor([4]), 3, torch.tensor([1]))
    ids, mask, labels = split.collate([0])
    assert ids.tolist() == [[[0, 0, 5], [0, 6, 7], [8, 9, 10]]]
    assert mask.tolist() == [[[0, 0, 1], [0, 1, 1], [1, 1, 1]]] and labels.tolist() == [1]


def test_a_long_question_is_cut_before_its_option(tiny):
    tokenizer = tiny[1]
    question = " ".join(["a fine film"] * 30)
    split, counts = tokenize_choices([question, "short"], [["good", "bad"], ["dull", "fun"]], tokenizer, 16)
    assert counts["truncated"] == 1 and counts["options_cut"] == 0
    ids = split.collate([0])[0][0]
    for k, option in enumerate(["good", "dull"]):
        whole = tokenizer(option, add_special_tokens=False)["input_ids"]
        assert len(ids[k]) == 16 and ids[k, -1 - len(whole):-1].tolist() == whole  # the option whole, at the end
    _, counts = tokenize_choices([question], [[" ".join(["great fun"] * 20)], ["good"]], tokenizer, 16)
    assert counts["options_cut"] == 1  # an option longer than max_length: both cut


def test_the_cache_writes_and_reads_back_a_choice_split(exam, tiny):
    folder, tokenizer, _, summary = tiny
    train = load_split(folder / "tensors" / "train.safetensors")
    assert isinstance(train, ChoiceSplit) and len(train) == 160 and train.n_choices == 5
    assert train.rows.tolist() == list(range(160)) and train.labels.shape == (160,)
    assert summary["splits"]["train"]["pairs"] == 800 and summary["splits"]["test"]["texts"] == 40
    paths, competition, task = exam
    frame = competition.read_train(paths["train"])
    assert task.output_names[int(train.labels[0])] == frame.answer.iloc[0]
    again, _ = tokenize_choices(competition.joined_texts(frame), [frame[c].tolist() for c in "ABCDE"], tokenizer, 48)
    assert all(torch.equal(a, b) for a, b in zip(train.collate([3, 1]), again.collate([3, 1])))


# -- the model ------------------------------------------------------------------------------------------

def test_the_multiple_choice_head_is_the_head_group_and_computes_in_fp32(tiny, caplog):
    folder, _, info, _ = tiny
    assert info["architecture"] == "BertForMultipleChoice"
    model = load_checkpoint(folder / "pretrained", n_labels=5)
    assert type(model).__name__ == "BertForMultipleChoice" and model.config.id2label[4] == "E"
    head = group_parameter_names(model)[-1]
    assert {"classifier.weight", "classifier.bias"} <= set(head) and all(
        n.startswith(("classifier.", "bert.pooler.")) for n in head)
    assert output_layer(model) is model.classifier and model.classifier.out_features == 1
    caplog.set_level(logging.WARNING, logger="fasthf")
    logits_in_fp32(model)
    assert isinstance(model.classifier, Fp32Linear) and "no Linear" not in caplog.text
    with pytest.raises(CheckpointError, match="scores each option of a row .* holds each row's text whole"):
        load_checkpoint(folder / "pretrained", head="sequence")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_encoder_as_a_multiple_choice_model_finds_its_head_and_scores_each_option(tiny_model_folder, arch):
    from fasthf.models.architectures import batch_logits

    model, tokenizer = load_pretrained(str(tiny_model_folder(arch)), list("ABC"), head="choice")
    head = group_parameter_names(model)[-1]
    layer = output_layer(model)
    assert layer is not None and layer.out_features == 1
    assert any(p is layer.weight for name, p in model.named_parameters() if name in head)
    split, _ = tokenize_choices(["a fine film", "not good at all"], [["dull", "fun"], ["great", "bad"], ["ok", "so so"]],
                                tokenizer, 32)
    assert batch_logits(model.eval(), split.collate([0, 1])[:split.n_inputs]).shape == (2, 3)


@pytest.fixture(scope="module")
def trained(exam, tiny):
    """One short head stage (freeze_to -1) on the fixture's rows, 32 held out; the test rows predicted."""
    from fasthf.inputs.folds import FoldData
    from fasthf.outputs.prediction import predict_probs, row_predictions
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage

    paths, competition, task = exam
    folder = tiny[0]
    pd.DataFrame({"row": range(160), "id": range(160), "group": range(160),
                  "fold": np.where(np.arange(160) % 5 == 0, 0, -1)}).to_csv(folder / "folds.csv", index=False)
    data = FoldData(str(folder / "tensors" / "train.safetensors"), str(folder / "folds.csv"), 0)
    stage = Stage(freeze_to=-1, epochs=1, lr_max=1e-3, name="head")
    metrics = run_stage(stage, 1, folder / "pretrained", data, folder / "stage",
                        TrainSettings(batch_size=16, eval_batch_size=7, mixed_precision="no"), task)
    test = load_split(folder / "tensors" / "test.safetensors")
    model = load_checkpoint(folder / "stage" / "model", n_labels=5, head="choice")
    outputs = row_predictions(test, predict_probs(model, test, 8, "cpu", "no", task.activation))
    return folder, metrics, outputs


def test_a_stage_trains_the_head_only_and_predicts_five_probabilities_per_row_in_file_order(trained, tiny):
    from fasthf.outputs.table import Predictions

    folder, metrics, outputs = trained
    groups = pd.read_csv(folder / "stage" / "groups.csv")
    assert groups.trainable.tolist() == [False] * (len(groups) - 1) + [True] and groups.name.iloc[-1] == "head"
    assert metrics["train_rows"] == 128 and metrics["valid_rows"] == 32 and np.isfinite(metrics["valid_loss"])
    held_out = Predictions.read(folder / "stage" / "valid_outputs.csv")
    assert held_out.rows.tolist() == list(range(0, 160, 5)) and held_out.outputs.shape == (32, 5)
    assert np.allclose(held_out.outputs.sum(axis=1), 1, atol=1e-5)
    assert outputs.rows.tolist() == list(range(40)) and outputs.outputs.shape == (40, 5)
    assert np.allclose(outputs.outputs.sum(axis=1), 1, atol=1e-5)
    start = load_checkpoint(folder / "pretrained")
    after = load_checkpoint(folder / "stage" / "model")
    assert torch.equal(start.bert.encoder.layer[0].output.dense.weight, after.bert.encoder.layer[0].output.dense.weight)
    assert not torch.equal(start.classifier.weight, after.classifier.weight)
    # a row predicted alone gets what it got in its longest-first batch: file order kept
    test = load_split(folder / "tensors" / "test.safetensors")
    from fasthf.outputs.prediction import predict_probs

    alone = predict_probs(after, test.subset([7]), 1, "cpu", "no")
    assert np.allclose(alone.numpy()[0], outputs.outputs[7], atol=1e-5)


def test_the_ranked_submission_of_those_outputs_validates_against_the_sample(exam, trained):
    from fasthf.outputs.submission import make_submission, validate_submission

    paths, competition, task = exam
    test = competition.read_test(paths["test"])
    sample = competition.read_sample(paths["sample_submission"])
    outputs = trained[2].outputs
    submission = make_submission(competition.ids(test), outputs, sample, competition, task)
    validate_submission(submission, sample, competition, task)
    assert list(submission.columns) == ["id", "prediction"]
    best = dict(zip(test.id, np.asarray(list("ABCDE"))[outputs.argmax(axis=1)]))
    ranked = submission.prediction.str.split()
    assert ranked.map(len).eq(3).all() and [r[0] for r in ranked] == [best[i] for i in submission.id]


def test_the_bundle_and_the_package_predict_what_the_pipeline_did(exam, tiny, trained, tmp_path, capsys):
    from fasthf.outputs.submission import make_submission
    from fasthf.routes.bundle import Predictor, export_bundle
    from fasthf.routes.package import apply_package, build_package

    paths, competition, task = exam
    folder, _, outputs = trained
    test = competition.read_test(paths["test"])
    export_bundle(folder / "stage" / "model", folder / "pretrained", tmp_path / "bundle",
                  {"max_length": 48, "task": task.describe(), "choices": list(competition.choices)})
    predictor = Predictor(tmp_path / "bundle", device="cpu", batch_size=8, precision="no")
    assert predictor.multiple_choice and predictor.labels == list("ABCDE")
    options = test[list("ABCDE")].values.tolist()
    probs = predictor.probs(competition.joined_texts(test), options).numpy()
    assert np.allclose(probs, outputs.outputs, atol=1e-5)
    assert predictor.predict_one(test.prompt.iloc[2], options[2]).label == "ABCDE"[outputs.outputs[2].argmax()]
    with pytest.raises(ValueError, match="each text needs its 5 options"):
        predictor.predict(["a question"])
    from fasthf.cli import main

    line = "\t".join([test.prompt.iloc[2], *options[2]])  # the command line: the question, then its options
    assert main(["predict", "--bundle", str(tmp_path / "bundle"), "--precision", "no", "--json", line]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "ABCDE"[outputs.outputs[2].argmax()]

    chains = [{"member": "tiny", "seed": 0, "split": "fold0", "model": folder / "stage" / "model"}]
    build_package(tmp_path / "package", competition, task, chains,
                  {"tiny": {"tokenizer": folder / "pretrained", "max_length": 48}}, {"tiny": 1.0}, None, None,
                  {"batch_size": 8, "mixed_precision": "no"})
    got = apply_package(tmp_path / "package", paths["test"], paths["sample_submission"], tmp_path / "s.csv",
                        device="cpu")
    sample = competition.read_sample(paths["sample_submission"])
    pd.testing.assert_frame_equal(got, make_submission(competition.ids(test), outputs.outputs, sample,
                                                       competition, task))
