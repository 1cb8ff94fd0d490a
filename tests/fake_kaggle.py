"""Stand-in for the `kaggle` CLI in tests: records each call, can fail transiently, fakes downloads.

FAKE_KAGGLE_CALLS   file that gets one line per call: the arguments, space-joined
FAKE_KAGGLE_FAILS   how many calls fail first with a connection error (counted in FAKE_KAGGLE_CALLS)
FAKE_KAGGLE_ARCHIVE zip copied into the -p folder on `competitions download`
FAKE_KAGGLE_SCORE   public score `competitions submissions` reports for the last submission, once it has
                    been listed FAKE_KAGGLE_PENDING times (default 0) as pending; "never": always pending

The code-competition calls are checked as the CLI 2.2.5 checks them (kaggle_api_extended.py) and answered
in its words; what was created and pushed is kept in FAKE_KAGGLE_CALLS + ".state.json":
FAKE_KAGGLE_STATUSES what `kernels status` says of a pushed version, call after call (default
                    QUEUED,RUNNING,COMPLETE; the last one stays)
FAKE_KAGGLE_FAILURE the failure message `kernels status` gives with ERROR
FAKE_KAGGLE_PUSH_ERROR  `kernels push` prints "Kernel push error: <this>" (exit 0, as the CLI does)
FAKE_KAGGLE_CRASH_ON a call ("competitions submit") that fails once, as a lost connection would
"""
import csv
import json
import os
import re
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
state_file = Path(str(calls) + ".state.json")
state = json.loads(state_file.read_text()) if state_file.exists() else {"datasets": {}, "kernels": {}, "crashed": []}


def refuse(message):  # the CLI's ValueErrors end the command with exit 1
    print(message, file=sys.stderr)
    sys.exit(1)


def option(name, default=None):
    return args[args.index(name) + 1] if name in args else default


def check_ref(ref, what):
    if not re.fullmatch(r"[\w-]+/[\w-]+", ref or ""):
        refuse(f"Invalid {what} specification: {ref!r}")


def save():
    state_file.write_text(json.dumps(state))


crash = os.environ.get("FAKE_KAGGLE_CRASH_ON")
if crash and " ".join(args).startswith(crash) and crash not in state["crashed"]:
    state["crashed"].append(crash)
    save()
    refuse("403 Client Error: Forbidden")  # not a transient failure: the run stops here, as if it had crashed

if args[:2] in (["datasets", "create"], ["datasets", "version"]):
    folder = Path(option("-p", "."))
    if not folder.is_dir():
        refuse(f"Invalid folder: {folder}")
    meta = json.loads((folder / "dataset-metadata.json").read_text())
    ref, title, licenses = meta["id"], meta["title"], meta["licenses"]
    check_ref(ref, "dataset")
    if len(licenses) != 1:
        refuse("Please specify exactly one license")
    if not 6 <= len(ref.split("/")[1]) <= 50:
        refuse("The dataset slug must be between 6 and 50 characters")
    if not 6 <= len(title) <= 50:
        refuse("The dataset title must be between 6 and 50 characters")
    if any(p.is_dir() for p in folder.iterdir()) and option("-r", "skip") == "skip":
        refuse("subfolders are skipped without -r zip or -r tar")
    if args[1] == "create":
        if ref in state["datasets"]:
            print("Dataset creation error: The requested title is already in use by a dataset of yours")
            sys.exit(0)
        state["datasets"][ref] = 1
        print(f"Your private Dataset is being created. Please check progress at https://www.kaggle.com/datasets/{ref}")
    else:
        if ref not in state["datasets"]:
            print(f"Dataset version creation error: Dataset {ref} not found")
            sys.exit(0)
        state["datasets"][ref] += 1
        print(f"Dataset version is being created. Please check progress at https://www.kaggle.com/datasets/{ref}")
    save()
elif args[:2] == ["kernels", "push"]:
    folder = Path(option("-p", "."))
    meta_file = folder / "kernel-metadata.json"
    if not meta_file.is_file():
        refuse(f"Metadata file not found: {meta_file}")
    meta = json.loads(meta_file.read_text())
    if meta.get("title") and len(meta["title"]) < 5:
        refuse("Title must be at least five characters")
    if not meta.get("code_file"):
        refuse("A source file must be specified in the metadata")
    if not (folder / meta["code_file"]).is_file():
        refuse(f"Source file not found: {folder / meta['code_file']}")
    check_ref(meta.get("id"), "kernel")
    if meta.get("language") not in ("python", "r", "rmarkdown"):
        refuse("A valid language must be specified in the metadata. Valid options are ['python', 'r', 'rmarkdown']")
    if meta.get("kernel_type") not in ("script", "notebook"):
        refuse("A valid kernel type must be specified in the metadata. Valid options are ['script', 'notebook']")
    for source in meta.get("dataset_sources", []):
        check_ref(source, "dataset")
        if source not in state["datasets"]:
            print(f"The following are not valid dataset sources and could not be added to the kernel: ['{source}']")
    if os.environ.get("FAKE_KAGGLE_PUSH_ERROR"):
        print("Kernel push error: " + os.environ["FAKE_KAGGLE_PUSH_ERROR"])
        sys.exit(0)
    kernel = state["kernels"].setdefault(meta["id"], {"versions": 0, "status_calls": 0})
    kernel["versions"] += 1
    kernel["status_calls"] = 0
    save()
    print(f"Kernel version {kernel['versions']} successfully pushed.  Please check progress at "
          f"https://www.kaggle.com/code/{meta['id']}")
elif args[:2] == ["kernels", "status"]:
    ref = args[2]
    if ref not in state["kernels"]:
        refuse(f"404 Client Error: Not Found for kernel {ref}")
    kernel = state["kernels"][ref]
    statuses = os.environ.get("FAKE_KAGGLE_STATUSES", "QUEUED,RUNNING,COMPLETE").split(",")
    status = statuses[min(kernel["status_calls"], len(statuses) - 1)]
    kernel["status_calls"] += 1
    save()
    print(f'{ref} has status "KernelWorkerStatus.{status}"')
    if status == "ERROR":
        print(f'Failure message: "{os.environ.get("FAKE_KAGGLE_FAILURE", "")}"')
elif args[:2] == ["competitions", "submit"] and "-k" in args:
    kernel, version = option("-k"), option("-v")
    if not version:
        refuse("Code competition submissions require both the kernel name and the version number")
    if kernel not in state["kernels"] or not 1 <= int(version) <= state["kernels"][kernel]["versions"]:
        refuse(f"404 Client Error: no version {version} of {kernel}")
    print("Submission ref: 501")
    print("4 submissions remaining today.")
elif args[:2] == ["competitions", "download"]:
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
