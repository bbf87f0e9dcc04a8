"""MNIST and Fashion-MNIST from the standard IDX files, with optional download.

Files (gzip ``.gz`` or uncompressed, standard names)::

    train-images-idx3-ubyte  train-labels-idx1-ubyte   (60,000 images)
    t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte    (10,000 images)

Where they are looked for: ``root`` itself, then ``root/<name>`` and
torchvision's ``root/<MNIST|FashionMNIST>/raw``; without ``root``, the cache
folder ``$LAMINA_DATA/<name>`` or ``~/.cache/lamina/<name>`` (see
:func:`lamina.datasets.data_home`). With ``download=True`` the missing files
are fetched from the canonical mirrors and checked against the SHA-256 of the
original distribution; files already on disk are read as they are.

Two interfaces, the same data:

* ``mnist(...)`` / ``fashion_mnist(...)`` return ``(images, labels)``:
  uint8 ``(n, 28, 28)`` and int64 ``(n,)`` arrays (Keras style);
* ``MNIST(...)`` / ``FashionMNIST(...)`` are torchvision-style map datasets
  with ``.data``, ``.targets``, ``.classes``, ``len()`` and ``ds[i] -> (image, target)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._cache import dataset_dir, fetch_file
from .errors import DataFileError, DatasetNotFoundError
from .idx import read_idx_images, read_idx_labels

__all__ = ["mnist", "fashion_mnist", "MNIST", "FashionMNIST", "SOURCES"]


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: cache name, torchvision folder name, mirrors, digests, classes."""

    name: str
    torchvision_name: str
    mirrors: tuple[str, ...]
    sha256: dict
    classes: tuple[str, ...]


SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        torchvision_name="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        classes=tuple(f"{d} - {w}" for d, w in enumerate(
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])),
    ),
    "fashion-mnist": Source(
        name="fashion-mnist",
        torchvision_name="FashionMNIST",
        mirrors=(
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}


def _stems(train: bool) -> tuple[str, str]:
    split = "train" if train else "t10k"
    return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"


def _existing(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _find(folders: list[Path], stems: tuple[str, str]) -> tuple[Path, Path] | None:
    """The image and label files of the first folder that holds both."""
    for folder in folders:
        images, labels = (_existing(folder, stem) for stem in stems)
        if images is not None and labels is not None:
            return images, labels
    return None


def _locate(source: Source, root, train: bool, download: bool) -> tuple[Path, Path]:
    """Paths of the image and label files of one split, downloading missing ones if allowed."""
    home = dataset_dir(source.name, root)
    folders = [home]
    if root is not None:
        folders += [home / source.name, home / source.torchvision_name / "raw"]
    stems = _stems(train)
    found = _find(folders, stems)
    if found is not None:
        return found
    missing = [f"{stem}.gz" for stem in stems if _existing(home, stem) is None]
    if not download:
        where = ", ".join(str(f) for f in folders)
        raise DatasetNotFoundError(
            f"{source.name}: missing {', '.join(missing)} (looked in {where}). "
            f"Put the standard IDX files (gzip or uncompressed) in {home}, pass root= pointing at the "
            f"folder that has them, set LAMINA_DATA, or use download=True to fetch them from "
            f"{source.mirrors[0]}"
        )
    for filename in missing:
        fetch_file(filename, source.mirrors, home, source.sha256.get(filename))
    images, labels = (_existing(home, stem) or home / f"{stem}.gz" for stem in stems)
    return images, labels


def _load(name: str, root, train: bool, download: bool):
    source = SOURCES[name]
    image_path, label_path = _locate(source, root, bool(train), download)
    images = read_idx_images(image_path)
    labels = read_idx_labels(label_path).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFileError(f"{name}: {image_path} holds images of shape {tuple(images.shape[1:])}, expected (28, 28)")
    if len(images) == 0:
        raise DataFileError(f"{name}: {image_path} holds no images (its header declares 0)")
    if len(images) != len(labels):
        raise DataFileError(
            f"{name}: {image_path} has {len(images)} images but {label_path} has {len(labels)} labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(source.classes)):
        raise DataFileError(
            f"{name}: {label_path} has labels in [{labels.min()}, {labels.max()}], expected 0..{len(source.classes) - 1}"
        )
    return images, labels


def mnist(root: str | os.PathLike | None = None, train: bool = True, download: bool = False):
    """MNIST handwritten digits: ``(images uint8 (n, 28, 28), labels int64 (n,))``.

    ``train=True`` gives the 60,000 training images, ``False`` the 10,000 test
    images. See the module docstring for where files are looked for.
    """
    return _load("mnist", root, train, download)


def fashion_mnist(root: str | os.PathLike | None = None, train: bool = True, download: bool = False):
    """Fashion-MNIST (Zalando, MIT licence): ``(images uint8 (n, 28, 28), labels int64 (n,))``.

    Classes 0..9: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt,
    Sneaker, Bag, Ankle boot (``FashionMNIST.classes``).
    """
    return _load("fashion-mnist", root, train, download)


class MNIST:
    """torchvision-style MNIST: ``ds[i] -> (image, target)`` over arrays held in memory.

    Args:
        root, train, download: as for :func:`mnist`.
        transform: applied to the image (uint8 ``(28, 28)``, or ``(k, 28, 28)``
            when indexing with a slice or an integer array), e.g.
            ``lambda x: x.astype(np.float32) / 255``.
        target_transform: applied to the int64 target(s).

    Attributes:
        data: uint8 ``(n, 28, 28)``; targets: int64 ``(n,)``; classes: class names;
        class_to_idx: name -> label.
    """

    _name = "mnist"

    def __init__(self, root=None, train: bool = True, download: bool = False,
                 transform=None, target_transform=None):
        self.root = root
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        self.data, self.targets = _load(self._name, root, self.train, download)
        self.classes = list(SOURCES[self._name].classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        image, target = self.data[index], self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {dataset_dir(self._name, self.root)}\n    Split: {split}")


class FashionMNIST(MNIST):
    """torchvision-style Fashion-MNIST; same interface as :class:`MNIST`."""

    _name = "fashion-mnist"
