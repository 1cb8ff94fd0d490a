"""A competition's description: each preset's fixture read and fitted, refusals in each competition's own
column names, and nothing written when a file is refused."""
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError
from fasthf.tasks import Classification
from presets import BENCHMARK_SLUGS, EXPECTED, FIXTURE, PRESETS, SLUGS, preset


@pytest.mark.parametrize("slug", [*SLUGS, *BENCHMARK_SLUGS])
def test_each_fixture_fits_its_preset_and_the_task_is_as_expected(slug, tmp_path):
    competition = preset(slug)
    paths = extract_competition(FIXTURE[slug], tmp_path, competition)
    described = json.loads(paths["competition"].read_text())
    kind, metric, form = EXPECTED[slug]
    assert (described["task"]["kind"], described["metric"]) == (kind, metric)
    _, task = Competition.load(paths["competition"])
    assert competition.submission_form(task) == form
    assert described["inferred"]  # what was inferred, or that the config said so


def test_string_labels_are_classes_in_sorted_order_and_the_sample_gives_their_columns(tmp_path):
    competition = preset("spooky-author-identification")
    paths = extract_competition(FIXTURE["spooky-author-identification"], tmp_path, competition)
    _, task = Competition.load(paths["competition"])
    assert isinstance(task, Classification) and task.classes == ["EAP", "HPL", "MWS"]
    assert json.loads(paths["competition"].read_text())["inferred"].startswith("task auto: multiclass, because "
                                                                               "'author' holds text: 3 distinct")


def rezip(archive: Path, out: Path, change) -> Path:
    """The fixture with one member's text changed (inner zips opened and closed again as they were)."""
    def rewrite(data: bytes) -> bytes:
        import io

        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buffer, "w") as zout:
            for item in zin.infolist():
                content = zin.read(item.filename)
                if item.filename.endswith(".zip"):
                    content = rewrite(content)
                elif item.filename.endswith(".csv"):
                    content = change(item.filename, content.decode()).encode()
                zout.writestr(item.filename, content)
        return buffer.getvalue()

    out.write_bytes(rewrite(archive.read_bytes()))
    return out


BAD_INPUTS = [
    ("spooky-author-identification", lambda name, text: text.replace('","EAP"\n', '","Poe"\n', 1) if name == "train.csv"
     else text, "spooky-author-identification.zip): line 2: column 'author': the label 'Poe' has no column in "
     "sample_submission.csv, whose answer columns are ['EAP', 'HPL', 'MWS']", "train.csv"),
    ("nlp-getting-started", lambda name, text: text.replace("id,keyword,location,text,target", "id,keyword,location,tweet,target")
     if name == "train.csv" else text, "missing column(s) ['text'] (competition.text: 'text')", "train.csv"),
    ("nlp-getting-started", lambda name, text: text.replace(",0\n", ",2\n", 1) if name == "train.csv" else text,
     "column 'target' holds 3 distinct labels [0, 1, 2], but competition.task is binary", "train.csv"),
    ("spooky-author-identification", lambda name, text: text.replace('"id","text","author"', '"id","text","writer"')
     if name == "train.csv" else text, "missing column(s) ['author'] (competition.target: 'author')", "train.csv"),
    ("jigsaw-toxic-comment-classification-challenge", lambda name, text: text.replace(",1\n", ",7\n", 1)
     if name == "train.csv" else text, "is not 0 or 1", "train.csv"),
    ("commonlitreadabilityprize", lambda name, text: text.replace("\n", "\n" + text.splitlines()[1].split(",")[0] + ",0.0\n", 1)
     if name == "sample_submission.csv" else text, "appears twice", "sample_submission.csv"),
    ("commonlitreadabilityprize", lambda name, text: text.replace("id,url_legal,license,excerpt\n", "id,url_legal,license,excerpt,author\n")
     .replace("\n\n", "\n") if name == "test.csv" else text, "has column(s) ['author'] that train.csv lacks", "commonlitreadabilityprize"),
    ("spooky-author-identification", lambda name, text: "\n".join(text.splitlines()[:-1]) + "\n" if name == "sample_submission.csv" else text,
     "test.csv and sample_submission.csv list different ids", "spooky"),
]


@pytest.mark.parametrize("slug, change, message, names", BAD_INPUTS, ids=[m for _, _, m, _ in BAD_INPUTS])
def test_bad_input_is_one_sentence_in_the_competitions_names_and_nothing_is_written(slug, change, message, names, tmp_path):
    archive = rezip(FIXTURE[slug], tmp_path / f"{slug}.zip", change)
    dest = tmp_path / "data"
    with pytest.raises(DataError) as error:
        extract_competition(archive, dest, preset(slug))
    text = str(error.value)
    assert message in text and names in text and "\n" not in text, text
    assert not dest.exists() or not any(dest.iterdir())


def test_a_metric_the_task_cannot_take_is_refused_naming_the_key(tmp_path):
    competition = Competition.from_config({**yaml.safe_load((PRESETS / "commonlitreadabilityprize.yaml").read_text())
                                           ["competition"], "metric": "f1"})
    with pytest.raises(ValueError, match="competition.metric: f1 does not score a regression task"):
        extract_competition(FIXTURE["commonlitreadabilityprize"], tmp_path / "data", competition)
    assert not (tmp_path / "data" / "competition.json").exists()


def test_the_route_is_file_or_notebook_and_travels_in_the_description():
    with pytest.raises(ValueError, match="competition.route: 'kernel'; use file .* or notebook"):
        Competition.from_config({"slug": "x", "route": "kernel"})
    code = preset("commonlitreadabilityprize")
    assert code.route == "notebook" and preset("spooky-author-identification").route == "file"
    assert Competition.from_description(json.loads(json.dumps(code.describe()))) == code
