"""Where the course keeps downloads and results.

Inside a clone of the course repository everything lives next to the notebooks:
``data/tfds`` (TensorFlow Datasets), ``data/keras`` (Keras Applications weights) and
``results/`` (one small JSON record per experiment, git-ignored). Installed elsewhere (Colab),
the library defaults are kept and results go to ``./tlcourse_results``.

The import order does not matter. ``import tlcourse`` sets ``TFDS_DATA_DIR`` and ``KERAS_HOME``
(unless you set them yourself: your values always win), and then:

- TFDS: the course passes the folder explicitly (``data_dir=tfds_data_dir()``) to every
  ``tfds.load``/``tfds.builder`` it makes, so it holds even when ``tensorflow_datasets`` was
  imported first (tfds reads ``TFDS_DATA_DIR`` only at import).
- Keras: Keras reads ``KERAS_HOME`` only at import, and ``keras.applications`` takes no cache
  folder argument. When Keras was imported first, ``point_keras_cache()`` moves the cache folder
  Keras already chose to ``KERAS_HOME`` (Keras 3 keeps it in ``keras.src.backend.config``, where
  ``keras.utils.get_file`` looks it up at every download). Where that is impossible (a future
  Keras without that setting), ``tlcourse.setup()`` warns once, naming the folder the weights
  will go to and the fix.
- A read-only download cache (a class share, a USB stick filled by ``prefetch --data-dir``) is
  read as it is: TFDS and kagglehub read a prepared dataset or a cached preset without writing;
  Keras, which will not use a folder it cannot write to, gets a writable stand-in folder that
  links the share's weight files (``keras_home_for``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESULTS_ENV = "TLCOURSE_RESULTS_DIR"
DATA_ENV = "TLCOURSE_DATA_DIR"  # a shared download cache: a USB stick, a classroom share


def repo_root() -> Path | None:
    """Return the course repository's root folder, or ``None`` when installed elsewhere.

    Example:
        >>> repo_root()  # doctest: +SKIP
        PosixPath('/home/me/transfer-learning-course')
    """
    candidate = PACKAGE_DIR.parent
    if (candidate / "notebooks").is_dir() and (candidate / "pyproject.toml").is_file():
        return candidate
    return None


def data_dir() -> Path | None:
    """Return the course's download cache: ``$TLCOURSE_DATA_DIR``, else ``<repo>/data``.

    ``None`` outside a clone with the variable unset (the libraries' own default folders apply).
    Datasets go to its ``tfds/``, weights to ``keras/``, KerasHub presets to ``kagglehub/``.
    """
    override = os.environ.get(DATA_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    root = repo_root()
    return root / "data" if root else None


def use_data_dir(folder: str | os.PathLike[str]) -> dict[str, str]:
    """Make ``folder`` the download cache from now on, overriding any earlier cache variables.

    Sets ``TLCOURSE_DATA_DIR`` and points ``TFDS_DATA_DIR``, ``KERAS_HOME`` and ``KAGGLEHUB_CACHE``
    at its subfolders (an already imported Keras too, see ``point_keras_cache``). Returns the
    values in effect, like ``configure_caches``. What ``prefetch --data-dir`` calls.

    Example:
        >>> use_data_dir("/media/usb/tlcourse-data")  # doctest: +SKIP
        {'TFDS_DATA_DIR': '/media/usb/tlcourse-data/tfds', ...}
    """
    base = Path(folder).expanduser().resolve()
    os.environ[DATA_ENV] = str(base)
    for key, sub in CACHE_FOLDERS:
        os.environ[key] = _SET_BY_COURSE[key] = str(base / sub)
    warning = point_keras_cache()
    if warning:
        print(warning, file=sys.stderr)
    return configure_caches()


def folder_size(path: str | os.PathLike[str]) -> int:
    """Total size in bytes of the files under ``path`` (0 when it does not exist)."""
    root = Path(path)
    return sum(item.stat().st_size for item in root.rglob("*") if item.is_file()) if root.is_dir() else 0


def results_dir() -> Path:
    """Return the folder for result records: ``$TLCOURSE_RESULTS_DIR``, else ``<repo>/results``.

    Outside a clone it is ``./tlcourse_results``. The folder is created on first use by
    :func:`tlcourse.results.save_result`, not here.
    """
    override = os.environ.get(RESULTS_ENV, "").strip()
    if override:
        return Path(override).expanduser()  # "~/results" as data_dir reads "~/data"
    root = repo_root()
    return root / "results" if root else Path.cwd() / "tlcourse_results"


CACHE_FOLDERS = (("TFDS_DATA_DIR", "tfds"), ("KERAS_HOME", "keras"), ("KAGGLEHUB_CACHE", "kagglehub"))
_SET_BY_COURSE: dict[str, str] = {}  # the cache variables configure_caches set itself, and to what


def configure_caches() -> dict[str, str]:
    """Point ``TFDS_DATA_DIR``, ``KERAS_HOME`` and ``KAGGLEHUB_CACHE`` at ``data/`` unless you set them.

    ``KAGGLEHUB_CACHE`` is where KerasHub presets (``from_preset``) download; kagglehub reads it at
    each call, so setting it late still works.

    A variable you set yourself always wins. One that this function set follows ``data_dir()``:
    set ``TLCOURSE_DATA_DIR`` after ``import tlcourse`` and the next call (``setup()`` makes one)
    moves all three caches together, as ``features_dir()`` moves with it. Returns the values in
    effect. Called by ``import tlcourse`` and ``setup()``; harmless to call again. It only sets
    environment variables; ``point_keras_cache`` handles a Keras that is already imported.
    """
    base = data_dir()
    for key, sub in CACHE_FOLDERS:
        current = os.environ.get(key)
        if current and _SET_BY_COURSE.get(key) != current:
            continue  # the learner's own value
        if base is None:
            if current:  # set by the course from a data folder that is no longer there
                del os.environ[key]
            _SET_BY_COURSE.pop(key, None)
            continue
        os.environ[key] = _SET_BY_COURSE[key] = str(base / sub)
    return {key: os.environ.get(key, "(library default)") for key, _ in CACHE_FOLDERS}


def tfds_data_dir() -> str | None:
    """Return the folder for TFDS datasets: ``$TFDS_DATA_DIR``, else ``<repo>/data/tfds``.

    ``None`` outside a clone with the variable unset (tfds then uses its own default). The
    course passes this as ``data_dir=`` to tfds, so it holds whatever was imported first.

    Example:
        >>> tfds_data_dir()  # doctest: +SKIP
        '/home/me/transfer-learning-course/data/tfds'
    """
    if os.environ.get("TFDS_DATA_DIR"):
        return os.environ["TFDS_DATA_DIR"]
    base = data_dir()
    return str(base / "tfds") if base else None


def keras_cache_dir() -> str:
    """Return the folder under which Keras keeps downloads (weights go to its ``models/``).

    That is the folder the imported Keras uses (``keras.src.backend.config.keras_home()``), or,
    before Keras is imported, the one it will read: ``$KERAS_HOME``, else ``~/.keras``.

    Example:
        >>> keras_cache_dir()  # doctest: +SKIP
        '/home/me/transfer-learning-course/data/keras'
    """
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and callable(getattr(config, "keras_home", None)):
        return str(config.keras_home())
    return os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")


def writable(folder: str | os.PathLike[str]) -> bool:
    """True when files can be created in ``folder``, or in its nearest existing parent when it is missing.

    The same test Keras makes before it downloads (``os.access(..., os.W_OK)``): a read-only
    mount fails it even for root; a folder that would only be read-only to another user does not.

    Example:
        >>> writable(Path.cwd())
        True
    """
    path = Path(folder).expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


def keras_home_for(wanted: str | os.PathLike[str]) -> str:
    """Return the folder Keras must use as its cache so that the weights in ``wanted`` load offline.

    ``wanted`` itself when it is writable. A read-only one (a class share, a USB stick) cannot be
    Keras' cache as it is: ``keras.utils.get_file`` then switches to ``/tmp/.keras``, misses the
    weights and starts a download. So the course keeps a writable stand-in folder in the temporary
    folder whose ``models/`` holds a link to each of ``wanted``'s weight files: Keras finds (and
    hash-checks) them there, reading the share, and downloads only what the share lacks, into the
    stand-in. The links are refreshed at every call.

    Example:
        >>> keras_home_for(Path.cwd()) == str(Path.cwd())
        True
    """
    wanted_path = Path(wanted).expanduser()
    if writable(wanted_path):
        return str(wanted_path)
    digest = hashlib.sha1(str(wanted_path.resolve()).encode()).hexdigest()[:10]
    stand_in = Path(tempfile.gettempdir()) / f"tlcourse-keras-{digest}"
    models = stand_in / "models"
    models.mkdir(parents=True, exist_ok=True)
    shared = wanted_path / "models"
    for file in sorted(shared.iterdir()) if shared.is_dir() else []:
        link = models / file.name
        if file.is_file() and not link.exists():
            if link.is_symlink():  # a link to a file that has gone
                link.unlink()
            link.symlink_to(file)
    return str(stand_in)


def keras_weights_path(file_name: str, keras_home: str | os.PathLike[str] | None = None) -> Path:
    """Return where ``keras.applications`` looks for the weights file ``file_name``: the loaders' own path.

    ``keras.utils.get_file(..., cache_subdir="models")`` looks in ``<cache>/models``, where the cache
    is Keras' folder when writable and ``/tmp/.keras`` otherwise. ``keras_home`` (default: the one
    in effect, ``KERAS_HOME``) goes through ``keras_home_for`` first, as ``point_keras_cache`` does.
    ``tlcourse doctor`` calls a weights file "cached" only when it is there.

    Example:
        >>> keras_weights_path("x.h5", Path.cwd()) == Path.cwd() / "models" / "x.h5"
        True
    """
    if keras_home is None:
        point_keras_cache()
        home = keras_cache_dir()
    else:
        home = keras_home_for(keras_home)
    if not os.access(os.path.expanduser(home), os.W_OK):  # keras/src/utils/file_utils.py's own fallback
        home = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return Path(home) / "models" / file_name


def keras_cache_note() -> str:
    """One line for ``setup()``'s report: ``KERAS_HOME`` and, when it is read-only, how it is still read."""
    wanted = os.environ.get("KERAS_HOME")
    used = keras_cache_dir()
    if wanted and os.path.abspath(os.path.expanduser(wanted)) != os.path.abspath(used) and not writable(wanted):
        return (f"KERAS_HOME: {wanted} is read-only: its weights are read through links in {used}, where new "
                "downloads go (lost when this machine's temporary folder is cleared)")
    return f"KERAS_HOME: {used} (weights go to its models/ folder)"


