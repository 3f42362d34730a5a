"""Readers: one module per format, and :func:`read` which sniffs the content.

Each format module exposes ``NAME``, ``sniff(head: bytes, path: Path) -> bool`` and
``read(path: Path, **options) -> list[xarray.DataArray]`` (Spectra, see ``xpsfit.spectrum``).
"""
