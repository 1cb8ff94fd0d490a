"""Every encoder-only architecture in the installed transformers' sequence-classification registry,
built tiny from its own config class with random weights.

`encoder_types()` lists (model_type, why it is skipped or None); `build_tiny(model_type)` returns a tiny
`AutoModelForSequenceClassification` or raises `CannotBuildTiny` with the reason.
"""
from __future__ import annotations

import inspect

# Sizes small enough for a test, named as most configs name them (attribute_map turns hidden_size into
# dim, d_model, n_embd ... where a config calls it otherwise).
TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=2,
            intermediate_size=64, embedding_size=16, head_dim=16, vocab_size=1000,
            max_position_embeddings=256, num_labels=5)
MAX_PARAMETERS = 3_000_000
# Configs whose size settings go by other names, or that need a value the generic sizes break.
SPECIFIC = {
    "xlnet": dict(d_model=32, n_layer=3, n_head=2, d_inner=64),
    "xlm": dict(emb_dim=32, n_layers=3, n_heads=2),
    "flaubert": dict(emb_dim=32, n_layers=3, n_heads=2),
    "distilbert": dict(dim=32, n_layers=3, n_heads=2, hidden_dim=64),
    "funnel": dict(block_sizes=[1, 1, 1], d_model=32, n_head=2, d_head=16, d_inner=64),
    "longformer": dict(attention_window=4),
    "big_bird": dict(attention_type="original_full"),
    "reformer": dict(attn_layers=["local", "local", "local"], axial_pos_shape=[4, 8], axial_pos_embds_dim=[16, 16],
                     local_attn_chunk_length=4, feed_forward_size=64, attention_head_size=16),
    "perceiver": dict(d_latents=32, d_model=32, num_latents=8, num_self_attends_per_block=3,
                      num_self_attention_heads=2, num_cross_attention_heads=2),
    "canine": dict(num_hash_buckets=64, downsampling_rate=2),
    "squeezebert": dict(embedding_size=32, q_groups=1, k_groups=1, v_groups=1, post_attention_groups=1,
                        intermediate_groups=1, output_groups=1),
    "mobilebert": dict(embedding_size=32, intra_bottleneck_size=32, true_hidden_size=32, num_feedforward_networks=1),
    "deberta-v2": dict(relative_attention=True, pos_att_type=["p2c", "c2p"]),
    "deberta": dict(relative_attention=True, pos_att_type=["p2c", "c2p"]),
    "luke": dict(entity_vocab_size=100, entity_emb_size=16),
    "roc_bert": dict(pronunciation_vocab_size=100, shape_vocab_size=100, pronunciation_embed_dim=16,
                     shape_embed_dim=16),
    "layoutlmv3": dict(hidden_size=48, coordinate_size=8, shape_size=8, visual_embed=False, input_size=32,
                       patch_size=8),
    "lilt": dict(hidden_size=48, channel_shrink_ratio=2),
}
# Architectures this pipeline supports although the registry files them with causal language models:
# XLNet is a permutation language model that reads the whole phrase both ways (the tutorial used it).
BIDIRECTIONAL = {"xlnet"}


class CannotBuildTiny(Exception):
    pass


def encoder_types() -> list[tuple[str, str | None]]:
    """(model_type, skip reason or None) for every entry of the sequence-classification registry."""
    from transformers.models.auto import modeling_auto
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    rows = []
    for model_type in sorted(modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES):
        try:
            config = CONFIG_MAPPING[model_type]()
        except Exception as error:
            rows.append((model_type, f"its config cannot be built ({type(error).__name__})"))
            continue
        if getattr(config, "is_encoder_decoder", False):
            rows.append((model_type, "encoder-decoder"))
        elif (model_type in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
              and model_type not in modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
              and model_type not in BIDIRECTIONAL):
            rows.append((model_type, "decoder-only"))
        else:
            rows.append((model_type, None))
    return rows


def _config(model_type: str):
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    config_class = CONFIG_MAPPING[model_type]
    accepted = set(inspect.signature(config_class.__init__).parameters) | set(getattr(config_class, "attribute_map", {}))
    wanted = {**TINY, **SPECIFIC.get(model_type, {})}
    try:
        config = config_class(**{k: v for k, v in wanted.items() if k in accepted or k in SPECIFIC.get(model_type, {})})
    except Exception as error:
        raise CannotBuildTiny(f"its config refuses tiny sizes ({type(error).__name__}: {error})") from error
    config.num_labels = 5
    if getattr(config, "pad_token_id", 0) is None:  # the pipeline sets it from the tokenizer
        config.pad_token_id = 1
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value >= getattr(config, "vocab_size", 10**9):
            setattr(config, key, 1)
    return config


def build_tiny(model_type: str):
    """A tiny random sequence classifier of `model_type` that runs a forward pass on ids and a mask."""
    import torch
    from transformers import AutoModelForSequenceClassification

    config = _config(model_type)
    try:
        with torch.device("meta"):  # sizes first: a config with parts that ignore the tiny sizes stays large
            size = sum(p.numel() for p in AutoModelForSequenceClassification.from_config(config).parameters())
        if size > MAX_PARAMETERS:
            raise CannotBuildTiny(f"still {size / 1e6:.0f}M parameters with tiny sizes (parts of its config "
                                  f"keep sizes of their own)")
        torch.manual_seed(0)
        return AutoModelForSequenceClassification.from_config(config)
    except CannotBuildTiny:
        raise
    except Exception as error:
        text = str(error).strip()
        message = text.splitlines()[0][:160] if text else "a package it needs is not installed"
        raise CannotBuildTiny(f"cannot be built from its config alone ({type(error).__name__}: {message})") from error
