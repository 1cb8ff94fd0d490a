"""Task kinds: what a competition asks the model to predict, and everything that follows from it.

One small class per kind owns its head size, loss, activation, fastai metrics, decoding, the targets it
accepts, the blend's loss and its submission columns, as fastai pairs a loss with `activation` and
`decodes`. A task is made from the training file (`fit`): single-label classes (strings or integers)
are found there unless the description names them. Adding a kind means adding one module here
with its class, and the class to `TASKS`.

    binary, multiclass   Classification: one label per text; cross-entropy (label smoothing allowed);
                         softmax; outputs: one probability per class
    multilabel           MultiLabel: several 0/1 targets at once; BCE with logits; sigmoid; one
                         probability per target
    regression           Regression: one or more float targets; MSE; identity; one value per target
    soft                 SoftLabels: fractions in [0, 1] per target (a share of annotators); BCE with logits;
                         sigmoid; the first target answers, further ones are auxiliary (jigsaw's identities)
    tags                 Tags: a set of labels in one delimited cell; BCE with logits per label; sigmoid;
                         answered as the labels joined by the separator
    spans                Spans: where in a text the answer is; a tag per token (O, B, I); cross entropy over the
                         text's tokens; softmax per token; decoded per word or character; answered as the
                         span's text or its character locations

Binary and multiclass also read one-hot target columns (one 1 per row) as one label.
"""
from __future__ import annotations

from fasthf.tasks.base import Task
from fasthf.tasks.classification import Binary, Classification
from fasthf.tasks.multilabel import MultiLabel
from fasthf.tasks.regression import Regression
from fasthf.tasks.soft import SoftLabels
from fasthf.tasks.spans import Spans
from fasthf.tasks.tags import Tags

TASKS: dict[str, type[Task]] = {cls.kind: cls for cls in (Binary, Classification, MultiLabel, Regression, SoftLabels,
                                                          Tags, Spans)}


def task_from(described: dict) -> Task:
    """The task a `describe()` wrote (competition.json, a bundle's fasthf.json)."""
    return TASKS[described["kind"]].from_description(described)


__all__ = ["TASKS", "Binary", "Classification", "MultiLabel", "Regression", "SoftLabels", "Spans", "Tags", "Task",
           "task_from"]
