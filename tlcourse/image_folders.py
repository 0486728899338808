"""Your own images: the whole recipe on a folder of photos, one sub-folder per class.

Introduced in notebook 09 ("Your own images"). Put your photos in one folder with one
sub-folder per class::

    my_photos/
        cats/   IMG_0001.jpg  IMG_0002.jpg  ...
        dogs/   IMG_0107.png  ...

``check_image_folder`` scans the folder *before* anything is loaded and stops with a message
that names the file or folder and the fix (a missing folder, a class folder with no images, a
format Keras cannot read, a corrupt file), instead of a TensorFlow error halfway through
``fit``. ``load_image_folder`` then calls ``keras.utils.image_dataset_from_directory`` and
returns train/val datasets of float32 pixels in 0–255 — the same as ``tlcourse.data.prepare``
gives, so every model of the earlier notebooks works on them unchanged. ``load_image_file``
turns one photo into a batch of one for ``model.predict``, resized exactly as the folder's
images were. Grayscale, palette and RGBA (transparent) images become RGB, and phone photos are
turned upright as their EXIF orientation says (Keras alone ignores it); nothing in the folder is
ever changed, moved or deleted.

``write_demo_folder`` writes such a folder of procedurally drawn shapes (``tlcourse.shapes``),
as PNG and JPEG, in colour, grayscale and RGBA: the tests and notebook 09's offline demo use it.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = write_demo_folder(Path(tmp) / "shapes", per_class=5, image_size=32)
    ...     report = check_image_folder(folder)
    >>> report.class_names, report.counts["heart"], report.files
    (['arrow', 'crescent', 'heart'], 5, 15)
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tlcourse import checks, shapes
from tlcourse.files import write_atomically

IMAGE_EXTENSIONS: tuple[str, ...] = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""The file extensions ``keras.utils.image_dataset_from_directory`` loads (its
``ALLOWLIST_FORMATS``, any letter case); it silently skips every other file."""

IGNORED_NAMES: tuple[str, ...] = ("thumbs.db", "desktop.ini")
"""Files that operating systems put next to photos (compared in lower case); always skipped,
like every file or folder whose name starts with a dot (``.DS_Store``, ``.ipynb_checkpoints``)."""

IGNORED_FOLDERS: tuple[str, ...] = ("__MACOSX",)
"""Top-level folders that are never a class: macOS adds ``__MACOSX`` to the zip files it makes."""

DEMO_MARKER = ".tlcourse-demo"
"""The file ``write_demo_folder`` leaves in its folder, listing what it wrote (hidden, so ignored)."""

MAX_PIXELS = 89_478_485
"""Largest image (width × height) ``check_image_folder`` accepts: Pillow's decompression-bomb
threshold, about a 9,500 × 9,500 photo (0.27 GB decoded). Phone photos (12–50 megapixels) are far
below it; a huge panorama, or a corrupt JPEG whose header claims a huge size, would exhaust memory
inside TensorFlow during ``fit``. Shrink such a file, or raise this number knowingly."""

EXIF_ORIENTATION = 0x0112
"""The EXIF tag that says how a camera was held. Phones store photos sideways with this tag;
``tf.io.decode_image`` (and so ``image_dataset_from_directory``) ignores it, this module applies it."""

_LAYOUT = "folder/<class name>/<images>, e.g. my_photos/cats/1.jpg and my_photos/dogs/7.png"
_SHOWN = 5  # at most this many file names in one message
_CONVERT = ("convert it to PNG or JPEG (open it in an image viewer and save it as .png or .jpg, "
            "or in Python: PIL.Image.open(path).convert('RGB').save(new_path_ending_in_png))")


class FolderReport(NamedTuple):
    """What ``check_image_folder`` found, in the order Keras numbers the classes.

    Attributes:
        class_names: the class folders' names, sorted (class ``i`` is ``class_names[i]``).
        counts: images per class, ``{class name: count}``.
        files: images in all classes together.
        folder: the folder, as an absolute path.
    """

    class_names: list[str]
    counts: dict[str, int]
    files: int
    folder: Path

    @property
    def num_classes(self) -> int:
        """How many classes (class folders) there are."""
        return len(self.class_names)


