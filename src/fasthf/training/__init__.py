"""Training stages with fastai: the recipe, callbacks, data-parallel workers, what a stage leaves."""
