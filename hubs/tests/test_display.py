"""How a person reads sizes: binary units named as such (KiB, MiB, GiB, TiB)."""

from __future__ import annotations

import pytest

from hubs.display import bytes_label


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1,023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (1_572_864, "1.5 MiB"),
        (1024**2 - 1, "1.0 MiB"),  # never "1,024.0 KiB"
        (20 * 1024**3, "20 GiB"),
        (1024**4, "1 TiB"),
        (3 * 1024**5, "3,072 TiB"),
    ],
)
def test_bytes_label_uses_the_largest_binary_unit(size: int, label: str) -> None:
    assert bytes_label(size) == label


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (10, "10 bytes"),
        (1024, "1 KiB (1,024 bytes)"),
        (1_572_864, "1.5 MiB (1,572,864 bytes)"),
    ],
)
def test_bytes_label_exact_adds_the_bytes_when_a_unit_is_used(size: int, label: str) -> None:
    assert bytes_label(size, exact=True) == label