class ImageFolder(NamedTuple):
    """Train/val datasets loaded from a folder of images, as ``load_image_folder`` returns them.

    Attributes:
        train_ds: batches of ``(images float32 [B, S, S, 3] in 0–255, labels int32 [B])``,
            reshuffled every epoch.
        val_ds: the same for validation, in a fixed order: the order of ``val_files``.
        class_names: label ``i`` is ``class_names[i]``.
        report: what ``check_image_folder`` found.
        train_files: the training images' paths (in no particular order).
        val_files: the validation images' paths, in ``val_ds`` order.
    """

    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    class_names: list[str]
    report: FolderReport
    train_files: tuple[str, ...]
    val_files: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """How many classes there are."""
        return len(self.class_names)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _is_ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def _listing(paths: Sequence[Path], folder: Path) -> str:
    shown = [str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
             for path in paths[:_SHOWN]]
    more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
    return ", ".join(shown) + more


def _formats() -> str:
    return ", ".join(IMAGE_EXTENSIONS)


def _shown_name(path: Path | str) -> str:
    """A path as printable text: bytes that are not UTF-8 become \\x.. escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _not_utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # os.listdir turned undecodable bytes into surrogates
        return True
    return False


def _header(path: Path) -> tuple[int, int, int] | str:
    """Read (width, height, EXIF orientation) from the file header without decoding the pixels,
    or return why it cannot be read."""
    import PIL.Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                width, height = image.size
                try:
                    orientation = int(image.getexif().get(EXIF_ORIENTATION, 1))
                except Exception:  # noqa: BLE001 - a damaged EXIF block: keep the pixels as stored
                    orientation = 1
    except PIL.Image.DecompressionBombError:
        return "too_large"
    except Exception:  # noqa: BLE001 - PIL cannot read it; TensorFlow's decode says why below
        return "unknown"
    return width, height, orientation if 1 <= orientation <= 8 else 1


def _orientation(path: Path | str) -> int:
    """The EXIF orientation of an image file (1, the default, when it has none)."""
    header = _header(Path(path))
    return header[2] if isinstance(header, tuple) else 1


def _apply_orientation(image: tf.Tensor, orientation: tf.Tensor | int) -> tf.Tensor:
    """Turn a decoded image ``[H, W, C]`` the way its EXIF orientation (1–8) says, as
    ``PIL.ImageOps.exif_transpose`` does: the photo is then upright, as the camera saw it."""
    branches = [
        lambda: image,  # 1: as stored
        lambda: tf.image.flip_left_right(image),  # 2: mirrored
        lambda: tf.image.rot90(image, 2),  # 3: upside down
        lambda: tf.image.flip_up_down(image),  # 4: mirrored upside down
        lambda: tf.image.transpose(image),  # 5: mirrored, turned
        lambda: tf.image.rot90(image, 3),  # 6: phone held upright (rotate 90° clockwise)
        lambda: tf.image.rot90(tf.image.transpose(image), 2),  # 7: mirrored, turned the other way
        lambda: tf.image.rot90(image, 1),  # 8: rotate 90° counter-clockwise
    ]
    index = tf.clip_by_value(tf.cast(orientation, tf.int32) - 1, 0, 7)
    return tf.switch_case(index, branches)


def _load(path: tf.Tensor, orientation: tf.Tensor, image_size: int) -> tf.Tensor:
    """Decode, turn upright and resize one file, as ``image_dataset_from_directory`` does plus EXIF."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = _apply_orientation(image, orientation)
    image = tf.image.resize(image, (image_size, image_size), method="bilinear")
    image.set_shape((image_size, image_size, 3))
    return image


