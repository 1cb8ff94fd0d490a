"""The script the kernel folder holds, run as Kaggle runs it (a fresh process, the input tree named by
FASTHF_KAGGLE_INPUT): it finds the competition under either of Kaggle's layouts, and each problem it meets
ends it with one sentence."""
import importlib.util
import json
import subprocess
import sys

import pytest

from fasthf import __version__
from fasthf.inputs.task_inference import fit_task
from fasthf.routes.kernels import SCRIPT, write_kernel_folder
from fasthf.routes.package import PACKAGE_JSON
from presets import preset

SLUG = "commonlitreadabilityprize"
COMPETITION = preset(SLUG)
TASK = fit_task("regression", None, list(COMPETITION.target))
TEST = "id,url_legal,license,excerpt\nabc,,,One short excerpt.\n"
SAMPLE = "id,target\nabc,0.0\n"


@pytest.fixture
def script(tmp_path):
    return write_kernel_folder(tmp_path / "kernel", SLUG, "someone", gpu=False) / SCRIPT


def input_tree(root, layout=("competitions", SLUG), package_info=None, test=TEST):
    competition = root.joinpath(*layout)
    competition.mkdir(parents=True)
    (competition / "test.csv").write_text(test)
    (competition / "sample_submission.csv").write_text(SAMPLE)
    package = root / "datasets" / "someone" / "fasthf-package"
    package.mkdir(parents=True)
    info = {"fasthf": __version__, "wheel": f"fasthf-{__version__}-py3-none-any.whl", "competition": COMPETITION.describe(),
            "task": TASK.describe(), "members": {"m": {"max_length": 64, "weight": 1.0}}, "chains": [],
            "prediction": {"batch_size": 8, "mixed_precision": "no"}, "decision": None, "memory": False}
    (package / PACKAGE_JSON).write_text(json.dumps({**info, **(package_info or {})}))
    return root


def run(script, root, tmp_path):
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={"FASTHF_KAGGLE_INPUT": str(root), "FASTHF_KAGGLE_WORKING": str(tmp_path / "working"),
                               "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


def last_line(done):
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("layout", [("competitions", SLUG), (SLUG,)])
def test_the_competition_is_found_in_either_of_kaggles_layouts(script, tmp_path, layout):
    spec = importlib.util.spec_from_file_location("kernel_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = input_tree(tmp_path / "input", layout)
    assert module.find_competition(root, COMPETITION.files) == root.joinpath(*layout)
    assert module.find_package(root) == root / "datasets" / "someone" / "fasthf-package"


def test_missing_competition_files_are_one_sentence(script, tmp_path):
    root = input_tree(tmp_path / "input")
    (root / "competitions" / SLUG / "test.csv").unlink()
    assert last_line(run(script, root, tmp_path)) == (
        f"fasthf: the competition's test.csv and sample_submission.csv are not under {root}: add the competition "
        f"{SLUG} as an input of this notebook")


def test_no_package_is_one_sentence(script, tmp_path):
    (tmp_path / "input").mkdir()
    assert "no fasthf inference package (fasthf-package.json) under" in last_line(run(script, tmp_path / "input", tmp_path))


def test_a_package_of_another_fasthf_version_is_refused(script, tmp_path):
    root = input_tree(tmp_path / "input", package_info={"fasthf": "0.0.9"})
    assert last_line(run(script, root, tmp_path)) == (
        f"fasthf: the package holds fasthf 0.0.9 but this script was written by fasthf {__version__}: push the kernel "
        f"folder and the package of one run together")


def test_a_package_of_another_competition_is_refused(script, tmp_path):
    root = input_tree(tmp_path / "input", package_info={"competition": {**COMPETITION.describe(), "slug": "other-one"}})
    assert f"is for the competition other-one, this notebook for {SLUG}" in last_line(run(script, root, tmp_path))


def test_a_test_file_without_the_text_column_is_one_sentence(script, tmp_path):
    root = input_tree(tmp_path / "input", test="id,url_legal,license,passage\nabc,,,One short excerpt.\n")
    line = last_line(run(script, root, tmp_path))
    assert "test.csv: line 1: missing column(s) ['excerpt'] (competition.text: 'excerpt')" in line
    assert not (tmp_path / "working" / "submission.csv").exists()


def test_folders_the_upload_zipped_are_unpacked_into_the_working_folder(script, tmp_path):
    import shutil

    spec = importlib.util.spec_from_file_location("kernel_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    package = tmp_path / "package"
    for name in ("models/chain-a", "tokenizers/m"):
        (package / name).mkdir(parents=True)
        (package / name / "config.json").write_text("{}")
    (package / PACKAGE_JSON).write_text("{}")
    for name in ("models", "tokenizers"):  # as `kaggle datasets create -r zip` uploads them
        shutil.make_archive(str(package / name), "zip", package / name)
        shutil.rmtree(package / name)
    found = module.unpacked(package, tmp_path / "working")
    assert found == tmp_path / "working" / "fasthf-package"
    assert (found / "models" / "chain-a" / "config.json").is_file() and (found / "tokenizers" / "m" / "config.json").is_file()
    assert (found / PACKAGE_JSON).is_file() and module.unpacked(found, tmp_path / "elsewhere") == found
