"""The pipeline's configuration: what the command line means by `null`, and checks the schema cannot make."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

NULL_WORDS = {"null", "none", "~", ""}
# `mixed_precision` (config) and `--precision` (fasthf predict, apply-package); here, so the command line parses
# its arguments without importing torch
PRECISION_SETTINGS = ("auto", "no", "bf16", "fp16")


def nullable_keys(schema_path: str | Path) -> set[str]:
    """Top-level keys whose schema type allows null."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    return {key for key, spec in schema.get("properties", {}).items()
            if "null" in (spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")])}


def nulls_from_command_line(config: dict, schema_path: str | Path) -> list[str]:
    """Turn the text `null` into None for keys that may be null, in place; returns the keys changed.

    `snakemake --config archive=null` passes the string "null", which would otherwise be taken for a
    file called null (or a results folder called null).
    """
    changed = []
    for key in sorted(nullable_keys(schema_path)):
        value = config.get(key)
        if isinstance(value, str) and value.strip().lower() in NULL_WORDS:
            config[key] = None
            changed.append(key)
    return changed


def booleans_from_command_line(config: dict, schema_path: str | Path) -> list[str]:
    """Turn the text `true` / `false` into a boolean for top-level boolean keys, in place; returns the keys
    changed. `snakemake --config duel_swap=true` passes the string "true", which the schema refuses."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    words = {"true": True, "yes": True, "false": False, "no": False}
    changed = []
    for key, spec in sorted(schema.get("properties", {}).items()):
        value = config.get(key)
        if spec.get("type") == "boolean" and isinstance(value, str) and value.strip().lower() in words:
            config[key] = words[value.strip().lower()]
            changed.append(key)
    return changed


class StageError(ValueError):
    """A stage the model cannot run; the message names the config key."""


def check_freeze_to(freeze_to: int, n_groups: int, key: str) -> None:
    """fastai's `freeze_to(n)` with |n| beyond the layer groups would quietly train everything."""
    if freeze_to < -(n_groups - 1):
        raise StageError(f"{key}.freeze_to is {freeze_to}, but this model has {n_groups} layer groups "
                         f"(embeddings, {n_groups - 2} layers, head): use -1 (head only) to -{n_groups - 1}, or 0 "
                         f"for everything")


def model_slug(name: str) -> str:
    """A folder name for a model name: `roberta-base`, `org/model` -> `org--model`, `pkg:x` -> `x`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name.removeprefix("pkg:")).strip("-.") or "model"


def ensemble_members(config: dict) -> list[dict]:
    """The members as config names them, each with its name, model, stages and seeds filled in.

    Without `members`, the ensemble is one member: `model` with the top-level `stages` and `seed`.
    """
    entries = config.get("members") or [{"model": config["model"]}]
    members = []
    for i, entry in enumerate(entries):
        member = {"name": entry.get("name") or model_slug(entry["model"]), "model": entry["model"],
                  "stages": entry.get("stages") or config["stages"], "seeds": entry.get("seeds") or [config["seed"]]}
        if len(set(member["seeds"])) != len(member["seeds"]):
            raise ValueError(f"members[{i}].seeds repeats a seed: {member['seeds']}")
        members.append(member)
    names = [m["name"] for m in members]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"members: the name(s) {repeated} are used twice; give each member its own `name`")
    taken = sorted(set(names) & {"ensemble", "logs", "bundle"})
    if taken:
        raise ValueError(f"members: {taken} is a folder of the results already (the blend, the logs, the "
                         f"bundle); name the member otherwise")
    return members
