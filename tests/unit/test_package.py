"""The inference package: built from checkpoints, tokenizers, blend, offsets and memory, it writes the same
submission as the pipeline's own jobs do, and answers every id of a test file of another size and order."""
import numpy as np
import pandas as pd
import pytest
import torch

from fasthf.encoding.tensors import tokenize_split
from fasthf.io import folder_digest
from fasthf.models.architectures import load_pretrained
from fasthf.outputs.decisions import ClassOffsets
from fasthf.outputs.memory import apply_memory
from fasthf.outputs.output_forms import RowOutputs
from fasthf.outputs.prediction import predict_probs
from fasthf.outputs.submission import make_submission
from fasthf.routes.package import (PACKAGE_JSON, PackageError, apply_package, build_package, measured_rate, read_package,
                                   runtime_verdict)
from helpers import SENTIMENT_TASK, label_names, sentiment

COMPETITION = sentiment()[0]
OFFSETS = {"decision": {"rule": "class offsets", "used": True,
                        "fitted": dict(zip(SENTIMENT_TASK.output_names, [0.0, 0.1, -0.35, 0.2, 0.05]))}}


@pytest.fixture(scope="module")
def package(tmp_path_factory, tiny_model_folder, competition_files):
    """Two seeds of one tiny BERT (their heads made to differ), offsets, memory; fp32 so any batching agrees."""
    folder = tmp_path_factory.mktemp("package-parts")
    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    chains = []
    for seed in (1, 2):
        with torch.no_grad():
            model.classifier.weight.add_(0.05 * seed)
        model.save_pretrained(folder / f"seed{seed}")
        chains.append({"member": "tiny", "seed": seed, "split": "fold0", "model": folder / f"seed{seed}"})
    tokenizer.save_pretrained(folder / "tokenizer")
    train = COMPETITION.read_train(competition_files["train"])
    memory = RowOutputs.remembered(COMPETITION, SENTIMENT_TASK, train)
    out = folder / "package"
    build_package(out, COMPETITION, SENTIMENT_TASK, chains, {"tiny": {"tokenizer": folder / "tokenizer", "max_length": 64}},
                  {"tiny": 1.0}, OFFSETS["decision"], memory, {"batch_size": 32, "mixed_precision": "no"})
    return out, chains, tokenizer, train


def expected_outputs(chains, tokenizer, texts):
    """What predict, ensemble (the seeds' mean, weight 1, the offsets) compute, by the pipeline's own functions."""
    from fasthf.models.architectures import load_checkpoint

    split = tokenize_split(texts, tokenizer, 64)[0]
    per_seed = [predict_probs(load_checkpoint(c["model"]), split, 32, "cpu", "no", SENTIMENT_TASK.activation)
                .numpy().astype(np.float64) for c in chains]
    offsets = np.array(list(OFFSETS["decision"]["fitted"].values()))
    return ClassOffsets(offsets).apply(np.mean(per_seed, axis=0))


def test_the_package_writes_the_pipelines_submission_on_the_public_test(package, competition_files, tmp_path):
    folder, chains, tokenizer, train = package
    test = COMPETITION.read_test(competition_files["test"])
    sample = COMPETITION.read_sample(competition_files["sample_submission"])
    outputs, from_memory, _ = apply_memory(COMPETITION.memory_keys(test), expected_outputs(chains, tokenizer,
                                           COMPETITION.joined_texts(test)), COMPETITION.memory_keys(train),
                                           SENTIMENT_TASK.encode(train), SENTIMENT_TASK)
    expected = make_submission(test[COMPETITION.id], outputs, sample, COMPETITION, SENTIMENT_TASK)
    got = apply_package(folder, competition_files["test"], competition_files["sample_submission"], tmp_path / "s.csv")
    pd.testing.assert_frame_equal(got, expected)
    assert from_memory.any()  # memory did set some answers
    assert (tmp_path / "s.csv").read_text() == expected.to_csv(index=False)


