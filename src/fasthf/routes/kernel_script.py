# fasthf submission script for a Kaggle code competition, written by fasthf's `kernel` rule.
# It runs where Kaggle runs the notebook, with the internet off: it finds the competition's files and
# the fasthf inference package under the input folder, installs fasthf from the package's wheel (no
# dependencies, no index: Kaggle's own torch and transformers stay) unless the same version is already
# importable, and writes submission.csv to the working folder.
#
# Run it locally before pushing it, as Kaggle would:
#   FASTHF_KAGGLE_INPUT=<a folder laid out as /kaggle/input> FASTHF_KAGGLE_WORKING=<out> python <this file>
import importlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

SLUG = "__SLUG__"
FASTHF_VERSION = "__FASTHF_VERSION__"
PACKAGE_JSON = "fasthf-package.json"
DEPTH = 5  # how deep under the input folder files are looked for


def say(message):
    print(f"{time.strftime('%H:%M:%S')} fasthf: {message}", flush=True)


def fail(message):
    print(f"fasthf: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def folders(root, depth=DEPTH):
    """`root` and the folders under it, breadth first, `depth` levels at most."""
    level = [root]
    for _ in range(depth + 1):
        yield from level
        level = sorted(child for folder in level for child in folder.iterdir() if child.is_dir())


def find_package(root):
    found = [folder for folder in folders(root) if (folder / PACKAGE_JSON).is_file()]
    if not found:
        fail(f"no fasthf inference package ({PACKAGE_JSON}) under {root}: add the package's dataset as an input "
             f"of this notebook")
    ours = [folder for folder in found if json.loads((folder / PACKAGE_JSON).read_text())["competition"]["slug"] == SLUG]
    if not ours:
        other = json.loads((found[0] / PACKAGE_JSON).read_text())["competition"]["slug"]
        fail(f"the package under {found[0]} is for the competition {other}, this notebook for {SLUG}: add the "
             f"package of a {SLUG} run")
    return ours[0]


def unpacked(package, working):
    """The package with its folders: `kaggle datasets create -r zip` uploads each folder as <folder>.zip, which
    a dataset may keep as it is; those are unpacked into the working folder, beside copies of the rest."""
    zipped = [name for name in ("models", "tokenizers") if not (package / name).is_dir() and (package / f"{name}.zip").is_file()]
    if not zipped:
        return package
    import shutil
    import zipfile

    copy = working / "fasthf-package"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    for path in package.iterdir():
        if path.is_file() and path.suffix != ".zip":
            shutil.copy2(path, copy / path.name)
        elif path.is_dir():
            shutil.copytree(path, copy / path.name)
    for name in zipped:
        say(f"unpacking {name}.zip")
        with zipfile.ZipFile(package / f"{name}.zip") as archive:
            archive.extractall(copy / name)
    return copy


def find_competition(root, files):
    """The competition's folder: Kaggle mounts it as competitions/<slug>/ (newer) or <slug>/ (older). It holds
    the test file, the sample and the files joined to the test rows (competition.joins), read from there."""
    wanted = [name for key, name in files.items() if key != "train"]
    preferred = [root / "competitions" / SLUG, root / SLUG]
    for folder in [*preferred, *folders(root)]:
        if all((folder / name).is_dir() if name.endswith("/") else (folder / name).is_file() for name in wanted):
            return folder
    fail(f"the competition's {' and '.join(wanted)} are not under {root}: add the competition {SLUG} as an input "
         f"of this notebook")


def ensure_fasthf(package, info):
    if info["fasthf"] != FASTHF_VERSION:
        fail(f"the package holds fasthf {info['fasthf']} but this script was written by fasthf {FASTHF_VERSION}: push "
             f"the kernel folder and the package of one run together")
    try:
        import fasthf

        if fasthf.__version__ == FASTHF_VERSION:
            say(f"fasthf {FASTHF_VERSION} is importable already ({Path(fasthf.__file__).parent})")
            return
    except ImportError:
        pass
    wheel = package / info["wheel"]
    if not wheel.is_file():
        fail(f"{wheel} is missing from the package: build the package again")
    say(f"installing {wheel.name} (no dependencies, no index)")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"pip could not install {wheel.name}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
    importlib.invalidate_caches()
    sys.modules.pop("fasthf", None)


def main():
    started = time.time()
    root = Path(os.environ.get("FASTHF_KAGGLE_INPUT", "/kaggle/input"))
    working = Path(os.environ.get("FASTHF_KAGGLE_WORKING", "/kaggle/working"))
    if not root.is_dir():
        fail(f"the input folder {root} does not exist (FASTHF_KAGGLE_INPUT names another one)")
    package = unpacked(find_package(root), working)
    info = json.loads((package / PACKAGE_JSON).read_text())
    say(f"package {package}: {len(info['chains'])} chain(s) of {', '.join(info['members'])}")
    ensure_fasthf(package, info)
    competition = find_competition(root, info["competition"]["files"])
    say(f"competition files in {competition}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fasthf: %(message)s", datefmt="%H:%M:%S")
    from fasthf.logs import quiet_progress_bars
    from fasthf.routes.package import apply_package

    quiet_progress_bars()

    working.mkdir(parents=True, exist_ok=True)
    out = working / "submission.csv"
    try:
        submission = apply_package(package, competition / info["competition"]["files"]["test"],
                                   competition / info["competition"]["files"]["sample_submission"], out)
    except (ValueError, OSError) as error:  # fasthf's errors name the file, the line and what to do
        fail(str(error))
    say(f"wrote {out}: {len(submission)} rows in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
