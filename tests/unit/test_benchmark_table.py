"""docs/competitions.md's table of the benchmarks' text competitions says what the repository holds: each
competition it calls a preset has its preset and fixture, each preset is in the table, and the count
line counts the rows."""
import re

from helpers import REPO

DOC = REPO / "docs" / "competitions.md"
PRESETS = REPO / "config" / "competitions"
# presets of competitions neither benchmark holds (no mlebench/competitions/<slug>, no mledojo/competitions/<slug>)
OUTSIDE_BENCHMARKS = {"sentiment-analysis-on-movie-reviews", "pii-detection-removal-from-educational-data",
                      "feedback-prize-2021"}


def table_rows() -> dict[str, str]:
    text = DOC.read_text().split("## The benchmarks' text competitions", 1)[1]
    rows = [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    return {slug.strip(): how.strip() for slug, how in rows[1:]}


def test_each_competition_called_a_preset_has_its_preset_and_fixture_and_each_preset_is_listed():
    rows = table_rows()
    called = {slug for slug, how in rows.items() if how == "preset"}
    for slug in called:
        assert (PRESETS / f"{slug}.yaml").is_file(), slug
        assert (REPO / "tests" / "fixtures" / f"{slug}.zip").is_file(), slug
    presets = {p.stem for p in PRESETS.glob("*.yaml")} - OUTSIDE_BENCHMARKS
    assert presets == called


def test_the_count_line_counts_the_rows():
    rows = table_rows()
    line = re.search(r"benchmark-count: (\d+) of (\d+) entered \((\d+) by a preset, (\d+) by config\); (\d+) not "
                     r"entered", DOC.read_text())
    entered, total, presets, configs, missing = map(int, line.groups())
    kinds = list(rows.values())
    assert (presets, configs, missing) == (kinds.count("preset"), kinds.count("config"), kinds.count("not entered"))
    assert entered == presets + configs and total == len(rows) == entered + missing
