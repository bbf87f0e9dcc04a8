"""lamina.datasets: XOR, packaged digits, IDX reader/writer, MNIST/Fashion-MNIST (offline + download), text8."""

import dataclasses
import gzip
import hashlib
import importlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets

import lamina.datasets as D
from lamina.datasets._cache import download_file, sha256_file

# the package re-exports functions named like their modules, so fetch the modules themselves
mnist_module = importlib.import_module("lamina.datasets.mnist")
text8_module = importlib.import_module("lamina.datasets.text8")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
FASHION = SHARED / "fashion-mnist"


@pytest.fixture
def fashion_root():
    if not (FASHION / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("../shared/datasets/fashion-mnist is not present")
    return FASHION


def _write_split(folder: Path, n: int, seed: int, split: str = "train", gz: bool = True):
    """Write a tiny MNIST-format split; returns (images, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    suffix = ".gz" if gz else ""
    D.write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
    D.write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


# ----------------------------------------------------------------------------- XOR
def test_xor_legacy_reproduces_np_random_uniform_stream():
    X, y = D.xor(4000, seed=42, legacy=True)
    np.random.seed(42)
    X_ref = np.random.uniform(-1, 1, size=(4000, 2))
    y_ref = ((X_ref[:, 0] >= 0) ^ (X_ref[:, 1] >= 0)).astype(float)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.dtype == np.float64 and y.dtype == np.float64


def test_xor_legacy_without_seed_uses_global_state():
    np.random.seed(7)
    X, _ = D.xor(10, legacy=True)
    np.random.seed(7)
    np.testing.assert_array_equal(X, np.random.uniform(-1, 1, size=(10, 2)))


def test_xor_generator_labels_and_reproducibility():
    X, y = D.xor(500, seed=3)
    assert X.shape == (500, 2) and y.shape == (500,)
    assert X.min() >= -1 and X.max() < 1
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(float))
    np.testing.assert_array_equal(X, D.xor(500, seed=3)[0])
    assert not np.array_equal(X, D.xor(500, seed=4)[0])
    assert 0.4 < y.mean() < 0.6
    with pytest.raises(ValueError, match="n must be >= 0"):
        D.xor(-1)


def test_xor_table():
    X, y = D.xor_table()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


# ----------------------------------------------------------------------------- digits
def test_digits_shapes_dtypes_and_classes():
    X, y = D.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.min() >= 170
    images, y2 = D.digits(images=True)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)


def test_digits_equal_scikit_learn_copy():
    ref = sklearn.datasets.load_digits()
    X, y = D.digits(dtype=np.float64)
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)


def test_digits_bunch_and_fresh_copies():
    b = D.digits(return_X_y=False)
    assert b.data.shape == (1797, 64) and b.images.shape == (1797, 1, 8, 8)
    assert b["target"] is b.target and len(b.feature_names) == 64
    assert "CC BY 4.0" in b.citation
    with pytest.raises(AttributeError, match="no attribute"):
        _ = b.nope
    X, _ = D.digits()
    X[:] = -1
    assert D.digits()[0].min() == 0


# ----------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_roundtrip(tmp_path, dtype, name):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    D.write_idx(tmp_path / name, arr)
    back = D.read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.flags.writeable
    np.testing.assert_array_equal(back, arr)
    assert not list(tmp_path.glob("*.part"))


def test_idx_magic_numbers_are_standard(tmp_path):
    D.write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    D.write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    assert (tmp_path / "i").read_bytes()[:4] == (2051).to_bytes(4, "big")
    assert (tmp_path / "l").read_bytes()[:4] == (2049).to_bytes(4, "big")
    with pytest.raises(D.DataFileError, match="magic number 2049.*expected 2051"):
        D.read_idx_images(tmp_path / "l")


def test_idx_truncated_raw_file_names_file_and_sizes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    D.write_idx(path, np.ones((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    expected = 16 + 3 * 28 * 28
    with pytest.raises(D.DataFileError) as err:
        D.read_idx_images(path)
    msg = str(err.value)
    assert str(path) in msg and "truncated" in msg
    assert f"expected {expected} bytes, got {expected - 100}" in msg


def test_idx_truncated_gzip_download(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    rng = np.random.default_rng(0)
    D.write_idx(path, rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(D.DataFileError, match=r"truncated file.*expected 39216 bytes.*ends early"):
        D.read_idx(path)


def test_idx_trailing_bytes_and_bad_headers(tmp_path):
    path = tmp_path / "x"
    D.write_idx(path, np.zeros(4, np.uint8))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(D.DataFileError, match="trailing bytes.*expected 12 bytes, got 13"):
        D.read_idx(path)
    path.write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(D.DataFileError, match="not an IDX header"):
        D.read_idx(path)
    path.write_bytes(b"\0\0")
    with pytest.raises(D.DataFileError, match="too short"):
        D.read_idx(path)
    path.write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(D.DataFileError, match="not a valid gzip"):
        D.read_idx(path)
    with pytest.raises(TypeError, match="no IDX type code"):
        D.write_idx(path, np.zeros(3, np.int64))
    with pytest.raises(FileNotFoundError):
        D.read_idx(tmp_path / "missing")


# ----------------------------------------------------------------------------- Fashion-MNIST (shared files)
def test_fashion_mnist_test_split_from_shared_folder(fashion_root):
    images, labels = D.fashion_mnist(root=fashion_root, train=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 1000))
    assert images.max() == 255 and images.min() == 0


def test_fashion_mnist_train_split_from_shared_folder(fashion_root):
    images, labels = D.fashion_mnist(root=fashion_root, train=True)
    assert images.shape == (60000, 28, 28)
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 6000))


def test_fashion_mnist_dataset_object(fashion_root):
    ds = D.FashionMNIST(root=fashion_root, train=False,
                        transform=lambda x: x.astype(np.float32) / 255)
    assert len(ds) == 10000 and ds.classes[9] == "Ankle boot" and ds.class_to_idx["Bag"] == 8
    image, target = ds[0]
    assert image.shape == (28, 28) and image.dtype == np.float32 and image.max() <= 1
    assert target == ds.targets[0]
    batch, targets = ds[np.array([3, 1, 4])]
    assert batch.shape == (3, 28, 28)
    np.testing.assert_array_equal(targets, ds.targets[[3, 1, 4]])
    assert "Number of datapoints: 10000" in repr(ds) and "Split: Test" in repr(ds)


# ----------------------------------------------------------------------------- MNIST layouts, cache and errors
def test_missing_files_error_names_files_and_folder(tmp_path):
    with pytest.raises(D.DatasetNotFoundError) as err:
        D.mnist(root=tmp_path, train=False)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert str(tmp_path) in msg and "download=True" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_lamina_data_env_is_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_DATA", str(tmp_path))
    assert D.data_home() == tmp_path
    images, labels = _write_split(tmp_path / "mnist", 5, seed=1, split="t10k")
    got_images, got_labels = D.mnist(train=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_labels.dtype == np.int64


def test_default_cache_folder_without_env(tmp_path, monkeypatch):
    monkeypatch.delenv("LAMINA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert D.data_home() == tmp_path / "lamina"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert D.data_home() == tmp_path / ".cache" / "lamina"


def test_uncompressed_and_torchvision_layouts(tmp_path):
    images, labels = _write_split(tmp_path / "MNIST" / "raw", 4, seed=2, gz=False)
    got, got_labels = D.mnist(root=tmp_path)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_image_label_count_mismatch(tmp_path):
    _write_split(tmp_path, 4, seed=3)
    D.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(D.DataFileError, match="4 images but .* 3 labels"):
        D.mnist(root=tmp_path)


# ----------------------------------------------------------------------------- download (no network: file:// mirrors)
@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local 'server' folder holding a tiny MNIST test split, registered as the only mirror."""
    server = tmp_path / "server"
    images, labels = _write_split(server, 6, seed=4, split="t10k")
    digests = {p.name: sha256_file(p) for p in server.iterdir()}
    source = dataclasses.replace(mnist_module.SOURCES["mnist"], mirrors=(server.as_uri() + "/",), sha256=digests)
    monkeypatch.setitem(mnist_module.SOURCES, "mnist", source)
    return server, images, labels, digests


def test_download_fetches_verifies_and_caches(tmp_path, mirror):
    server, images, labels, _ = mirror
    cache = tmp_path / "cache"
    got, got_labels = D.mnist(root=cache, train=False, download=True)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for p in server.iterdir():  # second call reads the cache, even with the mirror gone
        p.unlink()
    np.testing.assert_array_equal(D.mnist(root=cache, train=False, download=True)[0], images)


def test_download_checksum_mismatch_leaves_nothing(tmp_path, mirror, monkeypatch):
    server, _, _, digests = mirror
    bad = dict(digests, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    source = dataclasses.replace(mnist_module.SOURCES["mnist"], sha256=bad)
    monkeypatch.setitem(mnist_module.SOURCES, "mnist", source)
    cache = tmp_path / "cache"
    with pytest.raises(D.ChecksumError) as err:
        D.mnist(root=cache, train=False, download=True)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "0" * 64 in msg
    assert digests["t10k-images-idx3-ubyte.gz"] in msg
    assert not (cache / "t10k-images-idx3-ubyte.gz").exists()
    assert not list(cache.glob("*.part"))


def test_download_falls_back_to_next_mirror(tmp_path, mirror, monkeypatch):
    server, images, _, _ = mirror
    dead = (tmp_path / "nowhere").as_uri() + "/"
    source = dataclasses.replace(mnist_module.SOURCES["mnist"], mirrors=(dead, server.as_uri() + "/"))
    monkeypatch.setitem(mnist_module.SOURCES, "mnist", source)
    np.testing.assert_array_equal(D.mnist(root=tmp_path / "c", train=False, download=True)[0], images)


def test_download_offline_error_names_file_and_folder(tmp_path, monkeypatch):
    dead = (tmp_path / "nowhere").as_uri() + "/"
    source = dataclasses.replace(mnist_module.SOURCES["fashion-mnist"], mirrors=(dead,))
    monkeypatch.setitem(mnist_module.SOURCES, "fashion-mnist", source)
    with pytest.raises(D.DownloadError, match=r"could not download t10k-images-idx3-ubyte.gz into .*cache"):
        D.fashion_mnist(root=tmp_path / "cache", train=False, download=True)


def test_download_file_with_custom_opener(tmp_path):
    payload = b"hello lamina"
    digest = hashlib.sha256(payload).hexdigest()
    calls = []

    def opener(url, timeout):
        calls.append((url, timeout))
        return io.BytesIO(payload)

    out = download_file("https://example.invalid/f.bin", tmp_path / "f.bin", digest, opener=opener)
    assert out.read_bytes() == payload and calls == [("https://example.invalid/f.bin", 60.0)]
    with pytest.raises(D.ChecksumError):
        download_file("https://example.invalid/g.bin", tmp_path / "g.bin", "f" * 64, opener=opener)
    assert not (tmp_path / "g.bin").exists()


def test_official_digests_are_well_formed():
    for source in mnist_module.SOURCES.values():
        assert set(source.sha256) == {f"{s}-{k}-idx{d}-ubyte.gz" for s in ("train", "t10k")
                                      for k, d in (("images", 3), ("labels", 1))}
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in source.sha256.values())
        assert len(source.classes) == 10


# ----------------------------------------------------------------------------- text8
CORPUS = "anarchism originated as a term of abuse first used against early working class radicals"


def test_text8_plain_zip_and_max_words(tmp_path):
    (tmp_path / "text8").write_text(" " + CORPUS)
    assert D.text8(tmp_path) == CORPUS.split()
    assert D.text8(tmp_path / "text8", max_words=3) == ["anarchism", "originated", "as"]
    zdir = tmp_path / "z"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / "text8.zip", "w") as zf:
        zf.writestr("text8", CORPUS)
    assert D.text8(zdir)[-1] == "radicals"


