"""Every malformed input a user can hand the pipeline, decided deliberately: accepted and normalised,
or refused with one sentence naming the file, the line (or key) and what to do, and nothing written
downstream of a refused input."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from archives import SAMPLE, TEST, TRAIN, files, write_zip
from helpers import REPO, check_doc_section, read_test, read_train, sentiment
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.data import DataError

OUTPUTS = ("train.tsv", "test.tsv", "sampleSubmission.csv", "competition.json")
SENTIMENT = sentiment()[0]


def inner_zips(members: dict[str, bytes | str], tmp: Path) -> dict[str, bytes | str]:
    """Kaggle's layout: train.tsv and test.tsv each in a zip of its own inside the archive."""
    out = {}
    for name, content in members.items():
        if name.endswith(".tsv"):
            out[name + ".zip"] = write_zip(tmp / f"{name}.zip", {name: content}).read_bytes()
        else:
            out[name] = content
    return out


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


@dataclass
class Case:
    name: str
    archive: Callable[[Path], Path]  # tmp folder -> the archive to extract
    refused: str | None = None  # a fragment of the one-sentence refusal
    names: str | None = None  # the file the refusal must name
    check: Callable[[dict], None] | None = None  # for accepted inputs: asserts on the normalised frames
    tags: list[str] = field(default_factory=list)


def archive_of(**changes):
    return lambda tmp: write_zip(tmp / "archive.zip", files(**changes))


def archive_with(members):
    return lambda tmp: write_zip(tmp / "archive.zip", members)


def train_rows(frames):
    return frames["train"].to_dict("records")


