"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file ``tlcourse`` writes (result records, cached features, the demo images' list) goes
through ``write_atomically``: the content is written to a temporary file with a unique name in
the same folder, flushed to disk, then renamed over the real name (``os.replace``, atomic on
POSIX and Windows). So:

- a kernel killed while saving, or a full disk, leaves the previous file intact (and no
  temporary file: it is removed when the write fails);
- a reader never sees a 0-byte or truncated file, even while another kernel writes it;
- two writers at once each write their own temporary file; the last rename wins, and the
  file is always one of the two complete versions;
- a writer killed outright (SIGKILL) leaves its temporary file, named after its machine and
  process id; the next write of the same file removes it once that process is gone.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_atomically(Path(tmp) / "a.txt", b"hello")
    ...     path.read_bytes(), sorted(p.name for p in Path(tmp).iterdir())
    (b'hello', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import glob
import os
import socket
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMPORARY_SUFFIX = ".tlcourse-partial"
"""Ending of the temporary files ``write_atomically`` writes before the rename."""


def write_atomically(path: str | os.PathLike, content: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write ``content`` to ``path`` atomically (temporary file + rename); return ``path``.

    A symbolic link is written through: its target gets the new content and the link stays (a
    learner's link to a shared file is never replaced by a copy). A file that is replaced keeps
    its permissions.

    Args:
        path: the file to write; its folder must exist.
        content: the bytes, or a function that writes them to the open binary file it is given
            (e.g. ``lambda file: np.savez(file, x=x)``).

    Raises:
        OSError: the folder is missing or read-only, the disk is full… The old file, if any, is
            then unchanged and the temporary file is removed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_atomically(Path(tmp) / "b.bin", lambda file: file.write(b"xy")).read_bytes()
        b'xy'
    """
    given = path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    _remove_orphans(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.{_host()}-{os.getpid()}.", suffix=TEMPORARY_SUFFIX,
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            if callable(content):
                content(file)
            else:
                file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:  # replacing a file keeps its permissions (a private or read-only file stays so)
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:  # a new file: mkstemp makes it private (0600); a normal file is not
            mode = 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return given


def _host() -> str:
    return "".join(char if char.isalnum() else "_" for char in socket.gethostname()) or "host"


def _remove_orphans(path: Path) -> None:
    """Delete temporary files left for ``path`` by killed writers of this machine (their process is gone).

    A writer killed by SIGKILL (a kernel restart, the out-of-memory killer) cannot clean up; its
    temporary file is removed by the next write of the same file. Temporary files of live
    processes, or of other machines sharing the folder, are left alone.
    """
    host = _host()
    with contextlib.suppress(OSError):
        for orphan in path.parent.glob(f".{glob.escape(path.name)}.{glob.escape(host)}-*{TEMPORARY_SUFFIX}"):
            pid = orphan.name[len(f".{path.name}.{host}-"):].split(".", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    orphan.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
