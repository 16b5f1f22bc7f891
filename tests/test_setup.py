# SPDX-License-Identifier: MIT
"""``scripts/setup.sh``, which ``scripts/test.sh`` runs first, on what it finds.

Installing is what a fresh machine proves (see ``.ci/run``); these check the two
cases every run meets: everything present, and a user who cannot install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ._servers import TESTS

SETUP = TESTS.parent / "scripts" / "setup.sh"


def run_setup(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, str(SETUP), *args],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_quiet_when_everything_is_present() -> None:
    # The run that got here installed everything, so this one only looks.
    result = run_setup(sys.executable, path=os.environ["PATH"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_says_what_to_install_when_it_cannot(tmp_path: Path) -> None:
    # A user who is not root, on a PATH without chromium, node or npm.
    for name in ("dirname", "bash"):
        found = shutil.which(name)
        assert found is not None
        (tmp_path / name).symlink_to(found)
    (tmp_path / "id").write_text("#!/bin/sh\necho 1000\n")
    (tmp_path / "id").chmod(0o755)
    result = run_setup(path=str(tmp_path))
    assert result.returncode == 0  # the tests run, and those needing a tool fail
    assert "sudo apt-get install chromium nodejs npm redis-server\n" in result.stderr
