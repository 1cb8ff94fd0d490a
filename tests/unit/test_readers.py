"""Competition files other than CSV/TSV (JSON, JSON Lines, Parquet, quoted TSV), JSON cells, and joins
across files: each form read as text, each bad input refused in one sentence naming file and place."""
import json

import pandas as pd
import pytest

from archives import write_zip
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError, place_of
from fasthf.inputs.readers import read_file

FILES = {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv"}


def competition(**given) -> Competition:
    return Competition.from_config({"slug": "x", "files": dict(FILES), **given})


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# -- the forms --------------------------------------------------------------------------------------

def test_json_records_become_text_values(tmp_path):
    path = write(tmp_path / "train.json", json.dumps([
        {"id": "a", "text": "hi", "label": True, "score": 1, "tags": ["x", "y"], "meta": {"k": None}, "n": None},
        {"id": "b", "text": "NA", "label": False, "score": -2.5, "tags": [], "meta": {}, "n": "null"},
    ]).replace("-2.5", "-2.50"))
    frame = read_file(path, ["id", "text", "label"], optional=["score", "tags", "meta", "n", "absent"])
    assert list(frame.columns) == ["id", "text", "label", "score", "tags", "meta", "n"]
    assert frame.to_dict("list") == {"id": ["a", "b"], "text": ["hi", "NA"], "label": ["1", "0"],
                                     "score": ["1", "-2.50"], "tags": ['["x", "y"]', "[]"],
                                     "meta": ['{"k": null}', "{}"], "n": ["", "null"]}
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
    assert [place_of(frame, row) for row in range(2)] == ["record 1", "record 2"]
    assert frame.attrs["header"] == ["id", "text", "label", "score", "tags", "meta", "n"]


def test_json_lines_name_their_lines_and_skip_blank_ones(tmp_path):
    records = "\n".join(json.dumps({"id": i, "text": t}) for i, t in ((1, "one"), (2, "two")))
    for name in ("train.jsonl", "train.json"):  # JSON Lines named .json is read as JSON Lines
        path = write(tmp_path / name, "\n" + records.replace("\n", "\n\n") + "\n")
        frame = read_file(path, ["id", "text"])
        assert frame.to_dict("list") == {"id": ["1", "2"], "text": ["one", "two"]}
        assert [place_of(frame, row) for row in range(2)] == ["line 2", "line 4"]


def test_parquet_values_become_text_and_rows_are_numbered(tmp_path):
    path = tmp_path / "train.parquet"
    frame = pd.DataFrame({"id": [7, 8], "text": ["a", None], "flag": [True, False], "score": [0.5, None],
                          "tags": [["x"], []]})
    frame["id"] = frame["id"].astype("Int64")
    frame.to_parquet(path)
    read = read_file(path, ["id", "text", "flag"], optional=["score", "tags"])
    assert read.to_dict("list") == {"id": ["7", "8"], "text": ["a", ""], "flag": ["1", "0"], "score": ["0.5", ""],
                                    "tags": ['["x"]', "[]"]}
    assert [place_of(read, row) for row in range(2)] == ["row 1", "row 2"]
    with pytest.raises(DataError, match=r"train\.parquet: missing column\(s\) \['label'\] \(competition\.target: "
                                        r"'label'\); found \['id', 'text', 'flag', 'score', 'tags'\]"):
        read_file(path, ["id", "label"], roles={"label": "target"})


def test_quoted_tsv_is_read_with_tsv_quoted(tmp_path):
    texts = ['say "hi"', "a\ttab", "two\nlines"]
    path = tmp_path / "train.tsv"
    pd.DataFrame({"id": ["1", "2", "3"], "text": texts}).to_csv(path, sep="\t", index=False)
    frame = competition(tsv_quoted=True, target=[], text="text").read_test(path)
    assert frame["text"].tolist() == texts
    assert [place_of(frame, row) for row in range(3)] == ["line 2", "line 3", "line 4"]
    with pytest.raises(DataError, match="field"):  # unquoted (the default), the tab inside a text splits the line
        competition(text="text").read_test(path)


# -- refused forms ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, message", [
    ("train.json", "id,text\n1,a\n", r"train\.json: line 1, column 1: not JSON \(Expecting value\); the file is cut "
                                     r"or is not a JSON file: download it again"),
    ("train.json", '{"id": [1, 2], "text": ["a", "b"]}', r"train\.json: holds a JSON object, not a list of records; "
                                                          r"a \.json competition file must be an array of objects"),
    ("train.json", '[{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, ["3", "c"]]',
     r"train\.json: record 3 is a JSON array, not an object of fields; .*: fix or remove that record"),
    ("train.json", '[{"id": 1, "text": "a"}, {"id": 2}]', r"train\.json: record 2: no field 'text' \(competition\."
                                                          r"text: 'text'\); every record needs it"),
    ("train.json", '[{"id": 1}]', r"train\.json: missing field\(s\) \['text'\] \(competition\.text: 'text'\); its "
                                  r"records hold \['id'\]"),
    ("train.json", "[]", r"train\.json: holds no records"),
    ("train.json", "  \n", r"train\.json: the file is empty"),
    ("train.jsonl", '{"id": 1, "text": "a"}\n\n"just text"\n', r"train\.jsonl: line 3 holds a JSON string, not an "
                                                               r"object of fields; each line of a JSON Lines file"),
    ("train.jsonl", '{"id": 1, "text": "a"}\n{"id": 2, "text": \n', r"train\.jsonl: line 2: not JSON \(Expecting "
                                                                    r"value, column 19\); .*fix or remove that line"),
    ("train.parquet", "not parquet", r"train\.parquet: cannot be read as Parquet \(.*\); the file is cut or is not "
                                     r"a Parquet file: download it again"),
])
def test_bad_files_are_refused_naming_file_and_place(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message):
        competition(text="text", target=[]).read_test(path)


