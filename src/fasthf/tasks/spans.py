"""Spans: where in a text the answer is (extraction from short posts, NBME, chaii), as a token classifier.

    competition:
      text: text                  # the one text the spans are characters of
      text_pair: label            # optional: what the span is asked for (a label, a feature, a question)
      target: selected_text       # the column(s) the training file gives the spans in, read as `form` says
      task: spans
      spans:
        form: substring           # substring: the span's own text (target: [selected_text])
                                  # locations: NBME's "['s e', 's e;s e']" (target: [location])
                                  # answer_start: a start and the answer (target: [answer_start, answer_text])
                                  # bio: BIO tags over given tokens (target: [labels]; PII's records)
                                  # segments: lists of starts, ends and types per text (target: [start, end,
                                  #   type]; Feedback Prize's segment rows brought by a join with many: true)
        unit: words               # what the metric counts and spans are decoded over: words | characters |
                                  # tokens (the given tokens of columns `tokens` + `whitespace`)
        one: true                 # exactly one span per text (extractive answers); else none, one or several
        answer: text              # what the submission writes: text (the span's characters) | locations
                                  # ("s e;s e") | token_rows (a row per labelled token: row_id, id, token, label)
                                  # | segment_rows (a row per span: id, class, predictionstring, its words)
        threshold: 0.5            # a unit is in a span where its probability of not being O reaches this
        tokens: tokens            # unit tokens: the column of each text's tokens, and of their trailing
        whitespace: trailing_whitespace  # whitespace (true/false per token); together they spell the text

Spans are typed where the training file types them (BIO tags: PII's NAME_STUDENT, EMAIL, ...): the classes are
the types found, sorted; a typed run of units is split where a unit is more likely a `B-` than an `I-`.

Inside, a span is characters `[start, end)` of the row's text (`fasthf.inputs.span_labels.Span`). Each token
of the text is tagged O, B or I (`fasthf.encoding.span_tokens`); the model is Hugging Face's token classifier
(`AutoModelForTokenClassification`) trained by cross entropy over the text's tokens (special tokens, the pair
and padding are `IGNORE`d); its softmax per token goes back to characters, merged over every window and token
that read them, then to the metric's units, and is decoded there (`fasthf.outputs.span_decoding`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from fasthf.encoding.span_tokens import IGNORE, character_outputs, tag_names, trimmed, unit_outputs, word_ranges
from fasthf.inputs.span_labels import (Span, spans_of_answer_starts, spans_of_locations, spans_of_segment_lists,
                                       spans_of_substrings)
from fasthf.inputs.targets import TargetError
from fasthf.inputs.token_records import TokenizedText, bio_of_spans, spans_of_bio_records, tokenized_texts
from fasthf.outputs.span_decoding import decode_spans
from fasthf.outputs.span_metrics import format_locations, span_words
from fasthf.tasks.base import Task

if TYPE_CHECKING:
    import torch

# form -> (how the training file's target columns give a row's spans, how many target columns it reads)
FORMS = {
    "substring": (lambda frame, text, targets, _: spans_of_substrings(frame, text, targets[0]), 1),
    "locations": (lambda frame, text, targets, _: spans_of_locations(frame, text, targets[0]), 1),
    "answer_start": (lambda frame, text, targets, _: spans_of_answer_starts(frame, text, *targets), 2),
    "bio": (lambda frame, text, targets, s: spans_of_bio_records(frame, s.tokens, s.whitespace, targets[0], text), 1),
    "segments": (lambda frame, text, targets, _: spans_of_segment_lists(frame, text, *targets), 3),
}
UNITS = ("words", "characters", "tokens")


@dataclass(frozen=True)
class RowAnswer:
    """Answers in rows of their own: the sample's answer columns beside the id (`columns`, the first numbering
    the rows from 0 where `numbered`); `indices` the column of the text's token or word indices, written as
    `pattern`; `label` the column of the span's BIO tag (`tags`) or its type."""
    columns: tuple[str, ...]
    indices: str
    pattern: str
    label: str
    tags: bool
    numbered: bool = False


