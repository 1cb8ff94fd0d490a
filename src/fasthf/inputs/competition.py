"""A competition as data: its files, columns, task, metric and submission form, from the config.

    competition:
      slug: nlp-getting-started
      files: {train: train.csv, test: test.csv, sample_submission: sample_submission.csv}  # train/: a folder
      id: id                            # the id of the test file and the sample submission; null: rows
                                        #   are matched by position (test row i answers sample row i)
      sample_id: null                   # the sample's id column where it is named otherwise (test_id)
      copy_columns: []                  # sample columns copied into the submission as the sample has them
      text: [text, keyword, location]   # several columns: joined, see `joined_texts`
      text_pair: null                   # or a column given to the tokenizer as the second text
      choices: []                       # multiple choice: [A, B, C, D], a column per option, the target names one
      target: [target]                  # one column, or several (multilabel, multi-output regression)
      group: null                       # folds keep a group's rows together
      add_prefix_space: false           # true: each text is a piece of a longer one (byte-level BPE)
      task: auto                        # auto | binary | multiclass | multilabel | regression | soft | tags | spans
      tag_separator: " "                # tags: the labels of a row, in one cell
      metric: f1                        # null: the task's default
      submission: auto                  # auto | labels | probabilities | ranked (the top_k: 3 labels, best first)
      route: file                       # file: upload submission.csv; notebook: a code competition
      tsv_quoted: false                 # true: .tsv files quote as pandas' to_csv(sep="\t") does
      json_cells: null                  # {column: null | [field, ...]}: cells holding JSON, read as text
      joins: []                         # [{file: notes, on: id, columns: [note]}]: see fasthf.inputs.joins
      spans: null                       # task spans: {form, unit, one, answer, threshold}, see fasthf.tasks.spans

Files are read by their suffix (.csv, .tsv, .json, .jsonl, .parquet: fasthf.inputs.readers). Everything
downstream reads this description and the task made from the training file (`fit`); the download step writes
both to `competition.json`, with what `task: auto` inferred and why. Inside the pipeline a text is known by its
row number in its file; ids appear again in the submission.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.inputs.data import DataError, check_options, check_unique, integer_column
from fasthf.inputs.joins import check_joins, join, joins_of, locate, roles_of
from fasthf.inputs.readers import apply_json_cells, json_cells_of, read_file
from fasthf.inputs.targets import TargetError
from fasthf.inputs.task_inference import fit_task, infer_task
from fasthf.io import read_json, write_json
from fasthf.outputs.metrics import Metric
from fasthf.tasks import TASKS, Task, task_from
from fasthf.tasks.spans import SpanSettings, check_span_description

SUBMISSION_FORMS = ("auto", "labels", "probabilities", "ranked")
ROUTES = ("file", "notebook")  # how Kaggle takes a submission: a file upload, or a notebook it runs (code competitions)


@dataclass(frozen=True)
class Competition:
    """A competition's description; the defaults are Kaggle's most common layout."""
    slug: str
    files: dict = field(default_factory=lambda: {"train": "train.csv", "test": "test.csv",
                                                 "sample_submission": "sample_submission.csv"})
    id: str | None = "id"  # None: no id column; rows are matched by their position
    sample_id: str | None = None  # the sample submission's id column, where it is not named `id`
    copy_columns: tuple[str, ...] = ()  # sample columns the submission keeps as the sample has them
    text: tuple[str, ...] = ("text",)
    text_pair: str | None = None
    choices: tuple[str, ...] = ()  # multiple choice: each row's option columns; the target names the right one
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
    tag_separator: str = " "  # task tags: a row's labels in one cell, split on this
    top_k: int = 3  # submission ranked: how many labels, best first
    duel: dict | None = None  # {swap: [column, column], answers: [class, class]}: see fasthf.encoding.duels
    tsv_quoted: bool = False  # .tsv files quoted as pandas' to_csv(sep="\t") writes them (Kaggle's never quote)
    json_cells: dict | None = None  # column -> None or [field, ...]: its cells hold JSON, read as text (readers)
    joins: tuple[dict, ...] = ()  # {file, on, columns}: columns of another file brought into train and test (joins)
    spans: dict | None = None  # task spans: how the target columns give each text's spans (fasthf.tasks.spans)

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
        for key in ("text", "target", "integer_columns", "copy_columns", "choices"):
            if key in value and value[key] is not None:
                value[key] = tuple([value[key]] if isinstance(value[key], str) else value[key])
        if value.get("labels") is not None:
            value["labels"] = {(int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k): v
                               for k, v in value["labels"].items()}
        if "joins" in value:
            value["joins"] = joins_of(value["joins"])
        if value.get("json_cells") is not None:
            value["json_cells"] = json_cells_of(value["json_cells"])
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
        check_joins(self.joins, self.files)
        used = [*self.input_columns, *self.target]
        repeated = sorted({c for c in used if used.count(c) > 1})
        if repeated:
            raise ValueError(f"competition: the column(s) {repeated} are given two roles (id, text, text_pair, "
                             f"choices, target)")
        if self.choices:
            self._check_choices()
        texts = [*self.text, *([self.text_pair] if self.text_pair else [])]
        if self.is_spans:
            check_span_description(self.task, self.text, self.choices, self.spans)
        if self.duel is not None and not set(self.duel["swap"]) <= set(texts):
            raise ValueError(f"competition.duel.swap: {self.duel['swap']} must be two of the text columns {texts}")

    def _check_choices(self) -> None:
        """Multiple choice: two options or more, one target naming one, the options in the pair's place."""
        kind = "binary" if len(self.choices) == 2 else "multiclass"
        problems = [(len(self.choices) < 2, "names one column; a multiple-choice row has two options or more"),
                    (len(self.target) > 1, f"takes one target column (naming the right option), not {list(self.target)}"),
                    (bool(self.text_pair), "reads each option as the second text of a pair: text_pair must be null"),
                    (self.task not in ("auto", kind), f"makes the task {kind} (a class per option), not {self.task}"),
                    (self.labels is not None, "names the classes itself: labels must be null")]
        problem = next((message for found, message in problems if found), None)
        if problem:
            raise ValueError(f"competition.choices: {list(self.choices)} {problem}")

    @property
    def is_spans(self) -> bool:
        return self.task == "spans" or self.spans is not None

    @property
    def head(self) -> str:
        """The model head that reads a row (`fasthf.models.model_source.HEADS`): one output per option where the
        rows have choices, one per token for spans, else per class or target."""
        return "choice" if self.choices else "token" if self.is_spans else "sequence"

    # -- the files ----------------------------------------------------------------------------------
    @property
    def input_columns(self) -> list[str]:
        return [*([self.id] if self.id else []), *self.text, *([self.text_pair] if self.text_pair else []),
                *self.choices, *(self.span_settings.columns if self.is_spans else [])]

    @property
    def span_settings(self) -> SpanSettings:
        return SpanSettings.of(self.spans)

    @property
    def answers_in_rows(self) -> bool:  # texts answer in rows of their own (PII's tokens): the sample's are examples
        return self.is_spans and self.span_settings.answer_columns is not None

    @property
    def sample_id_column(self) -> str | None:
        """The sample submission's id column (None where rows are matched by position)."""
        return self.sample_id or self.id

    @property
    def roles(self) -> dict[str, str]:
        """The config key that names each column."""
        roles = {**{c: "text" for c in self.text}, **{c: "choices" for c in self.choices},
                 **{c: "target" for c in self.target}}
        roles.update({c: key for key, c in (("id", self.id), ("text_pair", self.text_pair), ("group", self.group),
                                            ("sample_id", self.sample_id)) if c})
        roles.update({c: "copy_columns" for c in self.copy_columns})
        roles.update({c: f"joins[{i}].on" for i, spec in enumerate(self.joins) for c in spec["on"] if c not in roles})
        return roles

    def ids(self, frame: pd.DataFrame) -> pd.Series:
        """The id of each row of a train or test file: its id column, or its position (id: null)."""
        return frame[self.id].reset_index(drop=True) if self.id else pd.Series(np.arange(len(frame)))

    def sample_ids(self, sample: pd.DataFrame) -> pd.Series:
        """The id of each row of the sample submission, comparable with `ids` of the test file."""
        column = self.sample_id_column
        return sample[column].reset_index(drop=True) if column else pd.Series(np.arange(len(sample)))

    def _read_file(self, path: Path, columns, optional=(), roles=None) -> pd.DataFrame:
        """One file by its suffix, its JSON cells made text and its integer columns checked."""
        frame = read_file(path, columns, optional=optional, roles=roles or self.roles, tsv_quoted=self.tsv_quoted)
        frame = apply_json_cells(frame, path, self.json_cells)
        for column in self.integer_columns:
            if column in frame:
                frame[column] = integer_column(frame, path, column)
        return frame

    def _read(self, path, columns, optional=(), beside=None) -> pd.DataFrame:
        """`columns` (and the `optional` ones present) of the file, the joined ones from the other files
        (read from `path`'s folder, or from `beside`: {key of files: path}), in that order; the join keys
        follow them."""
        path = Path(path)
        wanted = [*columns, *optional]
        joins = [(i, spec) for i, spec in enumerate(self.joins) if set(spec["columns"]) & set(wanted)]
        brought = {c for _, spec in joins for c in spec["columns"]}
        keys = [c for _, spec in joins for c in spec["on"]]
        own = list(dict.fromkeys([*(c for c in columns if c not in brought), *keys]))
        frame = self._read_file(path, own, [c for c in optional if c not in brought and c not in own])
        for index, spec in joins:
            other_path = locate(path, spec["file"], self.files[spec["file"]], beside)
            if not other_path.is_file():
                raise DataError(f"{path}: competition.joins[{index}] joins {self.files[spec['file']]} (files."
                                f"{spec['file']}), which is not beside it ({other_path} not found); keep the "
                                f"competition's files in one folder")
            other = self._read_file(other_path, [*spec["on"], *spec["columns"]], roles=roles_of(index, spec))
            join(frame, path, index, spec, other, other_path)
        if self.id:
            check_unique(frame, path, self.id)
        check_options(frame, path, self.choices)
        attrs = {**frame.attrs, "path": str(path)}  # errors about its cells name the file
        frame = frame[list(dict.fromkeys([*(c for c in wanted if c in frame.columns), *frame.columns]))].copy()
        frame.attrs.update(attrs)
        return frame

    def read_train(self, path, beside: dict | None = None) -> pd.DataFrame:
        """The training file; the files of competition.joins from its folder, or from `beside` where given."""
        return self._read(path, [*self.input_columns, *([self.group] if self.group else []), *self.target],
                          beside=beside)

    def read_test(self, path, beside: dict | None = None) -> pd.DataFrame:
        return self._read(path, self.input_columns, optional=[self.group] if self.group else [], beside=beside)

    def read_sample(self, path) -> pd.DataFrame:
        """The sample submission: the id column (if any), every answer column and the copied ones, in the
        file's order."""
        column = self.sample_id_column
        frame = read_file(path, [*([column] if column else []), *self.copy_columns], keep_all=True,
                          roles=self.roles, tsv_quoted=self.tsv_quoted)
        if column:
            if self.id in self.integer_columns:
                frame[column] = integer_column(frame, Path(path), column)
            if not self.answers_in_rows:
                check_unique(frame, Path(path), column)
        if not self.answer_columns(frame):
            raise DataError(f"{path}: line 1: no answer column: {list(frame.columns)} are the id and the copied "
                            f"columns; a sample submission has answer columns")
        return frame

    def answer_columns(self, sample: pd.DataFrame) -> list[str]:
        """The sample's columns the model answers: all but the id and the copied ones."""
        return [c for c in sample.columns if c != self.sample_id_column and c not in self.copy_columns]

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
        """What must match verbatim for memory: the text, and the pair or the options if there are."""
        keys = pd.Series(self.joined_texts(frame), index=frame.index)
        for column in [*([self.text_pair] if self.text_pair else []), *self.choices]:
            keys = keys + "\x1f" + frame[column].astype(str)
        return keys

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        """The fold groups of the training rows: the group column, or each row its own group."""
        return frame[self.group].to_numpy() if self.group else np.arange(len(frame))

    # -- the task ---------------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, sample: pd.DataFrame | None = None, path: str = "train") -> tuple[Task, str]:
        """The task (kind, classes) from the training file, and why that kind; every target checked."""
        answers = None if sample is None else self.answer_columns(sample)
        labels = dict(zip(self.choices, self.choices)) if self.choices else self.labels  # choices pin the classes
        if self.choices:
            kind = "binary" if len(self.choices) == 2 else "multiclass"
            why = f"task {kind}, because competition.choices names {len(self.choices)} options, the target one of them"
        elif self.is_spans:
            kind, why = "spans", f"task spans, because competition.spans describes them"
        elif self.task == "auto":
            kind, why = infer_task(train, list(self.target), self.labels, answers, self.metric)
            why = f"task auto: {kind}, because {why}"
        else:
            kind, why = self.task, f"task {self.task}, as the config says"
        try:
            task = fit_task(kind, train, list(self.target), labels, self.tag_separator,
                            text=self.text[0], spans=self.span_settings if self.is_spans else None)
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
        uses = self.metric_of(task).uses
        return uses if uses in ("labels", "ranked") else "probabilities"

    def describe(self) -> dict:
        """The description as JSON takes it (competition.json, the inference package)."""
        data = asdict(self)
        data["labels"] = None if self.labels is None else [[k, v] for k, v in self.labels.items()]
        return data

    @classmethod
    def from_description(cls, data: dict) -> "Competition":
        described = dict(data)
        for key in ("text", "target", "integer_columns", "copy_columns", "choices"):
            if key in described:
                described[key] = tuple(described[key])
        described["labels"] = None if described["labels"] is None else dict(map(tuple, described["labels"]))
        if "joins" in described:
            described["joins"] = tuple(described["joins"])
        return cls(**described)

    def save(self, path, task: Task, why: str) -> None:
        write_json(path, {"competition": self.describe(), "task": task.describe(), "inferred": why,
                          "metric": self.metric_of(task).name})

    @classmethod
    def load(cls, path) -> tuple["Competition", Task]:
        """The description and the task the download step wrote (competition.json)."""
        data = read_json(path)
        return cls.from_description(data["competition"]), task_from(data["task"])