# -- JSON cells -------------------------------------------------------------------------------------

def test_json_cells_become_text(tmp_path):
    rows = pd.DataFrame({
        "id": ["1", "2", "3", "4"],
        "prompt": ['["Hi", "and then?"]', '["one", null]', '"just a string"', ""],
        "boilerplate": ['{"title": "T", "body": "B\\nb", "url": "u"}', '{"title": null, "body": "B2"}',
                        '{"body": 1.50, "title": true}', "{}"],
    })
    rows.to_csv(tmp_path / "test.csv", index=False)
    chosen = competition(text=["prompt", "boilerplate"], target=[],
                         json_cells={"prompt": None, "boilerplate": ["title", "body"]})
    frame = chosen.read_test(tmp_path / "test.csv")
    assert frame["prompt"].tolist() == ["Hi\n\nand then?", "one\n\n", "just a string", ""]
    assert frame["boilerplate"].tolist() == ["title: T\nbody: B\nb", "body: B2", "title: true\nbody: 1.50", ""]
    everything = competition(text=["boilerplate"], target=[], json_cells={"boilerplate": None})
    assert everything.read_test(tmp_path / "test.csv")["boilerplate"][0] == "title: T\nbody: B\nb\nurl: u"
    assert chosen.joined_texts(frame)[0] == "Hi\n\nand then? | boilerplate: title: T\nbody: B\nb"


def test_a_json_cell_that_does_not_parse_is_refused(tmp_path):
    write(tmp_path / "test.csv", 'id,prompt\n1,"[""a""]"\n2,"[""b"", oops]"\n')
    chosen = competition(text="prompt", target=[], json_cells={"prompt": None})
    with pytest.raises(DataError, match=r"test\.csv: line 3: column 'prompt': '\[\"b\", oops\]' is not JSON \(Expecting "
                                        r"value\); competition\.json_cells says its cells hold JSON: fix that cell, or "
                                        r"take 'prompt' out of json_cells"):
        chosen.read_test(tmp_path / "test.csv")
    write(tmp_path / "test.json", json.dumps([{"id": 1, "prompt": '["a"]'}, {"id": 2, "prompt": "[oops"}]))
    with pytest.raises(DataError, match=r"test\.json: record 2: column 'prompt': '\[oops' is not JSON"):
        chosen.read_test(tmp_path / "test.json")


# -- joins ------------------------------------------------------------------------------------------

NOTES = {**FILES, "notes": "notes.csv"}


def joined(**given) -> Competition:
    return Competition.from_config({"slug": "x", "files": dict(NOTES), "text": "feature", "text_pair": "history",
                                    "target": "label", "joins": [{"file": "notes", "on": "pn", "columns": ["history"]}],
                                    **given})


