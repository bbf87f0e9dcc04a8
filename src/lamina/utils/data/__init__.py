"""Data utilities, PyTorch's ``torch.utils.data`` plus splits and cross-validation.

Each file holds one concept; this module re-exports their public names.
"""

from .dataloader import DataLoader, RandomSampler, SequentialSampler, SubsetRandomSampler, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .folds import CVResult, KFold, StratifiedKFold, cross_validate
from .splits import split_sizes, train_val_test_indices, train_val_test_split

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "random_split",
    "DataLoader",
    "default_collate",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "train_val_test_split",
    "train_val_test_indices",
    "split_sizes",
    "KFold",
    "StratifiedKFold",
    "cross_validate",
    "CVResult",
]
