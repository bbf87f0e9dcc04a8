"""Reading checkpoints written by other libraries: ``torch.save`` zip files (``torch_pickle``)."""
from .errors import CheckpointError
from .torch_pickle import UnsafeCheckpointError, is_torch_zip, load_torch_zip

__all__ = ["CheckpointError", "UnsafeCheckpointError", "is_torch_zip", "load_torch_zip"]
