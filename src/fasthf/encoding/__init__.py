"""Texts made into token tensors: the cache, windows over long texts, duels, choices, shared encoding."""