def _size_problem(path: Path) -> str | None:
    header = _header(path)
    if header == "too_large" or (isinstance(header, tuple) and header[0] * header[1] > MAX_PIXELS):
        size = f"{header[0]} x {header[1]} pixels" if isinstance(header, tuple) else "its header claims a huge size"
        return (f"too large: {size}, above image_folders.MAX_PIXELS = {MAX_PIXELS:,}; decoding it would "
                "take gigabytes of memory inside TensorFlow")
    return None


def _decode_problem(path: Path) -> str | None:
    """Decode ``path`` as ``image_dataset_from_directory`` will; return why it failed, or None.

    JPEGs are decoded at 1/8 scale (``ratio=8``): libjpeg still reads every byte, so a
    truncated or corrupt file fails just the same, in about two thirds of the time.
    """
    too_large = _size_problem(path)
    if too_large:
        return too_large
    try:
        data = path.read_bytes()
        if not data:
            return "the file is empty (0 bytes)"
        if data[:3] == b"\xff\xd8\xff":
            tf.io.decode_jpeg(data, channels=3, ratio=8)
        else:
            tf.io.decode_image(data, channels=3, expand_animations=False)
    except (OSError, tf.errors.OpError) as error:
        text = getattr(error, "message", None) or str(error)
        text = re.sub(r"\{\{.*?\}\}|\[Op:\w+\].*", "", text).strip()  # TensorFlow's op names
        return text.splitlines()[-1][:160] if text else type(error).__name__
    return None


def _check_folder_path(folder: str | os.PathLike) -> Path:
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder={folder!r} is a {type(folder).__name__}: expected a folder path "
                        "(a str or pathlib.Path). Fix: pass e.g. folder='my_photos'.")
    path = Path(folder).expanduser().absolute()
    if not path.exists():
        raise FileNotFoundError(
            f"No folder at {path}. Expected the layout {_LAYOUT}. Fix: create it and put one "
            "sub-folder of images per class in it, or pass the right path (relative paths start "
            f"from the current folder, {Path.cwd()}).")
    if not path.is_dir():
        raise ValueError(f"{path} is a file, not a folder. Expected the layout {_LAYOUT}. Fix: "
                         "pass the folder that holds the class folders (to predict one image, "
                         "use load_image_file).")
    return path


