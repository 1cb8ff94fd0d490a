"""fasthf: fine-tune Hugging Face transformers with fastai's training techniques for Kaggle."""
__version__ = "0.1.0"

import warnings

# Raised at import time by libraries underneath, not by anything fasthf does; it would open every job log.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
