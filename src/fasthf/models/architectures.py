"""Loading Hugging Face sequence classifiers and splitting them into layer groups for fastai.

Any `AutoModelForSequenceClassification` encoder works (or its `AutoModelForMultipleChoice`, where the
competition has choices, or its `AutoModelForTokenClassification` for a span task: `fasthf.models.model_source`): the transformer layers are found as the
`nn.ModuleList`(s) holding `config.num_hidden_layers` entries (XLM keeps several parallel lists,
grouped by index). The head is everything outside the base model (`model.base_model_prefix`). The
rest of the base model is placed by what it feeds, traced in one small forward pass, never by the
order in which modules were registered: what the layers' output depends on (embeddings, relative
position tables, anything every layer uses) is the embeddings group, so training "the head only"
leaves every layer's computation unchanged; what only the logits depend on (a final norm or pooler
after the last layer) joins the head.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from fasthf.models.model_source import (ModelSourceError, auto_class, head_of, needs_prefix_space, resolve_model_source,
                                        saved_head)
from fasthf.models.precision import Fp32Linear

log = logging.getLogger(__name__)


class SplitError(ValueError):
    """The model's parameters could not be placed into embeddings / layer / head groups."""


def load_pretrained(name: str, label_names: list[str], add_prefix_space: bool = False, head: str = "sequence"):
    """(model, tokenizer) from a hub name or folder, with a fresh head (`fasthf.models.model_source.HEADS`) of
    `len(label_names)` outputs: classes; for `choice` the options (its head scores each option: one output);
    for `token` the tags, per token.

    `add_prefix_space` (the competition's setting): a byte-level BPE tokenizer (RoBERTa's) encodes a
    word differently at the start of a text; where each text is a piece cut from a longer one, it then
    encodes each as it reads inside that text. Other tokenizers have no such setting and ignore it."""
    from transformers import AutoTokenizer

    source = resolve_model_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:  # unknown name, no network, a folder without a tokenizer
        raise ModelSourceError(
            f"model {name!r} cannot be loaded: {str(error).splitlines()[0][:300]}. Give a Hugging Face name "
            f"(roberta-base; the hub must be reachable, or the model in its cache), a local folder saved with "
            f"save_pretrained, or pkg:MODULE") from error
    if add_prefix_space and needs_prefix_space(tokenizer):
        tokenizer = AutoTokenizer.from_pretrained(source, add_prefix_space=True)
    if not tokenizer.is_fast:
        log.warning("%s has no fast tokenizer; preprocessing will be slower", name)
    model = auto_class(head).from_pretrained(
        source,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={label: i for i, label in enumerate(label_names)},
        ignore_mismatched_sizes=True,  # a checkpoint fine-tuned for another label count gets a new head
    )
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def fetch_pretrained(name: str, label_names: list[str], out_dir: str | Path, seed: int,
                     add_prefix_space: bool = False, head: str = "sequence") -> dict:
    """Save the pretrained model (with its new, seeded head) and tokenizer into one local folder.

    This is the one step that may reach the Hugging Face hub; every later step reads the folder.
    """
    from transformers import set_seed  # not fastai's, the same seeding: this job needs no fastai

    from fasthf.io import atomic_dir

    set_seed(seed)
    model, tokenizer = load_pretrained(name, label_names, add_prefix_space, head)
    group_parameter_names(model)  # a model the splitter cannot handle fails here, before any training
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return {"model": name, "architecture": type(model).__name__, "model_type": model.config.model_type,
            "tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
            "parameters": count_parameters(model.parameters())}


class CheckpointError(ValueError):
    """A saved model that is corrupt or does not fit the data it is asked to work on."""