def point_keras_cache() -> str | None:
    """Make an already imported Keras download into ``$KERAS_HOME``; return a warning or ``None``.

    Keras reads ``KERAS_HOME`` once, at import. When it was imported before ``tlcourse`` (or the
    variable changed since), this sets the folder Keras 3 looks up at every download
    (``keras.src.backend.config._KERAS_DIR``, read by ``keras.utils.get_file``) and creates it
    (``get_file`` falls back to ``/tmp/.keras`` for a folder it cannot write to). When that is
    impossible it changes nothing and returns one line that says where weights will go and
    how to fix it. Nothing to do (Keras not imported yet, or ``KERAS_HOME`` unset) returns ``None``.
    """
    wanted = os.environ.get("KERAS_HOME")
    config = sys.modules.get("keras.src.backend.config")
    if not wanted or config is None:
        return None
    wanted = keras_home_for(wanted)  # a read-only share: a writable stand-in that links its weights
    current = getattr(config, "keras_home", lambda: None)()
    if current is not None and os.path.abspath(os.path.expanduser(str(current))) == os.path.abspath(
            os.path.expanduser(wanted)):
        return None
    fix = (f"Keras was imported before tlcourse and keeps its downloads (ImageNet weights) in "
           f"{current or 'its default folder'}, not KERAS_HOME={wanted}. To use {wanted}: restart "
           "the kernel and run the setup cell first, or set KERAS_HOME before starting Python.")
    if current is None or not hasattr(config, "_KERAS_DIR"):
        return fix
    try:
        os.makedirs(os.path.expanduser(wanted), exist_ok=True)
    except OSError as error:
        return f"{fix} ({wanted} cannot be created: {error})"
    config._KERAS_DIR = wanted
    return None if config.keras_home() == wanted else fix
