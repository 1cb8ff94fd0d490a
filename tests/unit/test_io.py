import os
import signal
import subprocess
import sys
import time

import pytest

from fasthf.io import atomic_dir, atomic_path


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("{}")
            raise RuntimeError("crash")
    assert not (tmp_path / "model").exists()
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "config.json").write_text("{}")
    assert os.listdir(tmp_path / "model") == ["config.json"]


def test_sigkill_while_writing_leaves_no_file_under_the_real_name(tmp_path):
    target = tmp_path / "model.safetensors"
    writer = subprocess.Popen([sys.executable, "-c", f"""
import time
from fasthf.io import atomic_path
with atomic_path({str(target)!r}) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"x" * 1000); f.flush()
        print("writing", flush=True)
        time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    time.sleep(0.1)
    assert not target.exists()
