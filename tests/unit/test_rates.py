"""A member's speeds (fasthf.training.rates) on its own tensors: with read_alone, the rows read alone get a
prediction rate of their own and are counted, training and test."""
from fasthf.encoding.tensor_cache import load_split, prepare_alone_tensors, prepare_tensors
from fasthf.models.architectures import load_pretrained
from fasthf.training.rates import measure_rates
from fasthf.training.recipe import TrainSettings
from helpers import label_names, sentiment


def test_read_alone_rows_get_a_prediction_rate_of_their_own_and_are_counted(tiny_model_folder, competition_files,
                                                                             tmp_path):
    competition, task = sentiment()
    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    model.save_pretrained(tmp_path / "pretrained")
    files = competition_files["train"], competition_files["test"]
    prepare_tensors(*files, tokenizer, tmp_path, 64, competition, task, encode="group")
    summary = prepare_alone_tensors(*files, tokenizer, tmp_path, 64, competition, task)
    settings = TrainSettings(batch_size=4, eval_batch_size=8, mixed_precision="no")
    plain = measure_rates(tmp_path / "pretrained", tmp_path / "train.safetensors", tmp_path / "test.safetensors",
                          settings, task, batches=2, warmup=1)
    assert plain.alone_per_s is None and plain.alone_sequences == plain.alone_test_sequences == 0
    rates = measure_rates(tmp_path / "pretrained", tmp_path / "train.safetensors", tmp_path / "test.safetensors",
                          settings, task, batches=2, warmup=1,
                          alone_tensors=(tmp_path / "train_alone.safetensors", tmp_path / "test_alone.safetensors"))
    assert rates.alone_per_s > 0
    assert rates.alone_sequences == len(load_split(tmp_path / "train_alone.safetensors")) == \
        summary["splits"]["train"]["read_alone"] > 0
    assert rates.alone_test_sequences == summary["splits"]["test"]["read_alone"] > 0
