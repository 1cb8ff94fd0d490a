"""Stand-in for the `kaggle` CLI in tests: records each call, can fail transiently, fakes downloads.

FAKE_KAGGLE_CALLS   file that gets one line per call: the arguments, space-joined
FAKE_KAGGLE_FAILS   how many calls fail first with a connection error (counted in FAKE_KAGGLE_CALLS)
FAKE_KAGGLE_ARCHIVE zip copied into the -p folder on `competitions download`
"""
import os
import shutil
import sys
from pathlib import Path

args = sys.argv[1:]
calls = Path(os.environ["FAKE_KAGGLE_CALLS"])
with calls.open("a") as f:
    f.write(" ".join(args) + "\n")
if len(calls.read_text().splitlines()) <= int(os.environ.get("FAKE_KAGGLE_FAILS", "0")):
    print("ConnectionError: Connection reset by peer", file=sys.stderr)
    sys.exit(1)
if args[:2] == ["competitions", "download"]:
    competition, folder = args[args.index("-c") + 1], args[args.index("-p") + 1]
    shutil.copy(os.environ["FAKE_KAGGLE_ARCHIVE"], Path(folder) / f"{competition}.zip")
    print(f"Downloading {competition}.zip to {folder}")
elif args[:2] == ["competitions", "submit"]:
    print("Successfully submitted to Sentiment Analysis on Movie Reviews")
else:
    print(f"unknown command {args}", file=sys.stderr)
    sys.exit(2)
