"""The real movie-review phrases recast as a binary competition, for a real-data run through a non-default path.

    python benchmarks/binary_recast.py ../shared/kaggle/sentiment-analysis-on-movie-reviews.zip data/binary-recast.zip
    snakemake --cores 2 --configfile benchmarks/binary-recast.yaml --config archive=data/binary-recast.zip

Neutral phrases (2) are dropped; 0 and 1 become the string label "negative", 3 and 4 "positive". The files
get CSV names and quoting (train.csv, test.csv, sample_submission.csv), so the run goes through the CSV
reader, string labels, the binary task, F1 and a labels submission; folds stay grouped by sentence.
"""
import io
import sys
import zipfile

import pandas as pd


def inner(zf: zipfile.ZipFile, name: str) -> str:
    """A member of the archive, or of the zip of the same name inside it (Kaggle's layout)."""
    names = zf.namelist()
    if name in names:
        return zf.read(name).decode()
    with zipfile.ZipFile(io.BytesIO(zf.read(name + ".zip"))) as nested:
        return nested.read(name).decode()


def main(archive: str, out: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        read = lambda name: pd.read_csv(io.StringIO(inner(zf, name)), sep="\t", dtype=str,  # noqa: E731
                                        keep_default_na=False, quoting=3)
        train, test = read("train.tsv"), read("test.tsv")
    sentiment = train.Sentiment.astype(int)
    train = train[sentiment != 2].assign(Sentiment=sentiment[sentiment != 2].map(lambda s: "negative" if s < 2 else "positive"))
    sample = pd.DataFrame({"PhraseId": test.PhraseId, "Sentiment": "positive"})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.csv", train.to_csv(index=False))
        zf.writestr("test.csv", test.to_csv(index=False))
        zf.writestr("sample_submission.csv", sample.to_csv(index=False))
    print(f"{out}: {len(train)} training phrases ({(train.Sentiment == 'positive').sum()} positive), {len(test)} test")


if __name__ == "__main__":
    main(*sys.argv[1:3])
