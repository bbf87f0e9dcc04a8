"""lamina.models re-exports every model file's public names."""
import importlib

from lamina import models

FILES = ["mlp", "linear", "lenet", "resnet", "unet", "small_cnn", "word2vec"]


def test_models_all_is_the_union_of_the_model_files_all():
    union = [name for f in FILES for name in importlib.import_module(f"lamina.models.{f}").__all__]
    assert sorted(models.__all__) == sorted(union) and len(set(union)) == len(union)
    assert all(hasattr(models, name) for name in union)
