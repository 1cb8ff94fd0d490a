"""A competition as data: its files, columns, task, metric and submission form, from the config.

    competition:
      slug: nlp-getting-started
      files: {train: train.csv, test: test.csv, sample_submission: sample_submission.csv}
      id: id
      text: [text, keyword, location]   # several columns: joined, see `joined_texts`
      text_pair: null                   # or a column given to the tokenizer as the second text
      target: [target]                  # one column, or several (multilabel, multi-output regression)
      group: null                       # folds keep a group's rows together
      add_prefix_space: false           # true: each text is a piece of a longer one (byte-level BPE)
      task: auto                        # auto | binary | multiclass | multilabel | regression
      metric: f1                        # null: the task's default
      submission: auto                  # auto | labels | probabilities
      route: file                       # file: upload submission.csv; notebook: a code competition

Everything downstream reads this description and the task made from the training file (`fit`);
the download step writes both to `competition.json`, with what `task: auto` inferred and why.
Inside the pipeline a text is known by its row number in its file; ids appear again in the submission.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import DataError, line_of, read_csv_table, read_table
from .io import read_json, write_json
from .metrics import Metric
from .targets import TargetError
from .task_inference import fit_task, infer_task
from .tasks import TASKS, Task, task_from

log = logging.getLogger(__name__)

SUBMISSION_FORMS = ("auto", "labels", "probabilities")
ROUTES = ("file", "notebook")  # how Kaggle takes a submission: a file upload, or a notebook it runs (code competitions)


@dataclass(frozen=True)
class Competition:
    """A competition's description; the defaults are Kaggle's most common layout."""
    slug: str
    files: dict = field(default_factory=lambda: {"train": "train.csv", "test": "test.csv",
                                                 "sample_submission": "sample_submission.csv"})
    id: str = "id"
    text: tuple[str, ...] = ("text",)
    text_pair: str | None = None
    target: tuple[str, ...] = ("target",)
    group: str | None = None
    task: str = "auto"
    labels: dict | None = None
    metric: str | None = None
    submission: str = "auto"
    integer_columns: tuple[str, ...] = ()
    text_separator: str = " | "
    add_prefix_space: bool = False  # each text is a piece cut from a longer one: see architectures.load_pretrained
    route: str = "file"

    @classmethod
    def from_config(cls, value: str | dict, presets: str | Path = "config/competitions") -> "Competition":
        """From the config's `competition`: a description, or the slug of a preset whose description is
        `presets/<slug>.yaml` (its `competition` block)."""
        if isinstance(value, str):
            preset = Path(presets) / f"{value}.yaml"
            if not preset.is_file():
                raise ValueError(f"competition: {value!r} names no preset ({preset} does not exist); describe the "
                                 f"competition as a block (README, 'Your competition')")
            import yaml

            value = yaml.safe_load(preset.read_text())["competition"]
        value = dict(value)
        for key in ("text", "target", "integer_columns"):
            if key in value and value[key] is not None:
                value[key] = tuple([value[key]] if isinstance(value[key], str) else value[key])
        if value.get("labels") is not None:
            value["labels"] = {(int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k): v
                               for k, v in value["labels"].items()}
        competition = cls(**value)
        competition.check()
        return competition

    def check(self) -> None:
        if self.task != "auto" and self.task not in TASKS:
            raise ValueError(f"competition.task: {self.task!r}; use auto or one of {sorted(TASKS)}")
        if self.submission not in SUBMISSION_FORMS:
            raise ValueError(f"competition.submission: {self.submission!r}; use one of {SUBMISSION_FORMS}")
        if self.route not in ROUTES:
            raise ValueError(f"competition.route: {self.route!r}; use file (a submission.csv upload) or notebook (a "
                             f"code competition)")
        missing = [k for k in ("train", "test", "sample_submission") if k not in self.files]
        if missing:
            raise ValueError(f"competition.files: names no {missing} file")
        used = [self.id, *self.text, *([self.text_pair] if self.text_pair else []), *self.target]
        repeated = sorted({c for c in used if used.count(c) > 1})
        if repeated:
            raise ValueError(f"competition: the column(s) {repeated} are given two roles (id, text, text_pair, target)")

    # -- the files ----------------------------------------------------------------------------------
    @property
    def input_columns(self) -> list[str]:
        return [self.id, *self.text, *([self.text_pair] if self.text_pair else [])]

    @property
    def roles(self) -> dict[str, str]:
        """The config key that names each column."""
        roles = {self.id: "id", **{c: "text" for c in self.text}, **{c: "target" for c in self.target}}
        roles.update({c: key for key, c in (("text_pair", self.text_pair), ("group", self.group)) if c})
        return roles

    def _read(self, path, columns, optional=()) -> pd.DataFrame:
        path = Path(path)
        if path.suffix.lower() == ".tsv":  # Kaggle's .tsv files never quote: split on tabs as they are
            frame = read_table(path, columns, optional=optional, roles=self.roles)
        else:
            frame = read_csv_table(path, columns, optional=optional, roles=self.roles)
        for column in self.integer_columns:
            if column in frame:
                frame[column] = _integer_column(frame, path, column)
        _check_unique(frame, path, self.id)
        return frame

    def read_train(self, path) -> pd.DataFrame:
        return self._read(path, [*self.input_columns, *([self.group] if self.group else []), *self.target])

    def read_test(self, path) -> pd.DataFrame:
        return self._read(path, self.input_columns, optional=[self.group] if self.group else [])

    def read_sample(self, path) -> pd.DataFrame:
        """The sample submission: the id column and every answer column, in the file's order."""
        frame = read_csv_table(path, [self.id], keep_all=True, roles=self.roles)
        if self.id in self.integer_columns:
            frame[self.id] = _integer_column(frame, Path(path), self.id)
        _check_unique(frame, Path(path), self.id)
        if len(frame.columns) < 2:
            raise DataError(f"{path}: line 1: only the id column '{self.id}'; a sample submission has answer columns")
        return frame

    def answer_columns(self, sample: pd.DataFrame) -> list[str]:
        return [c for c in sample.columns if c != self.id]

    # -- what the model reads ---------------------------------------------------------------------
    def joined_texts(self, frame: pd.DataFrame) -> list[str]:
        """The text of each row: the first text column as it is, each further non-empty one appended as
        `{text_separator}{column}: {value}` (so the model can tell a keyword from a location)."""
        texts = frame[self.text[0]].astype(str)
        for column in self.text[1:]:
            values = frame[column].astype(str)
            extra = self.text_separator + column + ": " + values
            texts = texts + extra.where(values.str.strip() != "", "")
        return texts.tolist()

    def pairs(self, frame: pd.DataFrame) -> list[str] | None:
        return None if self.text_pair is None else frame[self.text_pair].astype(str).tolist()

    def memory_keys(self, frame: pd.DataFrame) -> pd.Series:
        """What must match verbatim for memory: the text, and the pair if there is one."""
        keys = pd.Series(self.joined_texts(frame), index=frame.index)
        if self.text_pair:
            keys = keys + "\x1f" + frame[self.text_pair].astype(str)
        return keys

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        """The fold groups of the training rows: the group column, or each row its own group."""
        return frame[self.group].to_numpy() if self.group else np.arange(len(frame))

    # -- the task ---------------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, sample: pd.DataFrame | None = None, path: str = "train") -> tuple[Task, str]:
        """The task (kind, classes) from the training file, and why that kind; every target checked."""
        answers = None if sample is None else self.answer_columns(sample)
        if self.task == "auto":
            kind, why = infer_task(train, list(self.target), self.labels, answers, self.metric)
            why = f"task auto: {kind}, because {why}"
        else:
            kind, why = self.task, f"task {self.task}, as the config says"
        try:
            task = fit_task(kind, train, list(self.target), self.labels)
        except TargetError as error:
            raise DataError(f"{path}: {error}") from None
        task.metric(self.metric)  # a metric the task cannot be scored by stops here
        try:
            task.encode(train, path)
            if answers is not None:  # what the submission needs of the training file, checked before training
                task.check_answer_columns(train, answers, self.submission_form(task), path,
                                          self.files["sample_submission"])
        except TargetError as error:
            raise DataError(str(error)) from None
        return task, why

    def metric_of(self, task: Task) -> Metric:
        return task.metric(self.metric)

    def submission_form(self, task: Task) -> str:
        """labels or probabilities (values, for regression): as configured, else what the metric scores."""
        if self.submission != "auto":
            return self.submission
        return "labels" if self.metric_of(task).uses == "labels" else "probabilities"

    def describe(self) -> dict:
        """The description as JSON takes it (competition.json, the inference package)."""
        data = asdict(self)
        data["labels"] = None if self.labels is None else [[k, v] for k, v in self.labels.items()]
        return data

    @classmethod
    def from_description(cls, data: dict) -> "Competition":
        described = dict(data)
        for key in ("text", "target", "integer_columns"):
            described[key] = tuple(described[key])
        described["labels"] = None if described["labels"] is None else dict(map(tuple, described["labels"]))
        return cls(**described)

    def save(self, path, task: Task, why: str) -> None:
        write_json(path, {"competition": self.describe(), "task": task.describe(), "inferred": why,
                          "metric": self.metric_of(task).name})

    @classmethod
    def load(cls, path) -> tuple["Competition", Task]:
        """The description and the task the download step wrote (competition.json)."""
        data = read_json(path)
        return cls.from_description(data["competition"]), task_from(data["task"])


def _integer_column(frame: pd.DataFrame, path: Path, column: str) -> pd.Series:
    values = frame[column]
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round()) | (numbers < 0) | (numbers >= 2**63)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: line {line_of(frame, row)}: column '{column}': {values.iloc[row]!r} is not a "
                        f"whole number from 0 to 2^63 ({int(bad.sum())} such rows); fix or remove that line")
    return numbers.astype("int64")


def _check_unique(frame: pd.DataFrame, path: Path, column: str) -> None:
    duplicated = frame[column].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{path}: line {line_of(frame, row)}: column '{column}': {frame[column].iloc[row]} appears "
                        f"twice ({int(duplicated.sum())} duplicates); each row needs its own {column}")