def test_a_hidden_test_of_another_size_and_order_gets_an_answer_for_every_id(package, competition_files, tmp_path):
    folder = package[0]
    public = pd.read_csv(competition_files["test"], sep="\t", dtype=str, keep_default_na=False, quoting=3)
    train = pd.read_csv(competition_files["train"], sep="\t", dtype=str, keep_default_na=False, quoting=3)
    extra = train.drop(columns="Sentiment").head(300).assign(PhraseId=lambda f: (f.PhraseId.astype(int) + 10**6).astype(str))
    hidden = pd.concat([public, extra]).sample(frac=1, random_state=0)
    hidden.to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    got = apply_package(folder, tmp_path / "test.tsv", competition_files["sample_submission"], tmp_path / "s.csv")
    assert got.PhraseId.astype(str).tolist() == hidden.PhraseId.tolist()  # the test file's ids, in its order
    on_public = apply_package(folder, competition_files["test"], competition_files["sample_submission"], tmp_path / "p.csv")
    both = on_public.merge(got, on="PhraseId", suffixes=("", "_hidden"))
    assert len(both) == len(public) and (both.Sentiment == both.Sentiment_hidden).all()


def test_the_prediction_rate_counts_every_chain_the_package_runs():
    timings = [{"test": {"rows": 3000, "seconds": 40.0}}, {"test": {"rows": 3000, "seconds": 20.0}}]
    assert measured_rate(timings) == {"rows": 3000, "seconds": 60.0, "rows_per_s": 50.0}


def test_whether_the_hidden_test_fits_the_runtime_limit_is_said_at_the_measured_rate():
    rate = {"rows_per_s": 50.0}
    assert runtime_verdict(rate, 900_000, 9 * 3600) == (True, "the hidden test's 900000 rows would take about 5h 00m at "
                                                        "the 50.0 test rows a second measured where the package was "
                                                        "built: within the runtime limit of 9h 00m")
    fits, said = runtime_verdict(rate, 2_000_000, 9 * 3600)
    assert fits is False and "11h 06m" in said and "PAST the runtime limit of 9h 00m" in said
    fits, said = runtime_verdict(rate, None, 9 * 3600)
    assert fits is None and said.startswith("the hidden test's size is not given (notebook.hidden_test_rows)")


def test_applying_a_package_says_when_it_expects_to_end(package, competition_files, tmp_path, caplog):
    import json
    import logging
    import shutil

    folder = tmp_path / "timed-package"
    shutil.copytree(package[0], folder)
    info = json.loads((folder / PACKAGE_JSON).read_text())
    info["prediction"]["rows_per_s"] = 100.0
    (folder / PACKAGE_JSON).write_text(json.dumps(info))
    with caplog.at_level(logging.INFO, logger="fasthf"):
        apply_package(folder, competition_files["test"], competition_files["sample_submission"], tmp_path / "s.csv")
    said = caplog.text
    assert "at the 100.0 test rows a second measured where the package was built: about" in said
    assert said.count("expected end") == 1 + len(info["chains"])  # at the start, and after each chain


def test_the_package_holds_json_safetensors_csv_and_the_wheel_only(package):
    folder = package[0]
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors", ".csv", ".txt", ".whl"}, suffixes
    info, competition, task = read_package(folder)
    assert info["fasthf"] == __import__("fasthf").__version__ and (folder / info["wheel"]).is_file()
    assert competition == COMPETITION and task.describe() == SENTIMENT_TASK.describe()
    assert [c["seed"] for c in info["chains"]] == [1, 2] and info["memory"] and info["decision"]["used"]


