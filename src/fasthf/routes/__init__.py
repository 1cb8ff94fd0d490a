"""The ways out to Kaggle: the CLI, the inference bundle and package, code-competition kernels."""
