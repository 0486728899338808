"""Colab helpers: keep results on Google Drive, upload a zip of class folders.

Every Colab notebook runs in its own fresh runtime, which starts empty and forgets everything
when it ends. Two cells make that work for the course:

- ``keep_results_on_drive()`` mounts Google Drive and points the results folder
  (``TLCOURSE_RESULTS_DIR``, see ``tlcourse.paths``) at a folder there, so a record one notebook
  saves is still there for the next notebook's runtime.
- ``upload_class_folders(destination)`` asks for a .zip of class folders (one sub-folder of
  images per class) and unpacks it safely into ``destination``, where notebook 09's "Your own
  images" section reads it.

Outside Colab both print one line saying what to do instead and return ``None``, so the same
cell runs everywhere. ``unpack_class_folders`` is the unpacking on its own (any zip, anywhere).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tlcourse.checks import check_text

DRIVE_MOUNT = "/content/drive"
DRIVE_HOME = f"{DRIVE_MOUNT}/MyDrive"
# Files that zip tools add and that are nobody's photos (macOS resource forks, Finder and Explorer files).
_JUNK_PARTS = ("__MACOSX",)
_JUNK_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")


def in_colab() -> bool:
    """True inside a Google Colab runtime (``google.colab`` is imported there from the start).

    Example:
        >>> in_colab()
        False
    """
    return "google.colab" in sys.modules


def keep_results_on_drive(folder: str = "tlcourse-results") -> Path | None:
    """In Colab: mount Google Drive and keep the course's result records in ``MyDrive/<folder>``.

    Sets ``TLCOURSE_RESULTS_DIR`` for this runtime, so every record saved from now on (and every
    record an earlier runtime saved there) is read from Drive. Run it in each notebook whose
    records you want to keep, before the records are saved or read. Colab asks once for permission.
    Outside Colab nothing changes: it prints where results stay and returns ``None``.

    Args:
        folder: the folder under ``MyDrive``, created when missing (a relative path, e.g.
            ``"courses/tlcourse-results"``).

    Returns:
        The results folder on Drive, or ``None`` outside Colab.

    Example:
        >>> keep_results_on_drive()  # doctest: +ELLIPSIS
        Not in Colab: results stay in the local results folder ...
    """
    from tlcourse.paths import RESULTS_ENV, results_dir

    folder = check_text("folder", folder, fix='pass a folder name under MyDrive, e.g. "tlcourse-results"')
    path = PurePosixPath(folder.strip().replace("\\", "/"))
    parts = tuple(part for part in path.parts if part not in (".", ""))
    if path.is_absolute() or ".." in parts or not parts or ":" in parts[0]:
        raise ValueError(f"folder={folder!r} is not a folder inside MyDrive: expected a relative name without "
                         "'..' (and not MyDrive itself). Fix: e.g. folder=\"tlcourse-results\".")
    if not in_colab():
        print(f"Not in Colab: results stay in the local results folder {results_dir()} "
              f"(set {RESULTS_ENV} to move it).")
        return None
    from google.colab import drive

    drive.mount(DRIVE_MOUNT)
    target = Path(DRIVE_HOME, *parts)
    target.mkdir(parents=True, exist_ok=True)
    os.environ[RESULTS_ENV] = str(target)
    print(f"Results are kept on Google Drive: {target} ({RESULTS_ENV} set for this runtime). Run this cell in "
          "every notebook whose records you want to keep or read.")
    return target


def upload_class_folders(destination: str | os.PathLike[str]) -> Path | None:
    """In Colab: upload a .zip of class folders and unpack it into ``destination``; return that folder.

    The zip holds one sub-folder per class, images inside (``cats/IMG_0001.jpg``, ``dogs/IMG_0107.png``);
    a single top-level folder around them (``my_photos/cats/...``, what zipping a folder gives) is
    stripped. Unpacking is safe: entries with absolute paths or ``..`` are refused, and no existing
    file is ever overwritten (see ``unpack_class_folders``). Outside Colab it prints how to put the
    folders there and returns ``None``.

    Args:
        destination: the folder that will hold the class sub-folders (created when missing).

    Returns:
        ``destination`` as a ``Path`` (the folder holding the class sub-folders), or ``None`` outside Colab.

    Raises:
        ValueError: nothing uploaded, more than one file, not a zip, an empty zip, no class folders,
            an unsafe entry.
        FileExistsError: a file the zip holds already exists in ``destination``.

    Example:
        >>> upload_class_folders("my_photos")  # doctest: +ELLIPSIS
        Not in Colab: put your photos into .../my_photos, one sub-folder per class ...
    """
    target = _check_destination(destination)
    if not in_colab():
        print(f"Not in Colab: put your photos into {target.resolve()}, one sub-folder per class "
              f"(e.g. {target / 'cats' / 'IMG_0001.jpg'}), or point the next cell at the folder they are in.")
        return None
    from google.colab import files

    uploaded = files.upload()
    if not uploaded:
        raise ValueError("No file was uploaded (the dialog was closed or cancelled). Fix: run the cell again and "
                         "choose one .zip file of class folders.")
    if len(uploaded) != 1:
        raise ValueError(f"{len(uploaded)} files were uploaded ({', '.join(sorted(uploaded))}); expected one .zip "
                         "of class folders. Fix: zip the folder that holds the class sub-folders and upload that.")
    (name, data), = uploaded.items()
    return unpack_class_folders(io.BytesIO(data), target, name=name)


MAX_NAME_BYTES = 255
"""The longest file or folder name most file systems take."""


def _check_writable_names(paths: dict[str, tuple[str, ...]], shown: str) -> None:
    """Refuse, before anything is written, names no file system takes and a file that is also a folder."""
    for key, path in paths.items():
        long = [part for part in path if len(part.encode()) > MAX_NAME_BYTES]
        if long:
            raise ValueError(f"{shown} holds {key!r}, whose name {long[0][:40]!r}… is longer than {MAX_NAME_BYTES} bytes: "
                             "expected names a file system takes. Fix: rename it and zip the folder again.")
    folders = {path[:depth] for path in paths.values() for depth in range(1, len(path))}
    clash = [key for key, path in paths.items() if path in folders]
    if clash:
        raise ValueError(f"{shown} holds {clash[0]!r} both as a file and as a folder of other files: expected each name "
                         "once. Fix: rename the file and zip the folder again.")


def _check_readable(zipped: zipfile.ZipFile, paths: dict[str, tuple[str, ...]], shown: str) -> None:
    """Refuse, before anything is written, a zip that would unpack only in part."""
    encrypted = [key for key in paths if zipped.getinfo(key).flag_bits & 0x1]
    if encrypted:
        raise ValueError(f"{shown} is password-protected ({encrypted[0]}): expected a plain zip. Fix: zip the "
                         "folder again without a password.")
    seen: dict[str, str] = {}
    for key, path in paths.items():
        folded = "/".join(path).casefold()  # cats/A.jpg and cats/a.jpg are one file on macOS and Windows
        if folded in seen:
            raise ValueError(f"{shown} holds {seen[folded]!r} and {key!r}, which unpack to the same file: expected "
                             "each file once. Fix: rename one of them and zip the folder again.")
        seen[folded] = key
    try:
        broken = zipped.testzip()  # reads every entry once and checks its CRC
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{shown} cannot be read ({error}); nothing was unpacked. Fix: zip the folder again "
                         "(a standard zip, no password) and upload it once more.") from error
    if broken is not None:
        raise ValueError(f"{shown} is damaged: {broken!r} fails its checksum (an upload cut short?); nothing was "
                         "unpacked. Fix: upload the zip again, or zip the folder again.")


def unpack_class_folders(archive: str | os.PathLike[str] | io.BytesIO, destination: str | os.PathLike[str], *,
                         name: str | None = None) -> Path:
    """Unpack a zip of class folders into ``destination`` and return it; refuse anything unsafe.

    - Entries with an absolute path, a drive letter or ``..`` are refused (nothing is written).
    - A single top-level folder holding the class folders is stripped.
    - Files the zip tools add (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``) are skipped; so are files
      loose at the top, next to the class folders (printed).
    - No file is overwritten: when any target exists, nothing is written and ``FileExistsError`` names it.
    - Files are written to a temporary name and renamed (never half-written); links in the zip
      become plain files.

    Args:
        archive: a path to a .zip file, or its bytes in a ``BytesIO``.
        destination: the folder that will hold the class sub-folders (created when missing).
        name: the uploaded file's name, for messages.

    Example:
        >>> import tempfile, zipfile
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as zipped:
        ...     zipped.writestr("my_photos/cats/1.jpg", b"...")
        ...     zipped.writestr("my_photos/dogs/2.jpg", b"...")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = unpack_class_folders(buffer, Path(tmp) / "photos")  # doctest: +ELLIPSIS
        ...     sorted(path.name for path in folder.iterdir())
        Unpacked 2 files in 2 class folders (cats 1, dogs 1) into .../photos
        ['cats', 'dogs']
    """
    target = _check_destination(destination)
    shown = name or (str(archive) if not isinstance(archive, io.BytesIO) else "the upload")
    if not isinstance(archive, (io.BytesIO, str, os.PathLike)):
        raise TypeError(f"archive is a {type(archive).__name__}: expected the path of a .zip file, or its bytes in "
                        "io.BytesIO. Fix: e.g. unpack_class_folders(io.BytesIO(data), folder) for uploaded bytes.")
    if not isinstance(archive, io.BytesIO) and Path(archive).is_dir():
        raise ValueError(f"archive={str(archive)!r} is a folder: expected a .zip file. Fix: use the folder of class "
                         "folders directly (no unpacking needed), or zip it first.")
    if not isinstance(archive, io.BytesIO) and not Path(archive).is_file():
        raise FileNotFoundError(f"archive={str(archive)!r} does not exist: expected a .zip file of class folders. "
                                "Fix: check the path.")
    if not zipfile.is_zipfile(archive):
        raise ValueError(f"{shown} is not a zip file: expected a .zip of class folders (one sub-folder of images "
                         "per class). Fix: zip the folder that holds the class sub-folders (right-click → "
                         "Compress / Send to → Compressed folder) and upload the .zip.")
    if isinstance(archive, io.BytesIO):
        archive.seek(0)
    with zipfile.ZipFile(archive) as zipped:
        entries = [info for info in zipped.infolist() if not info.is_dir()]
        paths = {}
        for info in entries:
            path = _safe_parts(info.filename, shown)
            if any(part in _JUNK_PARTS for part in path) or path[-1] in _JUNK_NAMES:
                continue
            paths[info.filename] = path
        if not paths:
            raise ValueError(f"{shown} holds no files: expected class folders with images inside. Fix: zip the "
                             "folder that holds the class sub-folders, not an empty one.")
        _check_readable(zipped, paths, shown)
        # Wrapper folders: my_photos/cats/1.jpg → cats/1.jpg (also Archive/my_photos/cats/1.jpg, or a
        # wrapper that holds a stray readme next to the class folders).
        while len({path[0] for path in paths.values()}) == 1 and any(len(path) >= 3 for path in paths.values()):
            paths = {key: path[1:] for key, path in paths.items()}
        loose = sorted("/".join(path) for path in paths.values() if len(path) == 1)
        paths = {key: path for key, path in paths.items() if len(path) > 1}
        if not paths:
            raise ValueError(f"{shown} has no class folders: its files ({', '.join(loose[:5])}"
                             f"{' …' if len(loose) > 5 else ''}) sit at the top. Expected one sub-folder per class, "
                             "e.g. cats/IMG_0001.jpg and dogs/IMG_0107.png. Fix: put each class's images in a "
                             "folder named after the class, and zip the folder holding those.")
        _check_writable_names(paths, shown)
        existing = [target.joinpath(*path) for path in paths.values() if os.path.lexists(target.joinpath(*path))]
        if existing:
            raise FileExistsError(
                f"{existing[0]} already exists ({len(existing)} of the zip's {len(paths)} files do); nothing "
                "was unpacked, nothing overwritten. Fix: unpack into a new folder (another destination), or "
                "delete or rename the existing folder first if you no longer need it.")
        for key, path in paths.items():
            file = target.joinpath(*path)
            file.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".unpacking.", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(zipped.read(key))
                _publish(temporary, file)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
    counts: dict[str, int] = {}
    for path in paths.values():
        counts[path[0]] = counts.get(path[0], 0) + 1
    if loose:
        print(f"Skipped {len(loose)} file(s) outside the class folders: {', '.join(loose[:5])}")
    listing = ", ".join(f"{label} {count}" for label, count in sorted(counts.items()))
    print(f"Unpacked {len(paths)} files in {len(counts)} class folders ({listing}) into {target}")
    return target


def _publish(temporary: str, file: Path) -> None:
    """Give the finished temporary file its name, never replacing a file of that name."""
    try:
        os.link(temporary, file)  # atomic, and fails rather than replace a file that appeared meanwhile
    except FileExistsError:
        raise FileExistsError(f"{file} appeared while unpacking; it was left as it is. Fix: unpack into a new "
                              "folder.") from None
    except OSError:  # a file system without hard links (some network drives): check, then rename
        if file.exists():
            raise FileExistsError(f"{file} appeared while unpacking; it was left as it is. Fix: unpack into a "
                                  "new folder.") from None
        os.replace(temporary, file)


def _check_destination(destination: str | os.PathLike[str]) -> Path:
    if not isinstance(destination, (str, os.PathLike)) or not str(destination).strip():
        raise TypeError(f"destination={destination!r} is not a folder path: expected a str or Path. "
                        "Fix: e.g. destination=\"my_photos\".")
    target = Path(destination).expanduser()
    if target.exists() and not target.is_dir():
        raise ValueError(f"destination={str(destination)!r} is a file, not a folder. Fix: pass a folder path.")
    return target


def _safe_parts(entry: str, shown: str) -> tuple[str, ...]:
    posix = entry.replace("\\", "/")
    path = PurePosixPath(posix)
    drive = len(posix) >= 2 and posix[1] == ":"
    if path.is_absolute() or drive or ".." in path.parts:
        raise ValueError(f"{shown} holds the entry {entry!r}, which would be written outside the destination "
                         "folder (an absolute path or '..'); nothing was unpacked. Fix: zip the class folders "
                         "again with an ordinary zip tool.")
    parts = tuple(part for part in path.parts if part not in ("", "."))
    return parts
