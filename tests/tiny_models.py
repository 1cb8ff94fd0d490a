"""Tiny random models of each architecture, with tokenizers trained here on the fixture's phrases.

Each is saved with `save_pretrained` into a folder that the pipeline then loads through the same
`from_pretrained` path as `roberta-base` or `xlnet-base-cased`: real configs, real tokenizer classes,
random weights.
"""
from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoModel

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=128)
ARCHITECTURES = ["bert", "roberta", "xlnet", "xlm", "distilbert", "deberta-v2", "electra"]


def _wordpiece_vocab(texts, folder: Path, size=600) -> Path:
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(texts, vocab_size=size, min_frequency=1,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    trainer.save_model(str(folder))
    return folder / "vocab.txt"


def _byte_bpe(texts, folder: Path, size=600) -> tuple[Path, Path]:
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(texts, vocab_size=size, min_frequency=1,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    trainer.save_model(str(folder))
    return folder / "vocab.json", folder / "merges.txt"


def _sentencepiece(texts, folder: Path, size=400, **specials) -> Path:
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(t for t in texts if t.strip()))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "spm"), vocab_size=size,
                                   model_type="unigram", character_coverage=1.0, minloglevel=2, **specials)
    corpus.unlink()
    return folder / "spm.model"


def _xlm_bpe(texts, folder: Path, size=600) -> tuple[Path, Path]:
    """XLM's own format: vocab.json with `</w>`-ended word pieces and a merges file, lowercased."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>", unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=size, end_of_word_suffix="</w>",
        special_tokens=["<s>", "</s>", "<pad>", "<unk>", "<special0>", "<special1>"]))
    model = json.loads(tok.to_str())["model"]
    (folder / "vocab.json").write_text(json.dumps(model["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (folder / "merges.txt").write_text("\n".join(f"{m} 1" for m in merges) + "\n")
    return folder / "vocab.json", folder / "merges.txt"


def build_tiny_model(arch: str, texts: list[str], folder: str | Path) -> Path:
    """Train a tokenizer for `arch` on `texts`, build a tiny random model of `arch`, save both in `folder`.

    The trained vocabulary files get each tokenizer's own file names and load through its
    `from_pretrained`, the same conversion that real checkpoints' files go through.
    """
    import transformers as tf

    folder = Path(folder)
    work = folder / "tokenizer-training"
    work.mkdir(parents=True, exist_ok=True)
    if arch in ("bert", "distilbert", "electra"):
        vocab = _wordpiece_vocab(texts, work)
        tokenizer = {"bert": tf.BertTokenizer, "distilbert": tf.DistilBertTokenizer,
                     "electra": tf.ElectraTokenizer}[arch].from_pretrained(str(work))
        if arch == "bert":
            config = tf.BertConfig(vocab_size=len(tokenizer), **TINY)
        elif arch == "electra":
            config = tf.ElectraConfig(vocab_size=len(tokenizer), embedding_size=16, **TINY)
        else:
            config = tf.DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=3, n_heads=2, hidden_dim=64,
                                         max_position_embeddings=128)
    elif arch == "roberta":
        vocab, merges = _byte_bpe(texts, work)
        tokenizer = tf.RobertaTokenizer.from_pretrained(str(work))
        config = tf.RobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                  bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                  type_vocab_size=1, **{**TINY, "max_position_embeddings": 130})
    elif arch == "xlnet":
        spm_model = _sentencepiece(texts, work, user_defined_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>", "<eop>"])
        spm_model.rename(work / "spiece.model")
        tokenizer = tf.XLNetTokenizer.from_pretrained(str(work))
        config = tf.XLNetConfig(vocab_size=len(tokenizer), d_model=32, n_layer=3, n_head=2, d_inner=64,
                                pad_token_id=tokenizer.pad_token_id)
    elif arch == "deberta-v2":
        spm_model = _sentencepiece(texts, work, user_defined_symbols=["[CLS]", "[SEP]", "[PAD]", "[MASK]"])
        tokenizer = tf.DebertaV2Tokenizer.from_pretrained(str(work))
        config = tf.DebertaV2Config(vocab_size=len(tokenizer), relative_attention=True, pos_att_type=["p2c", "c2p"],
                                    **TINY)
    elif arch == "xlm":
        vocab, merges = _xlm_bpe(texts, work)
        tokenizer = tf.XLMTokenizer.from_pretrained(str(work))
        config = tf.XLMConfig(vocab_size=len(tokenizer), emb_dim=32, n_layers=3, n_heads=2,
                              max_position_embeddings=128, pad_index=tokenizer.pad_token_id)
    else:
        raise ValueError(f"no tiny recipe for {arch!r}; known: {ARCHITECTURES}")
    model = AutoModel.from_config(config)  # a bare encoder, as pretrained checkpoints mostly are
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    return folder