def test_the_digest_ignores_a_rebuilt_wheels_timestamps_but_not_its_content(package, tmp_path):
    import shutil
    import zipfile

    folder = package[0]
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    wheel = next(copy.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zin:
        members = {info.filename: zin.read(info) for info in zin.infolist()}
    with zipfile.ZipFile(wheel, "w") as zout:  # the same members, stamped now
        for name, data in members.items():
            zout.writestr(name, data)
    assert folder_digest(copy) == folder_digest(folder)
    (copy / PACKAGE_JSON).write_text((copy / PACKAGE_JSON).read_text().replace('"memory": true', '"memory": false'))
    assert folder_digest(copy) != folder_digest(folder)


def test_two_wheels_built_at_once_do_not_break_each_other(tmp_path, monkeypatch):
    """Two package jobs at once (snakemake --cores 2, or two runs side by side) each build fasthf's wheel; built
    in the one source folder, setuptools' shared build/ folder made one of them fail (CI, issue 35's presets)."""
    import zipfile
    from concurrent.futures import ThreadPoolExecutor

    from fasthf.routes.package import build_wheel

    monkeypatch.setenv("FASTHF_WHEEL_CACHE", str(tmp_path / "cache"))  # empty: both jobs build
    with ThreadPoolExecutor(2) as pool:
        wheels = list(pool.map(build_wheel, [tmp_path / "first", tmp_path / "second"]))
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            assert "fasthf/routes/package.py" in archive.namelist()


def test_the_wheel_is_built_once_per_state_of_the_sources(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from fasthf.routes.package import WHEEL_SOURCES, build_wheel, project_root, source_digest

    monkeypatch.setenv("FASTHF_WHEEL_CACHE", str(tmp_path / "cache"))
    first = build_wheel(tmp_path / "first")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("built again from unchanged sources"))
    second = build_wheel(tmp_path / "second")
    assert first.read_bytes() == second.read_bytes() and first.parent != second.parent
    # any change to a source file is a new state, built anew
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in WHEEL_SOURCES:
        (shutil.copytree if (project_root() / name).is_dir() else shutil.copy2)(project_root() / name, copy / name)
    before = source_digest(copy)
    assert before == source_digest(project_root())
    (copy / "src" / "fasthf" / "io.py").write_text((copy / "src" / "fasthf" / "io.py").read_text() + "\n# changed\n")
    assert source_digest(copy) != before
    # the cache keeps the newest states only
    import os

    for k in range(12):  # twelve states of long ago, old00 the least recently used
        (tmp_path / "cache" / f"old{k:02d}").mkdir()
        os.utime(tmp_path / "cache" / f"old{k:02d}", (1000 + k, 1000 + k))
    build_wheel(tmp_path / "third")
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert kept == sorted([source_digest(project_root()), *(f"old{k:02d}" for k in range(3, 12))])


def test_a_folder_that_is_no_package_is_named(tmp_path):
    with pytest.raises(PackageError, match="no fasthf-package.json; this is not an inference package"):
        read_package(tmp_path)


@pytest.mark.parametrize("read_alone", [False, True])
def test_a_shared_encoding_member_is_applied_as_it_was_trained(tiny_model_folder, competition_files, tmp_path,
                                                                read_alone):
    """The package carries `encode: group`: the test sentences are encoded once each and every phrase read
    from its span, as the pipeline's predict does from its cached tensors; with `read_alone` each phrase read
    inside its sentence is read alone too, and the two readings averaged."""
    from fasthf.encoding.shared import alone_readings, tokenize_groups
    from fasthf.models.architectures import load_checkpoint
    from fasthf.models.shared_head import with_span_head
    from fasthf.outputs.prediction import mean_of_readings, outputs_table

    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    torch.manual_seed(0)
    with_span_head(model).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    chains = [{"member": "tiny", "seed": 42, "split": "fold0", "model": tmp_path / "model"}]
    info = build_package(tmp_path / "package", COMPETITION, SENTIMENT_TASK, chains,
                         {"tiny": {"tokenizer": tmp_path / "tokenizer", "max_length": 64, "encode": "group",
                                   "read_alone": read_alone}},
                         {"tiny": 1.0}, None, None, {"batch_size": 32, "mixed_precision": "no"})
    assert info["members"]["tiny"]["encode"] == "group" and info["members"]["tiny"]["read_alone"] == read_alone
    test = COMPETITION.read_test(competition_files["test"])
    texts, groups = COMPETITION.joined_texts(test), test[COMPETITION.group].tolist()
    model = load_checkpoint(tmp_path / "model")
    readings = [tokenize_groups(texts, groups, tokenizer, 64)[0]]
    if read_alone:
        readings.append(alone_readings(texts, groups, tokenizer, 64)[0])
    outputs = mean_of_readings([outputs_table(split, predict_probs(model, split, 32, "cpu", "no")) for split in readings])
    assert outputs.rows.tolist() == list(range(len(test)))
    sample = COMPETITION.read_sample(competition_files["sample_submission"])
    expected = make_submission(test[COMPETITION.id], outputs.outputs, sample, COMPETITION, SENTIMENT_TASK)
    got = apply_package(tmp_path / "package", competition_files["test"], competition_files["sample_submission"],
                        tmp_path / "s.csv")
    pd.testing.assert_frame_equal(got, expected)
