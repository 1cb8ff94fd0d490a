"""The Hugging Face models: loading, layer groups, precision, the shared-encoding head."""