def load_checkpoint(folder: str | Path, n_labels: int | None = None, max_token_id: int | None = None,
                    head: str | None = None):
    """A model saved by `save_pretrained`, from safetensors only (never pickle), of the class its config.json
    names: its head (`fasthf.models.model_source.HEADS`; `head`, where given, must agree).

    Refused with a message naming the folder: missing or corrupt weights, weights that do not match
    the folder's config (another architecture), a head for another number of classes, a vocabulary
    too small for the token ids it is to read (`max_token_id`), or a model of another head.
    """
    folder = Path(folder)
    if not any(folder.glob("*.safetensors")):
        raise CheckpointError(f"{folder}: no safetensors weights; delete the folder and rerun the step that wrote it")
    saved = saved_head(folder)
    if head is not None and head != saved:
        reads = {"choice": "each option of a row (competition.choices)", "sequence": "each row's text whole",
                 "token": "each token of a text (a span task)"}
        raise CheckpointError(f"{folder}: this model scores {reads[saved]}, but the data it is given holds "
                              f"{reads[head]}; rerun pretrained, preprocess and the stages with one "
                              f"competition description")
    try:
        model, info = auto_class(saved).from_pretrained(
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
    from fasthf.models.shared_head import has_span_head, load_span_head

    return load_span_head(model, folder) if has_span_head(folder) else model


def vocabulary_size(model: nn.Module) -> int | None:
    """How many token ids the model's input embeddings take (None for models without a token table)."""
    try:
        return int(model.get_input_embeddings().weight.shape[0])
    except (AttributeError, NotImplementedError):  # character-level or quantized embeddings
        return getattr(model.config, "vocab_size", None)


def check_vocabulary(model: nn.Module, max_token_id: int) -> None:
    """Token ids made by another tokenizer would index past the embeddings deep inside the model."""
    size = vocabulary_size(model)
    if size is not None and max_token_id >= size:
        raise CheckpointError(f"token id {max_token_id} is outside the model's vocabulary of {size}: the cached "
                              f"tensors were made with another model's tokenizer")


class SequenceClassifier(nn.Module):
    """Calls a Hugging Face classifier with the batch's tensors and returns its logits, as fastai expects."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    @property
    def device(self) -> torch.device:  # fastai's DistributedTrainer asks the model where it lives
        return next(self.parameters()).device

    def forward(self, *batch):
        return batch_logits(self.model, batch)


def batch_logits(model: nn.Module, batch) -> torch.Tensor:
    """The logits for a batch's inputs as the splits collate them: input_ids, attention_mask, then
    token_type_ids where the tokenizer makes them, then the spans where the model reads spans."""
    from fasthf.models.shared_head import SpanModel

    input_ids, attention_mask, *rest = batch
    extra = {"spans": rest.pop()} if isinstance(model, SpanModel) else {}
    if rest:
        extra["token_type_ids"] = rest[0]
    return model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


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
    n_layers = getattr(model.config, "num_hidden_layers", None)
    if not isinstance(n_layers, int):
        raise SplitError(f"{type(model).__name__}: its config ({type(model.config).__name__}) has no "
                         f"num_hidden_layers, so there are no transformer layers to put into groups")
    lists = layer_lists(model, n_layers)
    if not lists:
        others = [f"'{name}' (ModuleList of {len(m)})" for name, m in model.named_modules()
                  if isinstance(m, nn.ModuleList)]
        raise SplitError(
            f"{type(model).__name__}: found no nn.ModuleList of {n_layers} layers "
            f"(config.num_hidden_layers), so its layers cannot be placed into per-layer groups; "
            f"module lists present: {', '.join(others) or 'none'}")
    base = _base_model_name(model)
    groups: list[list[str]] = [[] for _ in range(n_layers + 2)]
    untraced = []
    for name, _ in model.named_parameters():
        prefix = next((p for p in lists if name.startswith(p + ".")), None)
        if prefix is not None:
            groups[int(name[len(prefix) + 1:].split(".")[0]) + 1].append(name)
        elif base and not name.startswith(base + "."):
            groups[-1].append(name)
        else:
            untraced.append(name)
    feeds_layers, feeds_logits = _trace_dependencies(model, lists, n_layers, untraced)
    for name in untraced:
        after_layers = name in feeds_logits and name not in feeds_layers
        groups[-1 if after_layers else 0].append(name)
    order = {name: i for i, (name, _) in enumerate(model.named_parameters())}
    groups = [sorted(group, key=order.__getitem__) for group in groups]
    empty = [i for i, g in enumerate(groups) if not g]
    if empty:
        raise SplitError(f"{type(model).__name__}: layer group(s) {empty} would hold no parameters "
                         f"(layer lists: {lists}, base model: {base or 'the whole model'})")
    return groups


def _base_model_name(model: nn.Module) -> str:
    """The attribute holding the bare encoder (`bert`, `roberta`, ...), or "" if the model is its own base."""
    prefix = getattr(model, "base_model_prefix", "")
    return prefix if prefix and isinstance(getattr(model, prefix, None), nn.Module) else ""


def output_layer(model: nn.Module) -> nn.Linear | None:
    """The Linear that writes the logits: the head's last one with `config.num_labels` outputs (BERT's
    `classifier`, RoBERTa's `classifier.out_proj`, XLNet's `logits_proj`, ...), one output for a
    multiple-choice model (a score per option); None if there is none, or no Hugging Face config."""
    n_labels = getattr(getattr(model, "config", None), "num_labels", None)
    if n_labels is None:
        return None
    n_labels = 1 if head_of(model) == "choice" else n_labels
    base = _base_model_name(model)
    head = [module for name, module in model.named_modules()
            if not (base and (name == base or name.startswith(base + ".")))]
    found = [m for m in head if isinstance(m, nn.Linear) and m.out_features == n_labels]
    return found[-1] if found else None


def logits_in_fp32(model: nn.Module) -> nn.Module:
    """Make the layer that writes the logits compute in fp32 under bf16 or fp16 autocast.

    A bf16 output carries about 3 significant digits: regression values came out rounded to steps of
    0.0078 near 1 (0.03 near 4), and a ranking metric (AUC, Spearman) would see ties that the model did
    not make. One fp32 product of hidden-size x labels costs nothing next to the encoder. The layer's
    class is swapped in place, so checkpoints, `deepcopy` (the weight average) and DDP see a plain Linear.
    """
    layer = output_layer(model)
    if layer is None and hasattr(model, "config"):
        log.warning("%s: no Linear with %d outputs in its head; its logits stay in the autocast dtype",
                    type(model).__name__, 1 if head_of(model) == "choice" else model.config.num_labels)
    elif type(layer) is nn.Linear:
        layer.__class__ = Fp32Linear
    return model


def _first_tensor(output):
    if isinstance(output, torch.Tensor):
        return output
    values = output.values() if isinstance(output, dict) else output
    return next((_first_tensor(v) for v in values if isinstance(v, (torch.Tensor, tuple, list, dict))), None)


def _trace_dependencies(model: nn.Module, lists: list[str], n_layers: int,
                        names: list[str]) -> tuple[set[str], set[str]]:
    """Which of `names` the last layer's output depends on, and which the logits depend on.

    One forward pass of a short fixed input (no randomness is drawn, so seeded runs stay seeded),
    in eval mode, gradients taken with respect to the parameters only; the model is left as it was.
    """
    if not names:
        return set(), set()
    params = dict(model.named_parameters())
    traced = [params[name] for name in names]
    device = traced[0].device
    vocab = vocabulary_size(model) or 64
    input_ids = (torch.arange(8, device=device) % max(1, min(vocab, 64) - 5) + min(5, vocab - 1))[None].repeat(2, 1)
    if head_of(model) == "choice":  # (rows, options, length): two rows of one option
        input_ids = input_ids[:, None]
    attention_mask = torch.ones_like(input_ids)
    # Every module of the last layer records its output; the last one recorded is where the layers end
    # (the layer itself where it is called as a module, its last submodule where it is a plain list).
    last_outputs = []
    hooks = [module.register_forward_hook(lambda module, args, output: last_outputs.append(_first_tensor(output)))
             for name in lists for module in model.get_submodule(f"{name}.{n_layers - 1}").modules()]
    requires_grad = [p.requires_grad for p in traced]
    was_training = model.training
    try:
        model.eval()
        for p in traced:
            p.requires_grad_(True)
        with torch.enable_grad():
            logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
        layers_out = next((t for t in reversed(last_outputs) if t is not None and t.requires_grad), None)
        feeds_layers = set()
        if layers_out is not None:
            grads = torch.autograd.grad(layers_out.float().sum(), traced, allow_unused=True, retain_graph=True)
            feeds_layers = {n for n, g in zip(names, grads) if g is not None}
        grads = torch.autograd.grad(logits.float().sum(), traced, allow_unused=True)
        feeds_logits = {n for n, g in zip(names, grads) if g is not None}
    except Exception as error:  # a model whose forward needs more than ids and a mask
        raise SplitError(f"{type(model).__name__}: a forward pass with input_ids and attention_mask failed "
                         f"({type(error).__name__}: {error}), so its parameters cannot be traced into "
                         f"groups; this pipeline feeds only those inputs") from error
    finally:
        for hook in hooks:
            hook.remove()
        for p, flag in zip(traced, requires_grad):
            p.requires_grad_(flag)
        model.train(was_training)
    return feeds_layers, feeds_logits


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """fastai splitter: parameter groups for discriminative learning rates and `freeze_to`."""
    from fasthf.models.shared_head import SpanModel

    model = model.model if isinstance(model, SequenceClassifier) else model
    head = list(model.head.parameters()) if isinstance(model, SpanModel) else []  # a span head joins the head group
    model = model.classifier if isinstance(model, SpanModel) else model
    params = dict(model.named_parameters())
    groups = [[params[name] for name in group] for group in group_parameter_names(model)]
    groups[-1] += head
    return groups


def count_parameters(params) -> int:
    return sum(p.numel() for p in params)
