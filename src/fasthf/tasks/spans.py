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
        unit: words               # what the metric counts and spans are decoded over: words | characters
        one: true                 # exactly one span per text (extractive answers); else none, one or several
        answer: text              # what the submission writes: text (the span's characters) | locations ("s e;s e")
        threshold: 0.5            # a unit is in a span where its probability of not being O reaches this

Inside, a span is characters `[start, end)` of the row's text (`fasthf.inputs.span_labels.Span`). Each token
of the text is tagged O, B or I (`fasthf.encoding.span_tokens`); the model is Hugging Face's token classifier
(`AutoModelForTokenClassification`) trained by cross entropy over the text's tokens (special tokens, the pair
and padding are `IGNORE`d); its softmax per token goes back to characters, merged over every window and token
that read them, then to the metric's units, and is decoded there (`fasthf.outputs.span_decoding`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from fasthf.encoding.span_tokens import IGNORE, character_outputs, tag_names, trimmed, unit_outputs, word_ranges
from fasthf.inputs.span_labels import Span, spans_of_answer_starts, spans_of_locations, spans_of_substrings
from fasthf.inputs.targets import TargetError
from fasthf.outputs.span_decoding import decode_spans
from fasthf.outputs.span_metrics import format_locations
from fasthf.tasks.base import Task

if TYPE_CHECKING:
    import torch

# form -> (how the training file's target columns give a row's spans, how many target columns it reads)
FORMS = {
    "substring": (lambda frame, text, targets: spans_of_substrings(frame, text, targets[0]), 1),
    "locations": (lambda frame, text, targets: spans_of_locations(frame, text, targets[0]), 1),
    "answer_start": (lambda frame, text, targets: spans_of_answer_starts(frame, text, *targets), 2),
}
UNITS = ("words", "characters")
ANSWERS = ("text", "locations")


@dataclass(frozen=True)
class SpanSettings:
    """The description's `spans` block: how the spans are given, counted, decoded and answered."""
    form: str = "substring"
    unit: str = "words"
    one: bool = False
    answer: str = "text"
    threshold: float = 0.5

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
        return settings

    def units_of(self, text: str) -> np.ndarray:
        """(units, 2) character ranges of the units spans are decoded over."""
        if self.unit == "words":
            return word_ranges(text)
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
    """Untyped spans of one text per row (`types` [""]); the target columns give them as `settings.form` says."""
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
        found = read(frame, self.text, self.targets)
        texts = frame[self.text].astype(str).tolist()
        return [trimmed(text, row) for text, row in zip(texts, found)]

    def encode(self, frame: pd.DataFrame, path: str = "train") -> np.ndarray:
        """Each row's (text, spans), the truth the metric compares decoded spans with."""
        spans = self.spans(frame, path)
        if self.settings.one:
            several = [row for row, found in enumerate(spans) if len(found) > 1]
            if several:
                raise TargetError(f"{path}: row {several[0] + 1} has {len(spans[several[0]])} spans, but "
                                  f"competition.spans.one is true (exactly one per text): set one: false")
        truth = np.empty(len(spans), dtype=object)
        truth[:] = list(zip(frame[self.text].astype(str).tolist(), spans))
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
        found = decode_spans(probs, units, self.types, self.settings.threshold if threshold is None else threshold,
                             one=self.settings.one)
        return [Span(s.start, s.end, s.type) for s in found]

    def answer(self, text: str, spans: Sequence[Span]) -> str:
        """A text's spans as the submission writes them."""
        if self.settings.answer == "locations":
            return format_locations(spans)
        return " ".join(text[s.start:s.end] for s in spans)

    def submission_values(self, outputs, columns, form):
        """`outputs`: each row's answer (`answer`), already decoded from its units."""
        return {columns[0]: np.asarray(outputs, dtype=object)}

    def check_answer_columns(self, frame, columns, form, path, sample):
        if len(columns) != 1:
            raise TargetError(f"{sample}: line 1: the answer columns {columns}: a span task answers in one column")

    def check_submission_column(self, column, values, form):
        return None  # any text is a span's answer; locations are checked by the metric's reader

    def answer_names(self, outputs):
        return [str(a) for a in outputs]
