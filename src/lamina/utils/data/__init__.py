"""Data utilities, PyTorch's ``torch.utils.data`` plus splits and cross-validation.

Each file holds one concept; this module re-exports their public names.
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .folds import CVResult, KFold, StratifiedKFold, cross_validate
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler
from .splits import split_sizes, train_val_test_indices, train_val_test_split

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "random_split",
    "DataLoader",
    "default_collate",
    "default_convert",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "train_val_test_split",
    "train_val_test_indices",
    "split_sizes",
    "KFold",
    "StratifiedKFold",
    "cross_validate",
    "CVResult",
]
