"""Finished chunks of a map run kept on disk, so that a killed run resumes where it stopped.

Beside the result ``out`` a folder ``.<name>.parts`` holds ``manifest.json`` (what is being fitted:
source identity, map shape, rows per chunk, recipe hash, columns) and one ``<index>.npy`` per
finished chunk. Each chunk file is written atomically (temporary name, fsync, rename), so whatever
moment the run is killed a chunk is there complete or not at all — an HDF5 file written in place
is not crash-safe, which is why the finished chunks are separate files and not rows of ``out``.
``out`` itself is assembled (again atomically) only when every chunk is there; then the folder
is removed.
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..errors import FitError


class ChunkStore:
    """The ``.parts`` folder of one result file: which chunks are done, their packed results."""

    def __init__(self, out, identity: dict):
        out = Path(out)
        self.folder = out.with_name(f".{out.name}.parts")
        self.identity = identity
        manifest = self.folder / "manifest.json"
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError) as exc:
                raise FitError(f"unreadable resume manifest ({exc}); delete the folder to start "
                               "again", path=str(manifest)) from None
            changed = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
            if changed and not any(self.folder.glob("*.npy")):
                changed = []             # a run that stopped before its first chunk: nothing lost
                self._write_manifest(manifest)
            if changed:
                raise FitError(f"unfinished run of a different job here ({', '.join(changed)} "
                               "differ); delete the folder or rerun with the same input, recipe "
                               "and chunk", path=str(self.folder))
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_manifest(manifest)

    def _write_manifest(self, manifest: Path) -> None:
        with atomic_write(manifest, "w") as fh:
            json.dump(self.identity, fh, indent=1)

    def _file(self, index: int) -> Path:
        return self.folder / f"{index:07d}.npy"

    def done(self, n_chunks: int) -> set[int]:
        """Indices of the chunks already finished (complete files only: see the module doc)."""
        return {i for i in range(n_chunks) if self._file(i).exists()}

    def save(self, index: int, packed: np.ndarray) -> None:
        # through bytes: np.save on a real file uses fwrite, whose short write (disk full,
        # ulimit -f) is an OSError without errno, i.e. without the reason the user needs
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(packed, dtype=float))   # floats: never pickled
        with atomic_write(self._file(index), "wb", what="finished map chunk") as fh:
            fh.write(buf.getbuffer())

    def load(self, index: int) -> np.ndarray:
        try:
            return np.load(self._file(index))     # numpy's default refuses pickled objects
        except (OSError, ValueError) as exc:
            raise FitError(f"unreadable finished chunk {index} ({exc}); delete the folder to "
                           "start again", path=str(self.folder)) from None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["ChunkStore"]
