"""The real movie-review sentences recast as a span competition in Tweet Sentiment Extraction's layout, for a
span run on real text and real labels (no span competition's own data is reachable here).

    python benchmarks/span_recast.py ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip data-span-recast.zip
    snakemake --cores 2 --configfile config/competitions/tweet-sentiment-extraction.yaml \
        --config archive=data-span-recast.zip results_dir=results/span-recast data_dir=data/span-recast

Each labelled sentence of train.tsv (its first phrase, the whole sentence) is a text; its sentiment group
(0-1 negative, 2 neutral, 3-4 positive) is the pair the span is asked for; the span is the shortest phrase of
the sentence that its annotators gave the same group, ties to the first, where it is shorter than the sentence
(neutral sentences: the whole sentence, as the extraction competition's neutral tweets mostly are). Phrases
are the annotators' own substrings of the sentence. The last `--test` sentences are the test file; the run's
score is out of fold on the training sentences' held-out tenth.
"""
import argparse
import io
import zipfile

import pandas as pd

from binary_recast import inner

GROUPS = {0: "negative", 1: "negative", 2: "neutral", 3: "positive", 4: "positive"}


def recast(train: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence: textID, text, selected_text, sentiment."""
    train = train.assign(PhraseId=train.PhraseId.astype(int), group=train.Sentiment.astype(int).map(GROUPS))
    rows = []
    for sentence_id, phrases in train.sort_values("PhraseId").groupby("SentenceId", sort=False):
        text, group = phrases.Phrase.iloc[0], phrases.group.iloc[0]
        if not text.strip():
            continue
        span = text
        if group != "neutral":
            same = phrases[(phrases.group == group) & phrases.Phrase.str.strip().astype(bool)
                           & phrases.Phrase.map(lambda p: p in text)]
            if len(same):
                span = min(same.Phrase, key=lambda p: (len(p.split()), text.index(p)))
        rows.append({"textID": f"s{int(sentence_id):05d}", "text": text, "selected_text": span, "sentiment": group})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive")
    parser.add_argument("out")
    parser.add_argument("--test", type=int, default=500, help="sentences held back as the test file")
    args = parser.parse_args()
    with zipfile.ZipFile(args.archive) as zf:
        train = pd.read_csv(io.StringIO(inner(zf, "train.tsv")), sep="\t", dtype=str, keep_default_na=False, quoting=3)
    sentences = recast(train)
    train, test = sentences.iloc[:-args.test], sentences.iloc[-args.test:]
    sample = pd.DataFrame({"textID": test.textID, "selected_text": ""})
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.csv", train.to_csv(index=False))
        zf.writestr("test.csv", test.drop(columns="selected_text").to_csv(index=False))
        zf.writestr("sample_submission.csv", sample.to_csv(index=False))
    shorter = (train.selected_text != train.text).mean()
    print(f"{args.out}: {len(train)} training sentences ({train.sentiment.value_counts().to_dict()}), "
          f"{shorter:.0%} with a span shorter than the sentence, {len(test)} test")


if __name__ == "__main__":
    main()