CASES = [
    # accepted and normalised
    Case("utf8 byte-order mark", archive_of(**{"train.tsv": "\ufeff" + TRAIN}),
         check=lambda f: f["train"].PhraseId.tolist() == [1, 2, 3, 4, 5, 6]),
    Case("windows line endings", archive_of(**{"test.tsv": TEST.replace("\n", "\r\n")}),
         check=lambda f: f["test"].Phrase.tolist() == ["An intermittently pleasing", "null", " "]),
    Case("header in another column order", archive_of(**{"train.tsv": "Sentiment\tPhrase\tSentenceId\tPhraseId\n4\tgood\t3\t6\n"}),
         check=lambda f: train_rows(f) == [{"PhraseId": 6, "SentenceId": 3, "Phrase": "good", "Sentiment": 4}]),
    Case("labels written 2.0 and ' 3'", archive_of(**{"train.tsv": TRAIN.replace("\t1\n", "\t1.0\n").replace("\t3\n", "\t 3\n")}),
         check=lambda f: f["train"].Sentiment.tolist() == [1, 2, 2, 3, 2, 4]),
    Case("blank lines in the middle and at the end", archive_of(**{"train.tsv": TRAIN.replace("\n4\t", "\n\n4\t") + "\n\n"}),
         check=lambda f: len(f["train"]) == 6),
    Case("an extra column", archive_of(**{"train.tsv": TRAIN.replace("\n", "\tnote\n").replace("Sentiment\tnote", "Sentiment\tNote")}),
         check=lambda f: list(f["train"].columns) == ["PhraseId", "Phrase", "SentenceId", "Sentiment"]),
    Case("spaces around header names", archive_of(**{"train.tsv": TRAIN.replace("PhraseId\t", " PhraseId \t", 1)}),
         check=lambda f: len(f["train"]) == 6),
    Case("files inside a folder of the zip", archive_with({f"movie-reviews/{k}": v for k, v in files().items()}),
         check=lambda f: len(f["train"]) == 6),
    Case("an extra file in the zip", archive_with({**files(), "README.txt": "hello"}),
         check=lambda f: len(f["test"]) == 3),
    Case("Kaggle's zips inside the zip", lambda tmp: write_zip(tmp / "archive.zip", inner_zips(files(), tmp)),
         check=lambda f: len(f["train"]) == 6),
    Case("phrases that look like missing values or quotes stay text", archive_of(),
         check=lambda f: f["train"].Phrase.tolist()[2:5] == ["None", '"quoted" phrase', "NA"]
         and f["test"].Phrase.tolist()[1:] == ["null", " "]),
    Case("a path with spaces", lambda tmp: write_zip(folder(tmp / "my data") / "movie reviews.zip", files()),
         check=lambda f: len(f["train"]) == 6),
    # refused
    Case("a row with too few fields", archive_of(**{"test.tsv": TEST.replace("11\t9\tnull", "11\tnull")}),
         refused="line 3: 2 field(s) where the header has 3", names="test.tsv"),
    Case("a row with too many fields", archive_of(**{"train.tsv": TRAIN.replace("6\t3\tgood\t4", "6\t3\tgood\tfun\t4")}),
         refused="line 7: 5 field(s) where the header has 4", names="train.tsv"),
    Case("UTF-16 text", archive_of(**{"train.tsv": TRAIN.encode("utf-16")}), refused="UTF-16 text; save it as UTF-8",
         names="train.tsv"),
    Case("latin-1 text", archive_of(**{"test.tsv": TEST.replace("pleasing", "pleas\xe9").encode("latin-1")}),
         refused="line 2: byte 0xe9 is not UTF-8 text", names="test.tsv"),
    Case("sampleSubmission with no rows", archive_of(**{"sampleSubmission.csv": "PhraseId,Sentiment\n"}),
         refused="has a header but no rows", names="sampleSubmission.csv"),
    Case("the header line twice", archive_of(**{"train.tsv": TRAIN + TRAIN.splitlines()[0] + "\n7\t4\tbad\t0\n"}),
         refused="line 8 repeats the header line", names="train.tsv"),
    Case("a fractional label", archive_of(**{"train.tsv": TRAIN.replace("good\t4", "good\t2.5")}),
         refused="line 7: column 'Sentiment': '2.5' is not a whole number", names="train.tsv"),
    Case("a label outside 0-4", archive_of(**{"train.tsv": TRAIN.replace("good\t4", "good\t7")}),
         refused="line 7: column 'Sentiment': 7 is outside 0-4", names="train.tsv"),
    Case("an empty file", archive_of(**{"train.tsv": ""}), refused="the file is empty", names="train.tsv"),
    Case("commas instead of tabs", archive_of(**{"train.tsv": TRAIN.replace("\t", ",")}),
         refused="must be tab-separated", names="train.tsv"),
    Case("a missing column", archive_of(**{"train.tsv": TRAIN.replace("\tSentiment", "\tLabel")}),
         refused="missing column(s) ['Sentiment']", names="train.tsv"),
    Case("a duplicated PhraseId", archive_of(**{"train.tsv": TRAIN.replace("6\t3\tgood", "5\t3\tgood")}),
         refused="line 7: column 'PhraseId': 5 appears twice", names="train.tsv"),
    Case("a NUL byte", archive_of(**{"test.tsv": TEST.replace("null", "nu\x00ll")}), refused="line 3: a NUL byte",
         names="test.tsv"),
    Case("a PhraseId beyond 64 bits", archive_of(**{"train.tsv": TRAIN.replace("6\t3\tgood", "99999999999999999999\t3\tgood")}),
         refused="'99999999999999999999' is not a whole number", names="train.tsv"),
    Case("a negative SentenceId", archive_of(**{"train.tsv": TRAIN.replace("6\t3\tgood", "6\t-3\tgood")}),
         refused="column 'SentenceId': '-3' is not a whole number", names="train.tsv"),
    Case("two copies of train.tsv", archive_with({**files(), "old/train.tsv": TRAIN}),
         refused="two copies of train.tsv", names="archive.zip"),
    Case("no test.tsv", archive_with({k: v for k, v in files().items() if k != "test.tsv"}),
         refused="does not contain ['test.tsv']", names="archive.zip"),
    Case("a member that would land outside the folder", archive_with({**files(), "../evil.txt": "x"}),
         refused="would be written outside", names="archive.zip"),
    Case("not a zip at all (an HTML error page)", lambda tmp: write_text(tmp / "archive.zip", "<html>"),
         refused="not a readable zip archive", names="archive.zip"),
    Case("a corrupt zip inside the zip", archive_with({**files(), "train.tsv.zip": b"PK\x03\x04broken"}),
         refused="not a readable zip archive", names="train.tsv.zip"),
    Case("test.tsv and sampleSubmission.csv disagree", archive_of(**{"sampleSubmission.csv": "PhraseId,Sentiment\n10,2\n11,2\n"}),
         refused="different PhraseIds", names="archive.zip"),
    Case("a test file with a column the train file lacks", archive_of(**{"test.tsv": TEST.replace("\n", "\tnote\n").replace("Phrase\tnote", "Phrase\tNote")}),
         refused="has column(s) ['Note'] that train.tsv lacks", names="archive.zip"),
    Case("a sample submission with a repeated PhraseId", archive_of(**{"sampleSubmission.csv": SAMPLE + "10,2\n"}),
         refused="line 5: column 'PhraseId': 10 appears twice", names="sampleSubmission.csv"),
    Case("no archive there", lambda tmp: tmp / "missing.zip", refused="archive not found", names="missing.zip"),
]


