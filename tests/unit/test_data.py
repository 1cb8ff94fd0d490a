import pytest

from helpers import read_test, read_train, sentiment
from fasthf.inputs.data import DataError


def write_tsv(path, text):
    path.write_text(text)
    return path


def test_phrases_that_look_like_missing_values_stay_text(tmp_path):
    path = write_tsv(tmp_path / "test.tsv", "PhraseId\tSentenceId\tPhrase\n1\t1\tNone\n2\t1\tNA\n"
                                            "3\t1\tnull\n4\t1\tnan\n5\t2\t \n6\t2\t\n")
    frame = read_test(path)
    assert frame.Phrase.tolist() == ["None", "NA", "null", "nan", " ", ""]
    assert frame.Phrase.map(type).eq(str).all()


def test_fixture_keeps_the_real_none_and_empty_phrases(competition_files):
    test = read_test(competition_files["test"])
    assert "None" in set(test.Phrase)
    assert (test.Phrase.str.strip() == "").any()
    train = read_train(competition_files["train"])
    assert len(train) > 2000 and set(train.Sentiment) == {0, 1, 2, 3, 4}


def test_missing_column_is_named(tmp_path):
    path = write_tsv(tmp_path / "train.tsv", "PhraseId\tSentenceId\tText\tSentiment\n1\t1\ta\t2\n")
    with pytest.raises(DataError, match=r"train\.tsv.*missing column.*'Phrase'"):
        read_train(path)


def test_csv_rows_are_named_by_the_line_they_start_on(tmp_path):
    from fasthf.inputs.data import line_of, read_csv_table

    path = tmp_path / "train.csv"
    path.write_text('id,text,label\n1,"two\nlines",0\n\n   \n2,plain,1\n3,"x",oops\n')
    frame = read_csv_table(path, ["id", "text", "label"])
    assert frame.text.tolist() == ["two\nlines", "plain", "x"]
    assert [line_of(frame, row) for row in range(len(frame))] == [2, 6, 7]  # not the record's place (2, 3, 4)
    path.write_text('id,text,label\n1,"two\nlines",0\nid,text,label\n')
    with pytest.raises(DataError, match="line 4 repeats the header line"):
        read_csv_table(path, ["id", "text", "label"])


@pytest.mark.parametrize("label, message", [("7", "outside 0-4"), ("x", "not a whole number"), ("2.5", "not a whole number")])
def test_bad_label_names_file_row_and_column(tmp_path, label, message):
    path = write_tsv(tmp_path / "train.tsv", f"PhraseId\tSentenceId\tPhrase\tSentiment\n1\t1\ta\t2\n2\t1\tb\t{label}\n")
    competition, _ = sentiment()
    with pytest.raises(DataError, match=rf"train\.tsv: line 3: column 'Sentiment'.*{message}"):
        competition.fit(read_train(path), path=str(path))


def test_duplicate_phrase_ids_are_refused(tmp_path):
    path = write_tsv(tmp_path / "test.tsv", "PhraseId\tSentenceId\tPhrase\n1\t1\ta\n1\t1\tb\n")
    with pytest.raises(DataError, match="line 3: column 'PhraseId': 1 appears twice"):
        read_test(path)
