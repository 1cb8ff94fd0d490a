"""Phrase memory: exactly the test phrases found verbatim in train.tsv take its label; nothing else changes."""
import pandas as pd

from fasthf.memory import apply_phrase_memory, training_labels

TRAIN = pd.DataFrame({"PhraseId": [1, 2, 3, 4, 5], "SentenceId": [1, 1, 1, 2, 2],
                      "Phrase": ["good", "a good film", "None", "Good", "bad ."], "Sentiment": [3, 4, 2, 4, 0]})
TEST = pd.DataFrame({"PhraseId": [10, 11, 12, 13, 14, 15], "SentenceId": [9] * 6,
                     "Phrase": ["good", "GOOD", "None", "bad", "bad .", "a good film "]})


def test_memory_sets_exactly_the_verbatim_test_phrases_from_training_labels():
    predicted = pd.Series([3, 3, 1, 1, 1, 4], index=TEST.PhraseId)
    final, counts = apply_phrase_memory(TEST, predicted, TRAIN)
    # "good" and "None" and "bad ." occur verbatim; "GOOD", "bad", "a good film " (trailing space) do not
    assert final.from_memory.tolist() == [True, False, True, False, True, False]
    assert final.Sentiment.tolist() == [3, 3, 2, 1, 0, 4]
    assert final.model_sentiment.tolist() == predicted.tolist()
    assert counts == {"enabled": True, "test_phrases": 6, "set_from_memory": 3, "changed_answer": 2}


def test_memory_off_keeps_every_model_answer():
    predicted = pd.Series([0, 1, 2, 3, 4, 0], index=TEST.PhraseId)
    final, counts = apply_phrase_memory(TEST, predicted, TRAIN, enabled=False)
    assert final.Sentiment.tolist() == predicted.tolist() and not final.from_memory.any()
    assert counts["set_from_memory"] == counts["changed_answer"] == 0


def test_a_phrase_labelled_twice_takes_its_most_frequent_label():
    train = pd.DataFrame({"Phrase": ["ok", "ok", "ok", "meh", "meh"], "Sentiment": [2, 3, 3, 1, 2]})
    assert training_labels(train).to_dict() == {"ok": 3, "meh": 1}
