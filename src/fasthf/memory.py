"""Phrase memory: a test phrase found verbatim in train.tsv takes its training label.

The competition's own data, used as it is: each distinct phrase of train.tsv carries one label, and
about 15% of the test phrases occur there verbatim. Only test predictions are touched. A held-out
training phrase never occurs on its chain's training side (train.tsv holds each phrase once and the
folds group by sentence), so the memory's gain cannot be measured out of fold; out-of-fold figures are
of the models alone.
"""
from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)


def training_labels(train: pd.DataFrame) -> pd.Series:
    """Label per distinct training phrase (matched exactly: case, spaces and punctuation count); a phrase
    given several labels takes its most frequent one, the lowest on a tie."""
    counts = train.groupby(["Phrase", "Sentiment"]).size().rename("n").reset_index()
    counts = counts.sort_values(["Phrase", "n", "Sentiment"], ascending=[True, False, True])
    return counts.drop_duplicates("Phrase").set_index("Phrase").Sentiment


def apply_phrase_memory(test: pd.DataFrame, predicted: pd.Series, train: pd.DataFrame,
                        enabled: bool = True) -> tuple[pd.DataFrame, dict]:
    """Final test labels: the training label where the phrase is remembered, the model's elsewhere.

    `test`: PhraseId, Phrase; `predicted`: the model's label per test PhraseId; `train`: Phrase,
    Sentiment of train.tsv. Returns PhraseId, Sentiment, model_sentiment, from_memory (test order) and
    the counts.
    """
    model = predicted.reindex(test.PhraseId).to_numpy()
    remembered = test.Phrase.map(training_labels(train)) if enabled else pd.Series(pd.NA, index=test.index)
    from_memory = remembered.notna().to_numpy()
    final = pd.DataFrame({"PhraseId": test.PhraseId.to_numpy(),
                          "Sentiment": remembered.where(from_memory, model).astype("int64").to_numpy(),
                          "model_sentiment": model, "from_memory": from_memory})
    counts = {"enabled": bool(enabled), "test_phrases": int(len(test)), "set_from_memory": int(from_memory.sum()),
              "changed_answer": int((final.Sentiment != final.model_sentiment).sum())}
    if enabled:
        log.info("phrase memory: %d of %d test phrases occur verbatim in train.tsv and take its label; %d of "
                 "those change the model's answer", counts["set_from_memory"], counts["test_phrases"],
                 counts["changed_answer"])
    else:
        log.info("phrase memory off: every test label is the model's")
    return final, counts