def check_image_folder(folder: str | os.PathLike) -> FolderReport:
    """Scan a folder of class sub-folders before loading it; stop with a clear error if needed.

    Looks at exactly the files ``keras.utils.image_dataset_from_directory`` will load: each
    sub-folder is a class (sorted by name), and every file in it — or in folders below it —
    whose extension is one of ``IMAGE_EXTENSIONS`` is an image of that class. Every image is
    decoded once, as Keras will decode it, so a corrupt file is named now, not as an
    ``InvalidArgumentError`` in the middle of ``fit``; so is a file larger than ``MAX_PIXELS``
    (a huge panorama, or a damaged header that claims one) and a file or folder name that is
    not UTF-8 text (TensorFlow cannot open it). (That takes a moment for big photos:
    roughly 0.2–0.3 s per 12-megapixel JPEG on a laptop CPU, a third of what the
    first epoch spends decoding it.)

    Skipped, never errors: files and folders whose names start with a dot (``.DS_Store``,
    ``.ipynb_checkpoints``), ``Thumbs.db``, ``desktop.ini``, a top-level ``__MACOSX`` folder
    and non-image files directly in ``folder`` (e.g. a README). One exception: a dot-file with
    an image extension inside a class folder (macOS writes ``._IMG_0001.jpg`` next to each photo
    on some USB sticks) is loaded by Keras like any image, so it is checked like one.

    Nothing in the folder is changed, moved or deleted.

    Args:
        folder: the folder that holds one sub-folder of images per class.

    Returns:
        A ``FolderReport``: ``class_names``, ``counts`` per class, the number of ``files`` and
        the absolute ``folder``.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: ``folder`` is a file; it has no class folders (the images lie directly in
            it) or only one; images lie next to the class folders (Keras would leave them out);
            a class folder holds no images; a file has an extension Keras does not load; a file
            cannot be decoded. Each message names the files or folders and the fix.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     (Path(tmp) / "cats").mkdir()
        ...     check_image_folder(tmp)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Found only one class folder, 'cats', in ...: a classifier needs at least two classes. ...
    """
    folder = _check_folder_path(folder)
    entries = sorted(os.listdir(folder))
    class_names = [name for name in entries if (folder / name).is_dir()
                   and not name.startswith(".") and name not in IGNORED_FOLDERS]
    loose_images = [folder / name for name in entries
                    if not (folder / name).is_dir() and not _is_ignored(name) and _is_image_name(name)]
    if not class_names:
        found = (f" It holds {len(loose_images)} image(s) directly ({_listing(loose_images, folder)})."
                 if loose_images else "")
        raise ValueError(
            f"No class folders in {folder}.{found} Expected the layout {_LAYOUT}: the name of "
            "each sub-folder is a class name. Fix: make one sub-folder per class inside it and "
            "move each image into the folder of its class.")
    if len(class_names) < 2:
        raise ValueError(
            f"Found only one class folder, {class_names[0]!r}, in {folder}: a classifier needs at "
            f"least two classes. Expected the layout {_LAYOUT}. Fix: add a second class folder "
            f"next to {class_names[0]!r} (e.g. {folder / 'other'}) with images of another class; "
            "if the images of every class are inside this one folder, pass that folder instead.")
    if loose_images:
        raise ValueError(
            f"{len(loose_images)} image(s) lie directly in {folder}, next to the class folders: "
            f"{_listing(loose_images, folder)}. Keras would silently leave them out (it reads only "
            "the class folders). Fix: move each into the folder of its class, or out of this "
            "folder.")

    images: dict[str, list[Path]] = {}
    unsupported: list[Path] = []
    for name in class_names:
        images[name] = []
        for root, dirs, files in os.walk(folder / name):  # as Keras walks: no symlinked folders
            dirs.sort()
            hidden_root = any(part.startswith(".") for part in Path(root).relative_to(folder).parts)
            for file_name in sorted(files):
                path = Path(root) / file_name
                if _is_image_name(file_name):
                    images[name].append(path)  # Keras loads it, hidden or not: check it
                elif not (hidden_root or _is_ignored(file_name)):
                    unsupported.append(path)
    named = [folder / name for name in class_names] + [path for name in class_names for path in images[name]]
    odd_names = [path for path in named if _not_utf8(path.relative_to(folder))]
    if odd_names:
        shown = ", ".join(_shown_name(path.relative_to(folder)) for path in odd_names[:_SHOWN])
        raise ValueError(
            f"{len(odd_names)} name(s) in {_shown_name(folder)} are not valid UTF-8 text: {shown} (the "
            "\\x.. are bytes of another encoding, e.g. from an old Windows or a zip file). TensorFlow "
            "cannot open such files. Fix: rename them (letters, digits, '-' and '_' are safe), e.g. in "
            "a terminal: convmv -f latin1 -t utf8 -r --notest <folder>.")
    empty = [name for name in class_names if not images[name]]
    if empty:
        raise ValueError(
            f"Class folder(s) with no images in {folder}: {', '.join(repr(name) for name in empty)}."
            f" Keras loads only files ending in {_formats()}. Fix: put images of that class in "
            "it, or move the empty folder out of this folder (every sub-folder is a class).")
    if unsupported:
        raise ValueError(
            f"{len(unsupported)} file(s) in {folder} have a format that Keras does not load: "
            f"{_listing(unsupported, folder)}. image_dataset_from_directory reads only files "
            f"ending in {_formats()} (any letter case) and would silently skip these. Fix: "
            f"{_CONVERT}; move files that are not images out of the folder.")

    all_images = [path for name in class_names for path in images[name]]
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        problems = list(pool.map(_decode_problem, all_images))
    broken = [(path, problem) for path, problem in zip(all_images, problems) if problem]
    if broken:
        details = "; ".join(f"{_shown_name(path.relative_to(folder))} ({problem})"
                            for path, problem in broken[:_SHOWN])
        more = f"; and {len(broken) - _SHOWN} more" if len(broken) > _SHOWN else ""
        apple = any(path.name.startswith("._") for path, _ in broken)
        hint = (" Files whose names start with '._' are macOS metadata, not photos: delete them "
                f"all (in a terminal: find {folder} -name '._*' -delete)." if apple else "")
        large = any(problem.startswith("too large") for _, problem in broken)
        shrink = (" For a file that is too large: shrink it, e.g. with PIL: image = PIL.Image.open(path); "
                  "image.thumbnail((4000, 4000)); image.save(path)." if large else "")
        raise ValueError(
            f"{len(broken)} file(s) in {folder} cannot be read as an image: {details}{more}. "
            f"Fix: delete each of them, or open it in an image viewer and save it again as PNG "
            f"or JPEG.{hint}{shrink}")
    counts = {name: len(images[name]) for name in class_names}
    return FolderReport(class_names, counts, len(all_images), folder)


