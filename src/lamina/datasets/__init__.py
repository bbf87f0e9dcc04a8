"""Datasets: XOR, the shipped 8×8 digits, MNIST / Fashion-MNIST from IDX files, text8.

Everything here returns NumPy arrays (wrap them with ``lamina.tensor`` or a
``TensorDataset``). Nothing is read from outside the package unless you name
a folder (``root=``), set ``LAMINA_DATA``, or allow ``download=True``.
"""

from ._bunch import Bunch
from ._cache import data_home
from .digits import digits
from .errors import ChecksumError, DataFileError, DatasetError, DatasetNotFoundError, DownloadError
from .idx import read_idx, read_idx_images, read_idx_labels, write_idx
from .mnist import MNIST, FashionMNIST, fashion_mnist, mnist
from .text8 import text8
from .xor import xor, xor_table

__all__ = [
    "xor", "xor_table", "digits", "mnist", "fashion_mnist", "MNIST", "FashionMNIST", "text8",
    "read_idx", "read_idx_images", "read_idx_labels", "write_idx", "data_home", "Bunch",
    "DatasetError", "DatasetNotFoundError", "DataFileError", "ChecksumError", "DownloadError",
]
