"""A tiny competition archive in the default competition's layout, to be broken one way at a time."""
import zipfile
from pathlib import Path

TRAIN = ("PhraseId\tSentenceId\tPhrase\tSentiment\n"
         "1\t1\tA series of escapades\t1\n2\t1\tA series\t2\n3\t1\tNone\t2\n"
         "4\t2\t\"quoted\" phrase\t3\n5\t2\tNA\t2\n6\t3\tgood\t4\n")
TEST = "PhraseId\tSentenceId\tPhrase\n10\t9\tAn intermittently pleasing\n11\t9\tnull\n12\t10\t \n"
SAMPLE = "PhraseId,Sentiment\n10,2\n11,2\n12,2\n"
def files(**changes) -> dict[str, bytes | str]:
    base = {"train.tsv": TRAIN, "test.tsv": TEST, "sampleSubmission.csv": SAMPLE}
    return {**base, **changes}


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content if isinstance(content, bytes) else content.encode())
    return path