def load_image_folder(folder: str | os.PathLike, *, image_size: int, batch_size: int,
                      validation_split: float = 0.2, seed: int = 0) -> ImageFolder:
    """Load a folder of class sub-folders as train/val datasets, checked first.

    Runs ``check_image_folder``, then ``keras.utils.image_dataset_from_directory`` with
    ``color_mode="rgb"`` (grayscale, palette and RGBA images become RGB; transparency is
    dropped), ``image_size=(image_size, image_size)`` (bilinear resize, the aspect ratio is not
    kept), ``label_mode="int"`` and ``subset="both"``. One difference from Keras: each photo's EXIF
    orientation is applied (Keras ignores it, so a phone photo taken upright would reach the model
    lying on its side). The files are shuffled with ``seed`` and
    the last ``int(validation_split * files)`` go to validation — a random split, not a
    stratified one, so with few images a class can be missing from ``val_ds``. The pixels stay
    float32 in 0–255, like ``tlcourse.data.prepare``'s, so each model's ``preprocess_input`` (or
    rescaling) inside the model works unchanged.

    Both datasets are cached in memory after the first pass (about ``files × image_size² × 12``
    bytes: 1,000 images of 160 px take 0.3 GB) and prefetched; ``train_ds`` is reshuffled every
    epoch. Both know their number of batches (``cardinality()``).

    Args:
        folder: the folder that holds one sub-folder of images per class.
        image_size: side of the square images the model sees, in pixels.
        batch_size: images per batch.
        validation_split: fraction of the images kept for validation, between 0 and 1; it must
            leave at least one image for each split.
        seed: seed of the shuffle that splits the files (same seed, same split).

    Returns:
        An ``ImageFolder``: ``train_ds``, ``val_ds``, ``class_names``, ``report``,
        ``train_files``, ``val_files``.

    Raises:
        FileNotFoundError, ValueError: see ``check_image_folder``; also a split that leaves
            no image for training or validation.
        TypeError, ValueError: a bad argument.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> folder = write_demo_folder(Path(tmp.name) / "shapes", per_class=5, image_size=32)
        >>> data = load_image_folder(folder, image_size=24, batch_size=4)
        Found 15 files belonging to 3 classes.
        Using 12 files for training.
        Using 3 files for validation.
        >>> images, labels = next(iter(data.train_ds))
        >>> images.shape, images.dtype.name, data.class_names
        (TensorShape([4, 24, 24, 3]), 'float32', ['arrow', 'crescent', 'heart'])
        >>> tmp.cleanup()
    """
    image_size = checks.check_int("image_size", image_size, minimum=1,
                                  fix="use the input size of your model, e.g. image_size=160")
    batch_size = checks.check_int("batch_size", batch_size, minimum=1, fix="e.g. batch_size=32")
    validation_split = checks.check_number(
        "validation_split", validation_split, above=0, below=1,
        fix="keep a fraction of the images for validation, e.g. validation_split=0.2")
    seed = checks.check_int("seed", seed, fix="e.g. seed=0")
    report = check_image_folder(folder)
    num_val = int(validation_split * report.files)
    if num_val < 1 or report.files - num_val < 1:
        least = 1 / report.files
        raise ValueError(
            f"validation_split={validation_split} of the {report.files} images in {report.folder} "
            f"leaves {num_val} for validation and {report.files - num_val} for training: expected "
            "at least one image in each. Fix: add images (a few per class at the very least), or "
            f"choose validation_split from {least:.3g} up to {1 - least:.3g}.")
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        report.folder,
        labels="inferred",
        label_mode="int",
        class_names=report.class_names,  # only the checked class folders (skips __MACOSX)
        color_mode="rgb",
        batch_size=batch_size,
        image_size=(image_size, image_size),
        shuffle=True,
        seed=seed,
        validation_split=validation_split,
        subset="both",
    )
    train_files, val_files = tuple(train_ds.file_paths), tuple(val_ds.file_paths)
    # Keras chose the split; the pixels come from _load, which also applies the EXIF orientation
    # (Keras ignores it: a phone photo would reach the model sideways). Cache the decoded images,
    # then reshuffle them every epoch (a shuffle before the cache would be frozen into its order).
    train_ds = (_files_dataset(train_files, report, image_size).cache()
                .shuffle(len(train_files), seed=seed, reshuffle_each_iteration=True)
                .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    val_ds = _files_dataset(val_files, report, image_size).batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)
    return ImageFolder(train_ds, val_ds, list(report.class_names), report, train_files, val_files)


