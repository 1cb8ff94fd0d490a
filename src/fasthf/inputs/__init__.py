"""A competition's files read and checked: the description, readers, joins, targets, folds."""
