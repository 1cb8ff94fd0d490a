"""The pipeline's configuration: what the command line means by `null`, and checks the schema cannot make."""
from __future__ import annotations

from pathlib import Path

import yaml

NULL_WORDS = {"null", "none", "~", ""}


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


class StageError(ValueError):
    """A stage the model cannot run; the message names the config key."""


def check_freeze_to(freeze_to: int, n_groups: int, key: str) -> None:
    """fastai's `freeze_to(n)` with |n| beyond the layer groups would quietly train everything."""
    if freeze_to < -(n_groups - 1):
        raise StageError(f"{key}.freeze_to is {freeze_to}, but this model has {n_groups} layer groups "
                         f"(embeddings, {n_groups - 2} layers, head): use -1 (head only) to -{n_groups - 1}, or 0 "
                         f"for everything")