def _files_dataset(files: Sequence[str], report: FolderReport, image_size: int) -> tf.data.Dataset:
    """Unbatched ``(image float32 [S, S, 3], label int32)`` for ``files``, in that order."""
    labels = [report.class_names.index(Path(file).relative_to(report.folder).parts[0]) for file in files]
    orientations = [_orientation(file) for file in files]
    ds = tf.data.Dataset.from_tensor_slices((list(files), np.asarray(orientations, np.int32),
                                             np.asarray(labels, np.int32)))
    return ds.map(lambda file, orientation, label: (_load(file, orientation, image_size), label),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def load_image_file(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """Load one image file as a batch of one, ready for ``model.predict``.

    The file is decoded and resized exactly as ``load_image_folder`` does it
    (``tf.io.decode_image(..., channels=3)``: grayscale, palette and RGBA become RGB; the EXIF
    orientation is applied, so a phone photo is upright; then a bilinear ``tf.image.resize``), so
    a file gives the very same pixels here as in ``load_image_folder``'s datasets — what the model
    saw in training is what it sees now.

    Why not ``keras.utils.img_to_array(keras.utils.load_img(path, target_size=...))``, the
    usual recipe? It decodes with PIL and resizes with nearest-neighbour by default: on JPEG
    files its pixels differ from the training pipeline's by up to a dozen levels (of 255).
    Small, but a prediction should not depend on which function opened the file.

    Args:
        path: an image file ending in one of ``IMAGE_EXTENSIONS``.
        image_size: side of the square image the model sees, in pixels.

    Returns:
        float32 array ``[1, image_size, image_size, 3]`` with values in 0–255.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``path`` is a folder, has an extension Keras does not load, or cannot be
            decoded; the message names the file and the fix.

    Example:
        >>> import tempfile
        >>> import PIL.Image
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     PIL.Image.new("L", (40, 30), color=200).save(Path(tmp) / "gray.png")
        ...     batch = load_image_file(Path(tmp) / "gray.png", image_size=16)
        >>> batch.shape, batch.dtype.name, float(batch.min()), float(batch.max())
        ((1, 16, 16, 3), 'float32', 200.0, 200.0)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} is a {type(path).__name__}: expected an image file's path "
                        "(a str or pathlib.Path). Fix: pass e.g. path='my_photo.jpg'.")
    image_size = checks.check_int("image_size", image_size, minimum=1,
                                  fix="use the image size the model was trained on")
    file = Path(path).expanduser().absolute()
    if not file.exists():
        raise FileNotFoundError(
            f"No file at {file}. Fix: check the name and the folder (relative paths start from "
            f"the current folder, {Path.cwd()}).")
    if file.is_dir():
        raise ValueError(f"{file} is a folder, not an image file. Fix: pass one image file (to "
                         "load a folder of class folders, use load_image_folder).")
    if not _is_image_name(file.name):
        raise ValueError(
            f"{file} has a format that Keras does not load: expected a file ending in "
            f"{_formats()}. Fix: {_CONVERT}.")
    problem = _decode_problem(file)
    if problem:
        raise ValueError(
            f"{file} cannot be read as an image ({problem}). Fix: delete it, or open it in an "
            "image viewer and save it again as PNG or JPEG.")
    return np.asarray(_load(str(file), _orientation(file), image_size), dtype=np.float32)[None]


def write_demo_folder(folder: str | os.PathLike, *, per_class: int = 20, image_size: int = 64,
                      seed: int = 0, shape_names: Sequence[str] = shapes.TARGET_SHAPES[:3]) -> Path:
    """Write a folder of drawn shapes, one sub-folder per class, as a learner's photos would be.

    The images come from ``tlcourse.shapes.make_shapes`` (notebook 01's shapes). Within each
    class the files cycle through four kinds, so a loader's conversions are exercised: ``N.jpg``
    (RGB JPEG), ``N.png`` (RGB PNG), ``N.png`` in grayscale (mode ``L``) and ``N.png`` with an
    alpha channel (RGBA; its colour channels hold the drawing, the alpha channel a gradient from
    128 to 255). ``N`` counts from 0 within each class: file ``N`` has kind ``N % 4``.

    The folder may be new, empty, or one this function wrote before (even a run that was
    interrupted): then the files it listed in ``folder/.tlcourse-demo`` are replaced and nothing
    else is touched. A file this function did not write is never overwritten: any other
    non-empty folder, or a file named like a demo image that the list does not hold (or whose
    content changed since), raises ``FileExistsError`` before anything is written.

    Args:
        folder: where to write; created with its parents if needed.
        per_class: images per class, at least 1.
        image_size: side of the square images, at least 16 pixels.
        seed: seed of the drawings.
        shape_names: the classes: names from ``tlcourse.shapes.SHAPES``.

    Returns:
        ``folder`` as a ``Path``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = write_demo_folder(Path(tmp) / "demo", per_class=4, image_size=32)
        ...     sorted(path.name for path in (folder / "heart").iterdir())
        ['0.jpg', '1.png', '2.png', '3.png']
    """
    import PIL.Image

    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder={folder!r} is a {type(folder).__name__}: expected a folder path "
                        "(a str or pathlib.Path). Fix: pass e.g. folder='demo_images'.")
    per_class = checks.check_int("per_class", per_class, minimum=1, fix="e.g. per_class=20")
    image_size = checks.check_int("image_size", image_size, minimum=shapes.MIN_IMAGE_SIZE,
                                  fix=f"use at least {shapes.MIN_IMAGE_SIZE} px, e.g. image_size=64")
    seed = checks.check_int("seed", seed, fix="e.g. seed=0")
    if isinstance(shape_names, str):
        raise TypeError(f"shape_names={shape_names!r} is a str: expected a list of shape names. "
                        f"Fix: pass a list, e.g. shape_names={list(shapes.TARGET_SHAPES[:2])}.")
    shape_names = list(shape_names)
    folder = Path(folder).expanduser().absolute()
    marker = folder / DEMO_MARKER
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file. Fix: pass a new or empty folder for the demo images.")
    images, labels = shapes.make_shapes(shape_names, per_class=per_class, image_size=image_size,
                                        seed=seed)
    planned = [f"{name}/{index}.{'jpg' if index % 4 == 0 else 'png'}"
               for label, name in enumerate(shape_names) for index in range(int((labels == label).sum()))]
    previous: dict[str, str | None] = {}
    if folder.is_dir() and any(folder.iterdir()):
        if not marker.is_file():
            raise FileExistsError(
                f"{folder} is not empty and was not written by write_demo_folder. Fix: pass a new "
                "or empty folder, so the demo images are never mixed with your own.")
        previous = _read_marker(marker)
        _refuse_foreign_files(folder, previous, planned)
    folder.mkdir(parents=True, exist_ok=True)
    # The list goes first (every planned file, no checksum yet): a run killed midway leaves a
    # folder the next call recognises as its own and finishes.
    _write_marker(marker, {**previous, **{relative: None for relative in planned}})
    _remove_listed(folder, previous)

    alpha = np.linspace(128, 255, image_size).round().astype(np.uint8)
    alpha = np.broadcast_to(alpha[None, :], (image_size, image_size))
    written: dict[str, str | None] = {}
    for label, name in enumerate(shape_names):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for index, pixels in enumerate(images[labels == label]):
            kind = index % 4
            relative = f"{name}/{index}.{'jpg' if kind == 0 else 'png'}"
            if kind == 0:
                picture, options = PIL.Image.fromarray(pixels, "RGB"), {"format": "JPEG", "quality": 95}
            elif kind == 1:
                picture, options = PIL.Image.fromarray(pixels, "RGB"), {"format": "PNG"}
            elif kind == 2:
                picture, options = PIL.Image.fromarray(pixels, "RGB").convert("L"), {"format": "PNG"}
            else:
                rgba = np.concatenate([pixels, alpha[..., None]], axis=-1)
                picture, options = PIL.Image.fromarray(rgba, "RGBA"), {"format": "PNG"}
            write_atomically(folder / relative, lambda file, picture=picture, options=options:
                             picture.save(file, **options))
            written[relative] = _checksum(folder / relative)
    _write_marker(marker, written)
    return folder


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _read_marker(marker: Path) -> dict[str, str | None]:
    """The files a previous ``write_demo_folder`` listed: ``{relative path: checksum or None}``.

    ``None``: listed before it was written (an interrupted run), or listed by an older version
    of the course that kept no checksums.
    """
    listed: dict[str, str | None] = {}
    for line in marker.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            relative, _, checksum = line.partition("\t")
            listed[relative] = checksum or None
    return listed


def _write_marker(marker: Path, listed: dict[str, str | None]) -> None:
    lines = ["# written by tlcourse.image_folders.write_demo_folder: file<TAB>checksum (none: not finished)",
             *(f"{relative}\t{checksum or ''}".rstrip("\t") for relative, checksum in listed.items())]
    write_atomically(marker, ("\n".join(lines) + "\n").encode("utf-8"))


def _refuse_foreign_files(folder: Path, previous: dict[str, str | None], planned: list[str]) -> None:
    """Stop before anything is written if a file to replace was not written by the course."""
    foreign = []
    for relative in dict.fromkeys([*previous, *planned]):
        path = folder / relative
        if not path.is_file():
            continue
        if relative not in previous:
            foreign.append(relative)  # a learner's photo named like a demo file
        elif previous[relative] is not None and _checksum(path) != previous[relative]:
            foreign.append(relative)  # written by the course, then replaced or edited
    if foreign:
        raise FileExistsError(
            f"{folder} holds {len(foreign)} file(s) that write_demo_folder did not write (or that were "
            f"changed since): {', '.join(foreign[:_SHOWN])}{' …' if len(foreign) > _SHOWN else ''}. They "
            "would be overwritten. Fix: move your own images to another folder, or pass a new folder "
            "for the demo images.")


def _remove_listed(folder: Path, listed: dict[str, str | None]) -> None:
    """Remove the files a previous ``write_demo_folder`` listed (checked by ``_refuse_foreign_files``),
    then the class folders it leaves empty."""
    root = folder.resolve()
    for relative in listed:
        path = (folder / relative).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()