def test_joined_columns_come_from_the_other_file_beside_train_and_test(tmp_path):
    write(tmp_path / "train.csv", "id,pn,feature,label\n1,10,fever,1\n2,11,cough,0\n3,10,rash,1\n")
    write(tmp_path / "test.csv", "id,pn,feature\n4,11,pain\n")
    write(tmp_path / "notes.csv", 'pn,history,other\n11,"coughs, at night",x\n10,hot,y\n12,unused,z\n')
    chosen = joined()
    train = chosen.read_train(tmp_path / "train.csv")
    assert list(train.columns) == ["id", "feature", "history", "label", "pn"]
    assert train["history"].tolist() == ["hot", "coughs, at night", "hot"]
    assert [place_of(train, row) for row in range(3)] == ["line 2", "line 3", "line 4"]  # the train file's lines
    assert chosen.pairs(train) == ["hot", "coughs, at night", "hot"]
    assert chosen.read_test(tmp_path / "test.csv")["history"].tolist() == ["coughs, at night"]
    # Described and read back (competition.json, the inference package), it joins the same way.
    again = Competition.from_description(json.loads(json.dumps(chosen.describe())))
    assert again == chosen and again.read_test(tmp_path / "test.csv")["history"].tolist() == ["coughs, at night"]


def test_a_join_on_several_columns_and_a_json_notes_file(tmp_path):
    write(tmp_path / "test.csv", "id,case,pn,feature\n1,a,1,x\n2,b,1,y\n")
    write(tmp_path / "notes.json", json.dumps([{"case": "b", "pn": 1, "history": "B1"},
                                               {"case": "a", "pn": 1, "history": "A1"}]))
    chosen = joined(files={**FILES, "notes": "notes.json"},
                    joins=[{"file": "notes", "on": ["case", "pn"], "columns": ["history"]}])
    assert chosen.read_test(tmp_path / "test.csv")["history"].tolist() == ["A1", "B1"]


@pytest.mark.parametrize("notes, message", [
    ("pn,history\n10,hot\n", r"test\.csv: line 3: column 'pn': '11' is not in .*notes\.csv \(competition\.joins\[0\] "
                             r"joins notes\.csv on \['pn'\]\); each row needs one row there with its key"),
    ("pn,history\n10,hot\n11,a\n\n11,b\n", r"test\.csv: line 3: column 'pn': '11' is found 2 times in .*notes\.csv "
                                           r"\(line 3 and line 5\); competition\.joins\[0\] needs each key once there"),
    ("pn,story\n10,hot\n", r"notes\.csv: line 1: missing column\(s\) \['history'\] \(competition\.joins\[0\]\.columns: "
                           r"'history'\)"),
])
def test_join_keys_absent_or_repeated_are_refused(tmp_path, notes, message):
    write(tmp_path / "test.csv", "id,pn,feature\n1,10,a\n2,11,b\n")
    write(tmp_path / "notes.csv", notes)
    with pytest.raises(DataError, match=message):
        joined().read_test(tmp_path / "test.csv")


def test_join_refusals_before_reading(tmp_path):
    write(tmp_path / "test.csv", "id,feature\n1,a\n")
    with pytest.raises(DataError, match=r"test\.csv: line 1: missing column\(s\) \['pn'\] \(competition\.joins\[0\]\."
                                        r"on: 'pn'\)"):
        joined().read_test(tmp_path / "test.csv")
    write(tmp_path / "test.csv", "id,pn,feature\n1,10,a\n")
    with pytest.raises(DataError, match=r"test\.csv: competition\.joins\[0\] joins notes\.csv \(files\.notes\), which "
                                        r"is not beside it \(.*notes\.csv not found\); keep the competition's files"):
        joined().read_test(tmp_path / "test.csv")
    write(tmp_path / "test.csv", "id,pn,feature,history\n1,10,a,h\n")
    write(tmp_path / "notes.csv", "pn,history\n10,hot\n")
    with pytest.raises(DataError, match=r"test\.csv: has the column\(s\) \['history'\] that competition\.joins\[0\] "
                                        r"also brings from notes\.csv"):
        joined().read_test(tmp_path / "test.csv")


