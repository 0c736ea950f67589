"""Every public name is documented."""

from pathlib import Path

import rprop_np

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_public_name_is_in_the_api_reference():
    text = (DOCS / "api.md").read_text()
    missing = [name for name in rprop_np.__all__ if f"rprop_np.{name}" not in text]
    assert not missing, f"not in docs/api.md: {missing}"



def test_the_demo_explains_its_timings_and_status_codes():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "rprop_np"], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "The first row's time includes compiling" in out
    statuses = {int(line.split()[-2]) for line in out.splitlines()
                if line.endswith(("(success)", "(failure)")) and " irprop" in line}
    for status in statuses:
        assert f"  {status}: {rprop_np.STATUS_MESSAGES[status]}" in out
