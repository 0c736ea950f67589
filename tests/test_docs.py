"""Every public name is documented."""

from pathlib import Path

import rprop_np

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_public_name_is_in_the_api_reference():
    text = (DOCS / "api.md").read_text()
    missing = [name for name in rprop_np.__all__ if f"rprop_np.{name}" not in text]
    assert not missing, f"not in docs/api.md: {missing}"

