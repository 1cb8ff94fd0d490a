"""Stand-in for the `kaggle` CLI in tests: records each call, can fail transiently, fakes downloads.

FAKE_KAGGLE_CALLS   file that gets one line per call: the arguments, space-joined
FAKE_KAGGLE_FAILS   how many calls fail first with a connection error (counted in FAKE_KAGGLE_CALLS)
FAKE_KAGGLE_ARCHIVE zip copied into the -p folder on `competitions download`
FAKE_KAGGLE_SCORE   public score `competitions submissions` reports for the last submission, once it has
                    been listed FAKE_KAGGLE_PENDING times (default 0) as pending; "never": always pending
"""
import csv
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
elif args[:2] == ["competitions", "submissions"]:
    # Newest first, as the real CLI's CSV (-v): the last submit call of this test is the newest.
    listings = sum(1 for line in calls.read_text().splitlines() if line.startswith("competitions submissions"))
    submits = [line.split() for line in calls.read_text().splitlines() if line.startswith("competitions submit ")]
    score = os.environ.get("FAKE_KAGGLE_SCORE", "0.61234")
    pending = score == "never" or listings <= int(os.environ.get("FAKE_KAGGLE_PENDING", "0"))
    writer = csv.writer(sys.stdout)
    writer.writerow(["ref", "fileName", "date", "description", "status", "publicScore", "privateScore"])
    for n, words in enumerate(reversed(submits)):
        line = next(line for line in reversed(calls.read_text().splitlines()) if line.split() == words)
        file_name = Path(words[words.index("-f") + 1]).name
        message = line.split(" -m ", 1)[1]
        status = "SubmissionStatus.PENDING" if n == 0 and pending else "SubmissionStatus.COMPLETE"
        writer.writerow([1000 - n, file_name, "2026-11-25 12:00:00", message, status,
                         "" if status.endswith("PENDING") else score, ""])
else:
    print(f"unknown command {args}", file=sys.stderr)
    sys.exit(2)
