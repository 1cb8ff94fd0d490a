"""Saved models that are corrupt or do not fit are refused with a message naming the folder."""
import json
import shutil

import pytest

from fasthf.models.architectures import CheckpointError, check_vocabulary, load_checkpoint, load_pretrained
from helpers import label_names


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tiny_model_folder):
    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    folder = tmp_path_factory.mktemp("checkpoint")
    model.save_pretrained(folder)
    return folder


def copy(checkpoint, tmp_path):
    return shutil.copytree(checkpoint, tmp_path / "copy")


def test_a_good_checkpoint_loads_with_its_five_classes(checkpoint):
    assert load_checkpoint(checkpoint, n_labels=5).config.num_labels == 5


def test_corrupt_weights_are_refused(checkpoint, tmp_path):
    folder = copy(checkpoint, tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # as after a crash mid-write without atomic rename
    with pytest.raises(CheckpointError, match=rf"{folder}: cannot be loaded"):
        load_checkpoint(folder)


def test_missing_weights_are_refused(checkpoint, tmp_path):
    folder = copy(checkpoint, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no safetensors weights"):
        load_checkpoint(folder)


def test_weights_of_another_architecture_are_refused(checkpoint, tiny_model_folder, tmp_path):
    folder = copy(checkpoint, tmp_path)
    other = json.loads((tiny_model_folder("distilbert") / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**other, "num_labels": 5,
                                                    "id2label": dict(enumerate(label_names()))}))
    with pytest.raises(CheckpointError, match="weights do not match its distilbert config"):
        load_checkpoint(folder)


def test_a_head_for_another_label_count_is_refused(tiny_model_folder, tmp_path):
    model, _ = load_pretrained(str(tiny_model_folder("bert")), ["no", "yes"])
    model.save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="predicts 2 classes, the competition has 5"):
        load_checkpoint(tmp_path, n_labels=5)


def test_token_ids_beyond_the_vocabulary_are_refused(checkpoint):
    model = load_checkpoint(checkpoint)
    size = model.get_input_embeddings().num_embeddings
    check_vocabulary(model, size - 1)
    with pytest.raises(CheckpointError, match="another model's tokenizer"):
        check_vocabulary(model, size)
    assert load_checkpoint(checkpoint, max_token_id=size - 1) is not None
    with pytest.raises(CheckpointError, match="another model's tokenizer"):
        load_checkpoint(checkpoint, max_token_id=size)
