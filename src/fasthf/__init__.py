"""fasthf: fine-tune Hugging Face transformers with fastai's training techniques for Kaggle."""
__version__ = "0.1.0"
