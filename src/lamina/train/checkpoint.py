"""Training checkpoints: model, optimizer, scheduler, RNG states, history and epoch in one
safetensors file (``lamina.save``: written atomically, loaded without executing code).

Stopping after epoch k and resuming from the checkpoint gives the same weights, bit for bit,
as a run that never stopped: the data order's generator and the global generator (dropout,
initialisation) are restored with everything else."""
from __future__ import annotations

from ..io import load, save


def save_checkpoint(path: str, trainer, epoch: int | None = None) -> str:
    state = trainer.state_dict()
    if epoch is not None:
        state["epoch"] = int(epoch)
    save(state, path)
    return path


def load_checkpoint(path: str) -> dict:
    return load(path)


def resume(trainer, path: str) -> int:
    """Load a checkpoint into ``trainer``; returns the epoch training continues from."""
    trainer.load_state_dict(load_checkpoint(path))
    return trainer.epoch