def test_there_are_at_least_twenty_malformed_inputs():
    assert len(CASES) >= 20 and len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_input(case, tmp_path):
    archive = case.archive(tmp_path)
    dest = tmp_path / "data dir"
    if case.refused:
        with pytest.raises(DataError) as error:
            extract_competition(archive, dest, SENTIMENT)
        message = str(error.value)
        assert case.refused in message and case.names in message, message
        assert "\n" not in message and ".extracting" not in message  # one sentence, naming what the user has
        assert not any((dest / name).exists() for name in OUTPUTS)  # nothing downstream of a refusal
        assert not (dest / ".extracting").exists()
    else:
        paths = extract_competition(archive, dest, SENTIMENT)
        frames = {"train": read_train(paths["train"]), "test": read_test(paths["test"])}
        assert case.check(frames), frames
        assert sorted(p.name for p in dest.iterdir()) == sorted(OUTPUTS)


def test_null_on_the_command_line_means_null(tmp_path):
    from fasthf.config import nulls_from_command_line

    config = {"archive": "null", "results_dir": "None", "torch_threads": "~", "model": "null", "submit_message": ""}
    changed = nulls_from_command_line(config, REPO / "workflow/schemas/config.schema.yaml")
    assert changed == ["archive", "results_dir", "torch_threads"]
    assert config == {"archive": None, "results_dir": None, "torch_threads": None, "model": "null",
                      "submit_message": ""}  # keys that may not be null keep their text


def test_a_freeze_to_beyond_the_models_groups_names_the_key():
    from fasthf.config import StageError, check_freeze_to

    check_freeze_to(-7, 8, "stages[1]")
    with pytest.raises(StageError, match=r"stages\[1\]\.freeze_to is -8, but this model has 8 layer groups "
                                         r"\(embeddings, 6 layers, head\): use -1 \(head only\) to -7, or 0"):
        check_freeze_to(-8, 8, "stages[1]")


def test_a_model_that_cannot_be_found_says_what_model_takes():
    from fasthf.models.architectures import ModelSourceError, load_pretrained

    with pytest.raises(ModelSourceError, match="no Python package 'no_such_model_pkg' is installed"):
        load_pretrained("pkg:no_such_model_pkg", ["a", "b"])
    with pytest.raises(ModelSourceError, match=r"model '/no/such/folder' cannot be loaded.*local folder saved with save_pretrained"):
        load_pretrained("/no/such/folder", ["a", "b"])


@pytest.mark.parametrize("args, message", [
    (["predict", "--bundle", "/no/bundle", "hello"], "/no/bundle: not an inference bundle"),
    (["predict", "--bundle", "/no/bundle", "--file", "/no/phrases.txt"], "--file /no/phrases.txt: file not found"),
    (["validate-submission", "/no/submission.csv", "--sample", "/no/sample.csv"], "/no/sample.csv: file not found"),
])
def test_command_line_errors_are_one_line(args, message):
    done = subprocess.run([sys.executable, "-m", "fasthf", *args], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"fasthf {args[0]}: error: {message}" or message in done.stderr
    assert "Traceback" not in done.stderr


def inputs_table(tmp: Path) -> str:
    lines = ["| input | what fasthf does |", "|---|---|"]
    for i, case in enumerate(CASES):
        if case.refused:
            folder = tmp / f"case{i}"
            folder.mkdir()
            try:
                extract_competition(case.archive(folder), folder / "data", SENTIMENT)
            except DataError as error:
                sentence = str(error).replace(str(folder) + "/", "").replace(str(folder), "")
                lines.append(f"| {case.name} | refused: `` {sentence} `` |")
        else:
            lines.append(f"| {case.name} | accepted |")
    return "\n".join(lines)


def test_the_troubleshooting_page_lists_what_each_input_problem_produces(tmp_path):
    check_doc_section("docs/troubleshooting.md", "inputs", inputs_table(tmp_path))