# answer -> its rows where a text answers in rows of its own (None: one answer cell per text)
ANSWERS = {"text": None, "locations": None,
           "token_rows": RowAnswer(("row_id", "token", "label"), "token", r"\d+", "label", tags=True, numbered=True),
           "segment_rows": RowAnswer(("class", "predictionstring"), "predictionstring", r"\d+( \d+)*", "class",
                                     tags=False)}


@dataclass(frozen=True)
class SpanSettings:
    """The description's `spans` block: how the spans are given, counted, decoded and answered."""
    form: str = "substring"
    unit: str = "words"
    one: bool = False
    answer: str = "text"
    threshold: float = 0.5
    tokens: str = "tokens"
    whitespace: str = "trailing_whitespace"

    @classmethod
    def of(cls, block: dict | None) -> "SpanSettings":
        block = dict(block or {})
        unknown = sorted(set(block) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"competition.spans: unknown key(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        settings = cls(**block)
        for key, value, known in (("form", settings.form, FORMS), ("unit", settings.unit, UNITS),
                                  ("answer", settings.answer, ANSWERS)):
            if value not in known:
                raise ValueError(f"competition.spans.{key}: {value!r}; use one of {list(known)}")
        if not 0 < settings.threshold < 1:
            raise ValueError(f"competition.spans.threshold: {settings.threshold}; a probability between 0 and 1")
        if settings.answer == "segment_rows" and settings.unit != "words":
            raise ValueError("competition.spans: answer segment_rows writes each span's words; set unit: words")
        if (settings.form == "bio" or settings.answer == "token_rows") and settings.unit != "tokens":
            raise ValueError(f"competition.spans: form {settings.form} and answer {settings.answer} name given "
                             f"tokens; set unit: tokens")
        return settings

    @property
    def columns(self) -> list[str]:
        """The columns beside the text that the units are read from (unit tokens: the tokens, their whitespace)."""
        return [self.tokens, self.whitespace] if self.unit == "tokens" else []

    @property
    def answer_columns(self) -> tuple[str, ...] | None:
        """The sample's answer columns where each text answers in rows of its own (a labelled token, a span)."""
        return ANSWERS[self.answer].columns if ANSWERS[self.answer] else None

    def units_of(self, text: str) -> np.ndarray:
        """(units, 2) character ranges of the units spans are decoded over."""
        if self.unit == "words":
            return word_ranges(text)
        if self.unit == "tokens":
            if not isinstance(text, TokenizedText):
                raise TypeError("unit tokens: the text must carry its tokens (Spans.texts of its frame)")
            return text.units
        starts = np.arange(len(text), dtype=np.int64)
        return np.stack([starts, starts + 1], axis=1)


def check_span_description(task: str, text: Sequence[str], choices: Sequence[str], spans: dict | None) -> None:
    """A span task's description: one text column (the spans are its characters), no choices, a `spans` block
    that reads; what cannot work is refused, saying why."""
    problems = [(task not in ("auto", "spans"), f"describes spans, but competition.task is {task}"),
                (len(text) != 1, f"needs one text column (the spans are its characters), not {list(text)}; give a "
                                 f"second one as text_pair"),
                (bool(choices), "cannot be multiple choice: set choices: []")]
    problem = next((message for found, message in problems if found), None)
    if problem:
        raise ValueError(f"competition.spans: a span task {problem}")
    SpanSettings.of(spans)


def token_accuracy(pred, targ):
    """The share of the text's tokens tagged right (special, pair and padding tokens left out)."""
    kept = targ != IGNORE
    return (pred.argmax(dim=-1)[kept] == targ[kept]).float().mean()


class Spans(Task):
    """Spans of one text per row, typed (`types`: the types the training file gives, sorted) or not (`types`
    [""]); the target columns give them as `settings.form` says."""
    kind = "spans"
    default_metric = "jaccard"
    surrogate = "log_loss"
    reads_spans = False  # one text per row, read in windows where long: not shared encodings
    per_token = True

    def __init__(self, targets, classes=None, label_names=None, text: str = "text",
                 settings: SpanSettings | None = None):
        settings = settings or SpanSettings()
        super().__init__(targets, list(classes or [""]), label_names)
        self.text, self.settings = text, settings
        needed = FORMS[settings.form][1]
        if len(self.targets) != needed:
            raise ValueError(f"competition.target: spans given as {settings.form} are read from {needed} column(s), "
                             f"not {self.targets}")

    @classmethod
    def fitted(cls, targets, frame: pd.DataFrame, text: str, settings: SpanSettings) -> "Spans":
        """The task with the span types of the training file `frame` as its classes (none: untyped)."""
        task = cls(targets, text=text, settings=settings)
        types = sorted({span.type for row in task.spans(frame) for span in row} - {""})
        return cls(targets, types, text=text, settings=settings) if types else task

    def for_plain_texts(self) -> "Spans":
        """The task for texts given without their tokens (an inference bundle's): over given tokens, decoded over
        words instead and answered as text."""
        if self.settings.unit != "tokens":
            return self
        return Spans(self.targets, self.classes, self.label_names, self.text,
                     replace(self.settings, unit="words", answer="text"))

    @property
    def answers_in_rows(self) -> bool:
        """Each text answers in rows of its own (one per labelled token), not in one row per text."""
        return self.settings.answer_columns is not None

    @property
    def types(self) -> list[str]:
        return list(self.classes)

    @property
    def tag_names(self) -> list[str]:
        return tag_names(self.types)

    @property
    def n_outputs(self) -> int:
        return len(self.tag_names)

    @property
    def output_names(self) -> list[str]:
        return self.tag_names

    def describe(self) -> dict:
        return {**super().describe(), "text": self.text, "settings": asdict(self.settings)}

    @classmethod
    def from_description(cls, described: dict) -> "Spans":
        return cls(described["targets"], described.get("classes"), described.get("label_names"),
                   described.get("text", "text"), SpanSettings(**described.get("settings", {})))

    # -- the model ---------------------------------------------------------------------------------
    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float().softmax(dim=-1)

    def loss_func(self, label_smoothing: float = 0.0):
        from fastai.losses import CrossEntropyLossFlat

        # flattened over every token; IGNORE (-100) is torch's default ignore_index
        return CrossEntropyLossFlat(axis=-1, ignore_index=IGNORE, label_smoothing=label_smoothing)

    def fastai_metrics(self) -> list:
        return [token_accuracy]

    # -- targets ------------------------------------------------------------------------------------
    def spans(self, frame: pd.DataFrame, path: str = "train") -> list[list[Span]]:
        """Each row's spans, as the training file gives them; whitespace at their ends left out."""
        read, _ = FORMS[self.settings.form]
        found = read(frame, self.text, self.targets, self.settings)
        return [trimmed(text, row) for text, row in zip(self.texts(frame), found)]

    def texts(self, frame: pd.DataFrame) -> list[str]:
        """Each row's text, the spans' characters; over given tokens, a `TokenizedText` that carries them."""
        if self.settings.unit == "tokens":
            return tokenized_texts(frame, self.settings.tokens, self.settings.whitespace, self.text)
        return frame[self.text].astype(str).tolist()

    def encode(self, frame: pd.DataFrame, path: str = "train") -> np.ndarray:
        """Each row's (text, spans), the truth the metric compares decoded spans with."""
        spans = self.spans(frame, path)
        if self.settings.one:
            several = [row for row, found in enumerate(spans) if len(found) > 1]
            if several:
                raise TargetError(f"{path}: row {several[0] + 1} has {len(spans[several[0]])} spans, but "
                                  f"competition.spans.one is true (exactly one per text): set one: false")
        truth = np.empty(len(spans), dtype=object)
        truth[:] = list(zip(self.texts(frame), spans))
        return truth

    def stratify_by(self, y):
        return None

    # -- outputs to answers -------------------------------------------------------------------------
    def unit_probs(self, text: str, windows: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """(units' character ranges, their tag probabilities) of one text, from every token that read it:
        `windows` holds (token character ranges, token probabilities), one pair per window or table."""
        units = self.settings.units_of(text)
        if not len(text):
            return units, np.zeros((0, self.n_outputs))
        return units, unit_outputs(character_outputs(len(text), windows), units)

    def decode_text(self, text: str, probs: np.ndarray, units: np.ndarray, threshold: float | None = None) -> list[Span]:
        """The spans of one text from its units' probabilities."""
        typed = self.types != [""] and self.settings.unit != "characters"  # names side by side are two spans
        found = decode_spans(probs, units, self.types, self.settings.threshold if threshold is None else threshold,
                             split_at_b=typed, one=self.settings.one)
        return [Span(s.start, s.end, s.type) for s in found]

    def answer(self, text: str, spans: Sequence[Span]):
        """A text's spans as the submission writes them (token_rows: its labelled tokens, [(token, BIO tag)])."""
        if self.settings.answer == "locations":
            return format_locations(spans)
        if self.settings.answer == "token_rows":
            return [(k, tag) for k, tag in enumerate(bio_of_spans(spans, text.units)) if tag != "O"]
        if self.settings.answer == "segment_rows":
            return [(s.type, " ".join(map(str, words))) for s, words in zip(spans, span_words(text, spans)) if words]
        return " ".join(text[s.start:s.end] for s in spans)

    def answer_rows(self, ids, outputs, id_column: str) -> pd.DataFrame:
        """The submission's rows where texts answer in rows (a labelled token, a span): each id's, in the ids'
        order, numbered from 0 where the answer numbers them (`row_id`)."""
        shape = ANSWERS[self.settings.answer]
        values = shape.columns[1:] if shape.numbered else shape.columns
        frame = pd.DataFrame([(key, *row) for key, answered in zip(ids, outputs) for row in answered],
                             columns=[id_column, *values])
        if shape.numbered:
            frame.insert(0, shape.columns[0], np.arange(len(frame)))
        return frame

    def row_problems(self, submission: pd.DataFrame, id_column: str) -> list[str]:
        """What makes rows of answers unacceptable: rows not numbered 0, 1, ... (where numbered); indices that are
        not whole numbers from 0; a label that is not one of the task's tags or types; a row (a labelled token:
        its id and token) given twice."""
        shape, problems = ANSWERS[self.settings.answer], []
        if shape.numbered and submission[shape.columns[0]].astype(str).tolist() != [str(k) for k in range(len(submission))]:
            problems.append(f"column {shape.columns[0]} does not number the rows 0, 1, 2, ...")
        if not submission[shape.indices].astype(str).str.fullmatch(shape.pattern).all():
            problems.append(f"column {shape.indices} holds values that are not indices (whole numbers from 0)")
        allowed = self.tag_names[1:] if shape.tags else self.types
        unknown = sorted(set(submission[shape.label].astype(str)) - set(allowed))
        if unknown:
            problems.append(f"column {shape.label} holds {unknown[:5]}, not one of {allowed}")
        key = [id_column, shape.indices] if shape.tags else list(submission.columns)
        twice = submission[key].astype(str).duplicated()
        if twice.any():
            problems.append(f"{int(twice.sum())} rows repeat an earlier one")
        return problems

    def submission_values(self, outputs, columns, form):
        """`outputs`: each row's answer (`answer`), already decoded from its units."""
        return {columns[0]: np.asarray(outputs, dtype=object)}

    def check_answer_columns(self, frame, columns, form, path, sample):
        wanted = self.settings.answer_columns
        if wanted is not None and sorted(columns) != sorted(wanted):
            raise TargetError(f"{sample}: line 1: the answer columns {columns}: answer {self.settings.answer} writes "
                              f"{list(wanted)} beside the id")
        if wanted is None and len(columns) != 1:
            raise TargetError(f"{sample}: line 1: the answer columns {columns}: a span task answers in one column")

    def check_submission_column(self, column, values, form):
        return None  # any text is a span's answer; locations are checked by the metric's reader

    def answer_names(self, outputs):
        return [str(a) for a in outputs]
