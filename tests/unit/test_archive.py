"""Unpacking a competition archive: inner zips, members that would escape, broken zips, files that disagree."""

import pytest

from helpers import FIXTURE_ZIP, sentiment
from archives import write_zip
from fasthf.inputs.archive import extract_competition, safe_extract
from fasthf.inputs.data import DataError

SENTIMENT = sentiment()[0]


def test_competition_archive_is_unpacked_with_its_inner_zips(tmp_path):
    paths = extract_competition(FIXTURE_ZIP, tmp_path, SENTIMENT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["competition.json", "sampleSubmission.csv", "test.tsv", "train.tsv"]
    assert paths["train"].read_text().startswith("PhraseId\tSentenceId\tPhrase\tSentiment\n")



def test_members_escaping_the_target_folder_are_refused(tmp_path):
    archive = write_zip(tmp_path / "evil.zip", {"train.tsv": "x", "../escaped.txt": "x"})
    with pytest.raises(DataError, match=r"'\.\./escaped\.txt' would be written outside"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out").exists()


def test_truncated_archive_is_refused(tmp_path):
    archive = tmp_path / "cut.zip"
    archive.write_bytes(FIXTURE_ZIP.read_bytes()[:5000])
    with pytest.raises(DataError, match="not a readable zip archive"):
        extract_competition(archive, tmp_path / "out", SENTIMENT)


def test_archive_without_a_competition_file_names_it(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {"train.tsv": "PhraseId\tSentenceId\tPhrase\tSentiment\n"})
    with pytest.raises(DataError, match=r"does not contain \['test.tsv', 'sampleSubmission.csv'\]"):
        extract_competition(archive, tmp_path / "out", SENTIMENT)


def test_test_file_and_sample_submission_must_agree(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {
        "train.tsv": "PhraseId\tSentenceId\tPhrase\tSentiment\n1\t1\ta\t2\n",
        "test.tsv": "PhraseId\tSentenceId\tPhrase\n10\t2\tb\n11\t2\tc\n",
        "sampleSubmission.csv": "PhraseId,Sentiment\n10,2\n"})
    with pytest.raises(DataError, match="different PhraseIds"):
        extract_competition(archive, tmp_path / "out", SENTIMENT)
