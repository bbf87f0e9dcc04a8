"""Every file of a run folder (lamina.runs.train_run) gets the mode of an ordinary open(): 0o666 minus
the umask, not a private 0o600 (lamina._atomic creates its temporaries that way)."""
from __future__ import annotations

import os
import stat

import pytest

from lamina.runs import RunConfig, train_run


@pytest.mark.parametrize("umask", [0o027])  # 0o640: neither 0o600 nor the usual 0o644
def test_run_folder_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        run_dir, _ = train_run(RunConfig(model="logistic", epochs=1, out=str(tmp_path)), progress=False,
                               echo=lambda *a: None)
    finally:
        os.umask(old)
    files = sorted(os.listdir(run_dir))
    assert {"config.toml", "metrics.json", "history.csv", "checkpoint.safetensors"} <= set(files)
    for name in files:
        assert stat.S_IMODE(os.stat(os.path.join(run_dir, name)).st_mode) == 0o666 & ~umask, name
