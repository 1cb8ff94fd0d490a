"""The inference bundle: a folder that predicts without the pipeline and without pickle.

    bundle/
      config.json, model.safetensors    the fine-tuned classifier (save_pretrained), labels in id2label
      tokenizer.json, tokenizer_config.json, ...
      fasthf.json                       max_length, the task (kind, classes or targets), where it came from

    >>> from fasthf.routes.bundle import Predictor
    >>> Predictor("results/<slug>/bundle").predict_one("a text")
    Prediction(label='<its class>', index=<the class's index>, probs=[...])
    >>> Predictor("results/<slug>/bundle").predict_one("a question", ["an option", "another", ...])  # choices
    >>> Predictor("results/<slug>/bundle").spans(["a text"], ["what a span is asked for"])  # a span task
    [[Span(start=2, end=6, type='')]]
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fasthf.io import atomic_dir, read_json, write_json

if TYPE_CHECKING:  # the export job copies files and needs neither torch nor transformers
    import torch

BUNDLE_INFO = "fasthf.json"


class BundleError(ValueError):
    """A folder that is not an inference bundle; the message says what to do."""


@dataclass
class Prediction:
    """The answer for one text: a class (label and index) with every class's probability, or for several
    targets (multilabel, regression) the decoded answers in `label` and the outputs in `probs`."""
    label: str
    index: int
    probs: list[float]


def is_model_file(name: str) -> bool:
    """What `save_pretrained` writes for a model (its config and weights); the rest of the pretrained
    folder is the tokenizer's."""
    return name in ("config.json", "generation_config.json", "span_head.json") or ".safetensors" in name or name.startswith("pytorch_model")


def export_bundle(checkpoint: str | Path, tokenizer_dir: str | Path, out_dir: str | Path, info: dict) -> None:
    """Copy the last checkpoint (config and safetensors weights) and the tokenizer's files into one
    self-contained folder. Copied as files, not loaded and saved again: the weights stay byte for byte
    those that `predict` loaded and checked, and the job imports no model code (seconds a run)."""
    checkpoint, tokenizer_dir = Path(checkpoint), Path(tokenizer_dir)
    if not (checkpoint / "config.json").is_file() or not any(checkpoint.glob("*.safetensors")):
        raise FileNotFoundError(f"{checkpoint}: no config.json and safetensors weights to bundle; "
                                f"delete the folder and rerun the stage that wrote it")
    with atomic_dir(out_dir) as tmp:
        for source, keep in ((tokenizer_dir, lambda name: not is_model_file(name)), (checkpoint, is_model_file)):
            for path in sorted(source.iterdir()):
                if path.is_file() and keep(path.name):
                    shutil.copy2(path, tmp / path.name)
        write_json(tmp / BUNDLE_INFO, info)


class Predictor:
    """Loads a bundle once; predicts texts in length-sorted batches, returned in input order."""

    def __init__(self, bundle: str | Path, device: str | None = None, batch_size: int = 256,
                 precision: str = "auto"):
        bundle = Path(bundle)
        if not (bundle / "config.json").is_file():
            raise BundleError(f"{bundle}: not an inference bundle (no config.json there); the pipeline's "
                              f"export rule writes one to results/<model>/bundle")
        if not (bundle / BUNDLE_INFO).is_file():
            raise BundleError(f"{bundle}: no {BUNDLE_INFO} (the task and max_length); export the bundle again "
                              f"with the pipeline's export rule")
        # the model libraries only once there is a bundle to load: a wrong path is said in a second, not ten
        from transformers import AutoTokenizer

        from fasthf.models.architectures import load_checkpoint
        from fasthf.tasks import task_from

        self.info = read_json(bundle / BUNDLE_INFO)
        self.tokenizer = AutoTokenizer.from_pretrained(str(bundle))
        self.model = load_checkpoint(bundle).eval()
        self.device = device
        self.batch_size = batch_size
        self.precision = precision  # a mixed_precision setting: auto is bf16 where the hardware has it
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.task = task_from(self.info["task"])

    @property
    def multiple_choice(self) -> bool:
        """Trained with competition.choices: each text comes with its options, one per class (`fasthf.encoding.choices`)."""
        from fasthf.models.model_source import head_of

        return head_of(self.model) == "choice"

    def probs(self, texts: list[str], options: list[list[str]] | None = None) -> torch.Tensor:
        """Row i for texts[i]; a multiple-choice bundle needs `options[i]`, text i's options in the classes' order."""
        from fasthf.encoding.choices import tokenize_choices
        from fasthf.encoding.shared import tokenize_groups
        from fasthf.encoding.tensors import tokenize_split
        from fasthf.models.shared_head import SpanModel
        from fasthf.outputs.prediction import by_row_number, predict_probs

        if self.multiple_choice:  # each text read beside each of its options (fasthf.encoding.choices)
            n = len(self.labels)
            if options is None or len(options) != len(texts) or any(len(row) != n for row in options):
                raise ValueError(f"this bundle answers multiple-choice rows: each text needs its {n} options "
                                 f"({', '.join(self.labels)}, in that order)")
            split, _ = tokenize_choices(list(texts), [list(column) for column in zip(*options)], self.tokenizer,
                                        self.info["max_length"])
        elif isinstance(self.model, SpanModel):  # trained with encode: group: each text is its own group
            split, _ = tokenize_groups(list(texts), range(len(texts)), self.tokenizer, self.info["max_length"])
        else:
            split, _ = tokenize_split(list(texts), self.tokenizer, self.info["max_length"],
                                      window_stride=self.info.get("window_stride"))  # windows pooled per text
        return by_row_number(split, predict_probs(self.model, split, self.batch_size, self.device, self.precision,
                                                  self.task.activation))

    def predict(self, texts: list[str], options: list[list[str]] | None = None) -> list[Prediction]:
        outputs = self.probs(texts, options).numpy()
        one_label = self.task.classes is not None  # the index of the class; several targets have none
        return [Prediction(name, int(p.argmax()) if one_label else -1, [round(float(x), 6) for x in p])
                for p, name in zip(outputs, self.task.answer_names(outputs))]

    def spans(self, texts: list[str], pairs: list[str] | None = None) -> list[list]:
        """A span bundle's spans of each text (characters `[start, end)` and a type), read in windows where long,
        beside `pairs[i]` where the competition asks for a span of something (`info["pair"]`); decoded at the
        task's threshold, over words where the competition gave its texts as tokens."""
        from fasthf.encoding.span_split import span_split
        from fasthf.outputs.prediction import outputs_table, predict_probs
        from fasthf.outputs.span_ensemble import unit_table
        from fasthf.outputs.token_table import decoded

        task = self.task.for_plain_texts()
        if bool(self.info.get("pair")) != (pairs is not None):
            raise ValueError(f"this bundle reads each text beside its {self.info.get('pair')}: give both" if
                             self.info.get("pair") else "this bundle reads texts alone: give no pairs")
        split, _ = span_split(list(texts), self.tokenizer, self.info["max_length"], task.types, pairs=pairs,
                              window_stride=self.info.get("window_stride"))
        outputs = predict_probs(self.model, split, self.batch_size, self.device, self.precision, task.activation)
        return decoded(task, texts, unit_table(task, texts, [outputs_table(split, outputs)]), range(len(texts)))

    def predict_one(self, text: str, options: list[str] | None = None) -> Prediction:
        return self.predict([text], None if options is None else [options])[0]
