"""check_size walks each shared value once, yet holds the depth limit wherever it is reached."""

from __future__ import annotations

import pytest
import yaml

from auditor.sources.yamldocs import TooLarge, check_size

NEST = 90  # levels each anchor adds: under MAX_DEPTH where written


@pytest.mark.parametrize(
    "text",
    [
        # A shared value reached first shallow (the walk takes the last key first), then
        # again 90 levels down: 110 levels in all.
        "x: " + "[" * NEST + "&a " + "[" * 20 + "]" * (20 + NEST) + "\ny: *a\n",
        # An anchor nesting another 90 levels down, both named shallow-first: 180 levels.
        f"a0: &a0 {'[' * NEST}1{']' * NEST}\n"
        f"a1: &a1 {'[' * NEST}*a0{']' * NEST}\n"
        "refs: [*a1, *a0]\n",
    ],
)
def test_a_shared_value_counts_its_height_wherever_it_is_reached(text: str) -> None:
    with pytest.raises(TooLarge, match="nested deeper than 100 levels"):
        check_size(yaml.safe_load(text))
