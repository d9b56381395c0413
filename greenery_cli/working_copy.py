"""The writer's private working copy of the warehouse, renamed over the published file when
the write is done (docs/warehouse.md, "Readers, writers and crashes")."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from greenery_cli.errors import DiskFull, WarehouseError, disk_full


class WorkingCopy:
    """The writer's private copy of the published file, swapped in when the write is done.

    Readers open the published file read-only and keep the inode they opened, so they never
    wait for a writer and never see its work half done; the writer copies the published file
    beside it (copy_file_range), writes and checkpoints the copy, then renames it over the
    published path in one step. Killed at any instant, the published file is the one before or
    the one after; the next writer removes what a killed one left. docs/warehouse.md.
    """

    def __init__(self, published: Path) -> None:
        self.published = published
        self.file = published.with_name(f".{published.name}.work-{os.getpid()}")
        self.existed = False

    def _leftovers(self) -> list[Path]:
        import glob

        return sorted(self.published.parent.glob(f".{glob.escape(self.published.name)}.work-*"))

    def clear_leftovers(self) -> None:
        """Under the writer lock: remove what killed writers left beside the published file."""
        for leftover in self._leftovers():
            _remove(leftover)

    def prepare(self, fold_wal: Callable[[Path], None]) -> None:
        """Under the writer lock: clear what killed writers left, then copy the published file
        (after `fold_wal` has checkpointed a WAL an older greenery left beside it)."""
        self.clear_leftovers()
        self.existed = self.published.exists()
        if not self.existed:
            return
        if self.published.with_name(self.published.name + ".wal").exists():
            fold_wal(self.published)
        try:
            copy_file(self.published, self.file)
        except OSError as exc:
            self.discard()
            full = disk_full(exc)
            if full is not None:
                raise self._full() from None
            raise WarehouseError(
                f"cannot copy warehouse {self.published} to write it: {exc.strerror or exc}"
            ) from None

    def _full(self) -> DiskFull:
        return DiskFull(
            f"no space left on the device writing warehouse {self.published} (a write needs "
            f"room for a second copy beside it in {self.published.parent}); free some space "
            "and run again"
        )

    def translate(self, exc: BaseException) -> BaseException:
        """A full disk while writing the copy, named as the warehouse; anything else unchanged."""
        full = disk_full(exc)
        return self._full() if full is not None else exc

    def publish(self) -> None:
        """Make the finished copy the warehouse, atomically and durably."""
        from greenery_cli import interrupts

        if self.file.with_name(self.file.name + ".wal").exists():
            self.discard()
            raise WarehouseError(
                f"warehouse {self.published}: the write did not checkpoint; nothing was changed"
            )
        try:
            fd = os.open(self.file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            with interrupts.deferred():
                os.replace(self.file, self.published)
                interrupts.changed(str(self.published))
        except OSError as exc:
            self.discard()
            raise self.translate(exc) from None
        _fsync_dir(self.published.parent)
        _remove(self.file.with_name(self.file.name + ".tmp"))

    def discard(self) -> None:
        for path in (self.file, *(self.file.with_name(self.file.name + s) for s in _BESIDE)):
            _remove(path)


_BESIDE = (".wal", ".tmp")  # what DuckDB keeps beside a database file: its WAL, its spill folder
_COPY_CHUNK = 64 << 20  # copy_file_range per call: small enough to notice an interrupt quickly


def copy_file(source: Path, target: Path) -> None:
    """Copy in the kernel: copy_file_range (a reflink on btrfs/XFS, server-side on NFS 4.2),
    else sendfile via shutil. The target is new (O_EXCL) and keeps the source's mode."""
    import shutil
    import stat

    with source.open("rb") as src:
        info = os.fstat(src.fileno())
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(info.st_mode))
        with os.fdopen(fd, "wb") as dst:
            copied = 0
            if hasattr(os, "copy_file_range"):
                try:
                    while copied < info.st_size:
                        step = os.copy_file_range(
                            src.fileno(), dst.fileno(), min(_COPY_CHUNK, info.st_size - copied)
                        )
                        if step == 0:
                            break
                        copied += step
                except OSError as exc:
                    if copied or exc.errno not in (
                        errno.EXDEV,
                        errno.ENOSYS,
                        errno.EINVAL,
                        errno.EOPNOTSUPP,
                        errno.EPERM,
                    ):
                        raise
            if copied < info.st_size:
                src.seek(copied)
                dst.seek(copied)
                shutil.copyfileobj(src, dst, _COPY_CHUNK)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