@pytest.mark.parametrize("joins, message", [
    ([{"file": "train", "on": "pn", "columns": ["history"]}], r"competition\.joins\[0\]\.file: 'train'; name a key of "
                                                               r"competition\.files other than train"),
    ([{"file": "notes", "on": "pn", "columns": []}], r"competition\.joins\[0\]: give the key column\(s\) `on`"),
    ([{"file": "notes", "on": "pn", "columns": ["pn", "history"]}], r"\['pn'\] are the key the rows are joined on"),
    ([{"file": "notes", "on": "pn", "columns": ["history"]}, {"file": "notes", "on": "pn", "columns": ["history"]}],
     r"competition\.joins\[1\]: brings 'history', which competition\.joins\[0\] brings too"),
    ([{"file": "notes", "columns": ["history"]}], r"competition\.joins\[0\]: .*give \{file: <key of competition\.files>"),
])
def test_malformed_joins_are_refused(joins, message):
    with pytest.raises(ValueError, match=message):
        joined(joins=joins)


def test_yaml_reads_a_bare_on_as_true_and_the_join_takes_it():
    import yaml

    value = yaml.safe_load("slug: x\nfiles: {train: train.csv, test: test.csv, sample_submission: s.csv, notes: n.csv}\n"
                           "text: feature\njoins: [{file: notes, on: pn, columns: [history]}]\n")
    assert Competition.from_config(value).joins == ({"file": "notes", "on": ["pn"], "columns": ["history"]},)


# -- through the archive ----------------------------------------------------------------------------


def test_archive_of_json_train_and_test_with_a_csv_sample(tmp_path):
    pizza = Competition.from_config({
        "slug": "random-acts-of-pizza", "id": "request_id", "text": ["request_title", "request_text_edit_aware"],
        "target": "requester_received_pizza", "metric": "roc_auc",
        "files": {"train": "train.json", "test": "test.json", "sample_submission": "sampleSubmission.csv"}})
    train = [{"request_id": f"t3_{i}", "request_title": f"title {i}", "request_text_edit_aware": f"text {i}",
              "requester_received_pizza": i % 3 == 0, "requester_upvotes": i} for i in range(6)]
    test = [{"request_id": f"t3_x{i}", "request_title": f"t{i}", "request_text_edit_aware": f"x{i}"} for i in range(2)]
    archive = write_zip(tmp_path / "pizza.zip", {
        "train.json": json.dumps(train, indent=4), "test.json": json.dumps(test),
        "sampleSubmission.csv": "request_id,requester_received_pizza\nt3_x0,0\nt3_x1,0\n"})
    paths = extract_competition(archive, tmp_path / "data", pizza)
    loaded, task = Competition.load(paths["competition"])
    assert task.kind == "binary" and [str(c) for c in task.classes] == ["0", "1"]
    assert pizza.submission_form(task) == "probabilities"
    assert loaded.read_train(paths["train"])["requester_received_pizza"].tolist() == ["1", "0", "0", "1", "0", "0"]


def test_archive_with_a_joined_notes_file_and_its_refusals(tmp_path):
    chosen = joined()
    members = {"data/train.csv": "id,pn,feature,label\n1,10,fever,1\n2,11,cough,0\n3,10,rash,1\n4,11,ache,0\n",
               "data/test.csv": "id,pn,feature\n5,11,pain\n",
               "data/sample_submission.csv": "id,label\n5,0\n",
               "other/notes.csv": "pn,history\n10,hot\n11,cold\n"}  # not beside train: found in the archive all the same
    paths = extract_competition(write_zip(tmp_path / "a.zip", members), tmp_path / "data", chosen)
    assert paths["notes"] == tmp_path / "data" / "notes.csv" and paths["notes"].is_file()
    assert chosen.read_train(paths["train"])["history"].tolist() == ["hot", "cold", "hot", "cold"]
    members["other/notes.csv"] = "pn,history\n10,hot\n"
    with pytest.raises(DataError, match=r"^data/train\.csv \(in .*a2\.zip\): line 3: column 'pn': '11' is not in "
                                        r"other/notes\.csv \(in .*a2\.zip\) \(competition\.joins\[0\]"):
        extract_competition(write_zip(tmp_path / "a2.zip", members), tmp_path / "data2", chosen)
    del members["other/notes.csv"]
    with pytest.raises(DataError, match=r"does not contain \['notes\.csv'\]"):
        extract_competition(write_zip(tmp_path / "a3.zip", members), tmp_path / "data3", chosen)