def test_text8_from_lamina_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_DATA", str(tmp_path))
    (tmp_path / "text8").mkdir()
    (tmp_path / "text8" / "text8").write_text(CORPUS)
    assert len(D.text8()) == 14


def test_text8_errors(tmp_path):
    with pytest.raises(D.DatasetNotFoundError, match="text8.zip"):
        D.text8(tmp_path)
    (tmp_path / "text8").write_text("   \n")
    with pytest.raises(D.DataFileError, match="no words"):
        D.text8(tmp_path)
    (tmp_path / "text8").write_bytes(b"good words \xff\xfe bad")
    with pytest.raises(D.DataFileError, match="not UTF-8.*0xff at offset 11"):
        D.text8(tmp_path)
    with pytest.raises(ValueError, match="max_words"):
        D.text8(tmp_path, max_words=0)


def test_text8_download_from_local_mirror(tmp_path, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    with zipfile.ZipFile(server / "text8.zip", "w") as zf:
        zf.writestr("text8", CORPUS)
    monkeypatch.setattr(text8_module, "_MIRRORS", (server.as_uri() + "/",))
    monkeypatch.setattr(text8_module, "_SHA256", {"text8.zip": sha256_file(server / "text8.zip")})
    assert D.text8(tmp_path / "cache", download=True) == CORPUS.split()
    assert (tmp_path / "cache" / "text8.zip").is_file()


def test_gzip_written_idx_is_deterministic(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    D.write_idx(tmp_path / "a.gz", arr)
    D.write_idx(tmp_path / "b.gz", arr)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.gz").read_bytes())[:4] == (2049).to_bytes(4, "big")
