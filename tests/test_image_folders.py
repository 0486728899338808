"""Your own images (notebook 09): a folder of class folders is checked, loaded and predicted from.

Everything runs offline on folders the tests write: notebook 01's shapes as PNG and JPEG files,
in colour, grayscale and RGBA, plus broken folders. Every error must name the file or folder and
the fix, and must leave the folder exactly as it was.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from tlcourse import image_folders, shapes
from tlcourse.image_folders import (IMAGE_EXTENSIONS, check_image_folder, load_image_file,
                                    load_image_folder, write_demo_folder)

PER_CLASS = 8
SIZE = 32  # the demo's image size; loading at the same size makes the resize an identity
CLASSES = sorted(shapes.TARGET_SHAPES[:3])


def listing(folder: Path) -> list[tuple[str, int, int]]:
    """Every file and folder below ``folder``: relative path, size, modification time."""
    entries = []
    for path in sorted(folder.rglob("*")):
        info = path.stat()
        entries.append((str(path.relative_to(folder)), info.st_size if path.is_file() else -1,
                        info.st_mtime_ns))
    return entries


def image(value: int = 120, size: int = 20, mode: str = "RGB") -> PIL.Image.Image:
    rng = np.random.default_rng(value)
    pixels = rng.integers(0, 256, (size, size, len(mode)), dtype=np.uint8)
    return PIL.Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)


def two_classes(folder: Path, per_class: int = 2) -> Path:
    """A small valid folder: cats/ and dogs/ with a few PNGs each."""
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            image(index + 10 * len(name)).save(folder / name / f"{index}.png")
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return write_demo_folder(tmp_path_factory.mktemp("images") / "shapes", per_class=PER_CLASS,
                             image_size=SIZE, seed=3)


@pytest.fixture(scope="module")
def expected(demo) -> dict[str, np.ndarray]:
    """Each demo file's pixels as RGB, computed independently of the module (PIL)."""
    return {str(path): np.asarray(PIL.Image.open(path).convert("RGB"), dtype=np.float32)
            for path in sorted(demo.glob("*/*")) if path.suffix in (".png", ".jpg")}


@pytest.fixture(scope="module")
def loaded(demo):
    return load_image_folder(demo, image_size=SIZE, batch_size=5, validation_split=0.25, seed=1)


# --- the happy path ----------------------------------------------------------------------------

def test_demo_folder_mixes_formats_and_colour_modes(demo):
    modes = {}
    for path in sorted((demo / CLASSES[0]).iterdir()):
        with PIL.Image.open(path) as opened:
            modes[path.name] = (opened.format, opened.mode)
    assert len(modes) == PER_CLASS
    assert {("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "L"), ("PNG", "RGBA")} == set(modes.values())
    assert (demo / image_folders.DEMO_MARKER).is_file()  # a hidden file: never taken for a class


def test_check_reports_classes_and_counts(demo):
    report = check_image_folder(demo)
    assert report.class_names == CLASSES
    assert report.counts == {name: PER_CLASS for name in CLASSES}
    assert report.files == 3 * PER_CLASS and report.num_classes == 3
    assert report.folder == demo.absolute()


def test_load_gives_float_batches_in_0_255(loaded):
    assert loaded.class_names == CLASSES and loaded.num_classes == 3
    assert loaded.report.files == 3 * PER_CLASS
    for ds in (loaded.train_ds, loaded.val_ds):
        images, labels = next(iter(ds))
        assert images.shape[1:] == (SIZE, SIZE, 3) and images.dtype.name == "float32"
        assert labels.dtype.name == "int32"
        assert 0 <= float(np.min(images)) and float(np.max(images)) <= 255
        assert float(np.max(images)) > 1  # 0–255, not rescaled to 0–1
    assert int(loaded.train_ds.cardinality()) == -(-len(loaded.train_files) // 5)
    assert int(loaded.val_ds.cardinality()) == -(-len(loaded.val_files) // 5)


def test_splits_are_disjoint_and_cover_every_file(loaded, expected):
    train, val = set(loaded.train_files), set(loaded.val_files)
    assert not train & val
    assert train | val == set(expected)
    assert len(val) == int(0.25 * len(expected))


def test_every_example_is_one_file_converted_to_rgb(loaded, expected):
    """Match each example to its file: every file exactly once, with its label, grayscale and
    RGBA files as the RGB that PIL gives (TF and PIL agree exactly on PNG; on JPEG they differ
    by up to about 13 levels: TF decodes with a faster, less exact DCT)."""
    files = list(expected)
    stack = np.stack([expected[path] for path in files])
    seen = []
    for ds in (loaded.train_ds, loaded.val_ds):
        for images, labels in ds:
            for pixels, label in zip(np.asarray(images), np.asarray(labels)):
                distance = np.abs(stack - pixels).reshape(len(files), -1).max(axis=1)
                match = int(np.argmin(distance))
                tolerance = 0 if files[match].endswith(".png") else 24
                assert distance[match] <= tolerance, files[match]
                assert loaded.class_names[label] == Path(files[match]).parent.name
                seen.append(files[match])
    assert sorted(seen) == sorted(files)
    gray = [path for path in files if PIL.Image.open(path).mode == "L"]
    rgba = [path for path in files if PIL.Image.open(path).mode == "RGBA"]
    assert gray and rgba and set(gray) <= set(seen) and set(rgba) <= set(seen)


def test_val_order_follows_val_files_and_matches_load_image_file(loaded):
    val_images = np.concatenate([np.asarray(images) for images, _ in loaded.val_ds])
    for pixels, path in zip(val_images, loaded.val_files):
        assert np.array_equal(load_image_file(path, SIZE)[0], pixels), path


def test_train_ds_is_reshuffled_every_epoch(loaded):
    first = np.concatenate([np.asarray(labels) for _, labels in loaded.train_ds])
    second = np.concatenate([np.asarray(labels) for _, labels in loaded.train_ds])
    first_pixels = np.concatenate([np.asarray(images)[:, 0, 0, 0] for images, _ in loaded.train_ds])
    second_pixels = np.concatenate([np.asarray(images)[:, 0, 0, 0] for images, _ in loaded.train_ds])
    assert sorted(first) == sorted(second)
    assert not np.array_equal(first_pixels, second_pixels)


def test_resizing_matches_between_folder_and_single_file(demo):
    data = load_image_folder(demo, image_size=20, batch_size=64, validation_split=0.5, seed=0)
    assert any(path.endswith(".jpg") for path in data.val_files)
    images = np.concatenate([np.asarray(batch) for batch, _ in data.val_ds])
    for pixels, path in zip(images, data.val_files):
        assert np.array_equal(load_image_file(path, 20)[0], pixels), path  # same pixels, JPEG too


def test_datasets_feed_fit_and_a_file_feeds_predict(demo, loaded):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(loaded.num_classes)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(loaded.train_ds, validation_data=loaded.val_ds, epochs=2, verbose=0, shuffle=False)
    assert np.isfinite(history.history["val_loss"]).all()
    logits = model.predict(load_image_file(demo / CLASSES[0] / "3.png", SIZE), verbose=0)
    assert logits.shape == (1, loaded.num_classes)


@pytest.mark.parametrize("kind", [0, 1, 2, 3])  # JPEG, PNG, grayscale PNG, RGBA PNG
def test_load_image_file_each_kind(demo, expected, kind):
    path = demo / CLASSES[1] / f"{kind}.{'jpg' if kind == 0 else 'png'}"
    batch = load_image_file(path, SIZE)
    assert batch.shape == (1, SIZE, SIZE, 3) and batch.dtype == np.float32
    assert 0 <= batch.min() and batch.max() <= 255
    np.testing.assert_allclose(batch[0], expected[str(path)], atol=0 if kind else 24)
    if kind == 2:
        assert np.array_equal(batch[..., 0], batch[..., 1]) and np.array_equal(batch[..., 0], batch[..., 2])
    if kind == 3:
        with PIL.Image.open(path) as opened:
            rgb = np.asarray(opened)[..., :3]  # the colour channels, alpha dropped
        assert np.array_equal(batch[0], rgb.astype(np.float32))
    smaller = load_image_file(str(path), 12)
    assert smaller.shape == (1, 12, 12, 3)


def test_hidden_and_system_files_are_ignored(tmp_path):
    folder = two_classes(tmp_path / "photos")
    (folder / ".DS_Store").write_bytes(b"\0\1junk")
    (folder / "cats" / ".DS_Store").write_bytes(b"\0\1junk")
    (folder / "dogs" / "Thumbs.db").write_bytes(b"\0\1junk")
    (folder / "README.txt").write_text("my photos")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "x.png").write_bytes(b"not an image")
    (folder / "cats" / ".ipynb_checkpoints").mkdir()
    (folder / "cats" / ".ipynb_checkpoints" / "notes-checkpoint.txt").write_text("x")
    (folder / "__MACOSX" / "cats").mkdir(parents=True)
    (folder / "__MACOSX" / "cats" / "._0.png").write_bytes(b"\0\5\x16\7 AppleDouble")
    before = listing(folder)
    report = check_image_folder(folder)
    assert report.class_names == ["cats", "dogs"] and report.counts == {"cats": 2, "dogs": 2}
    data = load_image_folder(folder, image_size=8, batch_size=2, validation_split=0.5)
    assert data.class_names == ["cats", "dogs"]
    assert sum(int(labels.shape[0]) for ds in (data.train_ds, data.val_ds) for _, labels in ds) == 4
    assert listing(folder) == before


def test_nested_folders_and_upper_case_extensions_count(tmp_path):
    folder = two_classes(tmp_path / "photos")
    (folder / "cats" / "2024").mkdir()
    image(5).save(folder / "cats" / "2024" / "IMG_1.JPG", format="JPEG")
    image(6).save(folder / "dogs" / "b.Png", format="PNG")
    image(7).save(folder / "dogs" / "c.gif", format="GIF")
    image(8).save(folder / "dogs" / "d.bmp", format="BMP")
    report = check_image_folder(folder)
    assert report.counts == {"cats": 3, "dogs": 5}
    data = load_image_folder(folder, image_size=8, batch_size=4, validation_split=0.25)
    assert len(data.train_files) + len(data.val_files) == 8


# --- clear errors, folder unchanged ------------------------------------------------------------

def raises_and_leaves_folder(folder: Path, error: type, *phrases: str, call=check_image_folder):
    """Call ``call(folder)``; it must raise ``error`` with every phrase, and change nothing."""
    before = listing(folder)
    with pytest.raises(error) as info:
        call(folder)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in: {message}"
    assert "Fix:" in message
    assert listing(folder) == before
    return message


def test_missing_folder(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as info:
        check_image_folder(missing)
    assert str(missing.absolute()) in str(info.value)
    assert "folder/<class name>/<images>" in str(info.value)
    with pytest.raises(FileNotFoundError):
        load_image_folder(str(missing), image_size=8, batch_size=2)


def test_folder_is_a_file(tmp_path):
    path = tmp_path / "photo.png"
    image().save(path)
    raises_and_leaves_folder(path, ValueError, str(path), "load_image_file")


def test_images_directly_in_the_folder(tmp_path):
    for index in range(3):
        image(index).save(tmp_path / f"{index}.png")
    raises_and_leaves_folder(tmp_path, ValueError, "No class folders", str(tmp_path),
                             "3 image(s) directly", "one sub-folder per class")


def test_empty_folder(tmp_path):
    raises_and_leaves_folder(tmp_path, ValueError, "No class folders", "one sub-folder per class")


def test_only_one_class(tmp_path):
    (tmp_path / "cats").mkdir()
    image().save(tmp_path / "cats" / "a.png")
    raises_and_leaves_folder(tmp_path, ValueError, "only one class folder, 'cats'",
                             "at least two classes", "add a second class folder")


def test_images_next_to_the_class_folders(tmp_path):
    folder = two_classes(tmp_path / "photos")
    image().save(folder / "stray.jpg")
    raises_and_leaves_folder(folder, ValueError, "stray.jpg", "leave them out",
                             "move each into the folder of its class")


def test_class_folder_without_images(tmp_path):
    folder = two_classes(tmp_path / "photos")
    (folder / "birds").mkdir()
    (folder / "birds" / ".DS_Store").write_bytes(b"junk")
    raises_and_leaves_folder(folder, ValueError, "'birds'", "no images", ".bmp, .gif, .jpeg, .jpg, .png")


@pytest.mark.parametrize("name", ["photo.webp", "scan.tiff", "IMG_0001.HEIC", "notes.txt"])
def test_unsupported_format(tmp_path, name):
    folder = two_classes(tmp_path / "photos")
    (folder / "dogs" / name).write_bytes(b"some bytes")
    message = raises_and_leaves_folder(folder, ValueError, str(Path("dogs") / name),
                                       ".bmp, .gif, .jpeg, .jpg, .png", "convert it to PNG or JPEG")
    assert str(folder) in message


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_corrupt_image(tmp_path, content):
    folder = two_classes(tmp_path / "photos")
    path = folder / "cats" / "broken.jpg"
    if content == "garbage":
        path.write_bytes(b"this is not a JPEG at all" * 10)
    elif content == "truncated":
        image(size=64).save(path, format="JPEG", quality=95)
        path.write_bytes(path.read_bytes()[:400])
    else:
        path.write_bytes(b"")
    raises_and_leaves_folder(folder, ValueError, str(Path("cats") / "broken.jpg"),
                             "cannot be read as an image", "delete", "save it again")
    with pytest.raises(ValueError, match="broken.jpg"):
        load_image_file(path, 8)


def test_macos_metadata_files_get_their_own_hint(tmp_path):
    folder = two_classes(tmp_path / "photos")
    (folder / "cats" / "._0.png").write_bytes(b"\0\5\x16\7\0\2\0\0Mac OS X        ")
    raises_and_leaves_folder(folder, ValueError, "._0.png", "macOS metadata", "-name '._*' -delete")


def test_many_problems_are_counted_not_all_listed(tmp_path):
    folder = two_classes(tmp_path / "photos")
    for index in range(9):
        (folder / "dogs" / f"{index}.webp").write_bytes(b"x")
    message = raises_and_leaves_folder(folder, ValueError, "9 file(s)", "and 4 more")
    assert message.count(".webp") == 5


def test_split_must_leave_an_image_on_each_side(tmp_path):
    folder = two_classes(tmp_path / "photos", per_class=2)

    def load(path):
        return load_image_folder(path, image_size=8, batch_size=2, validation_split=0.2)

    raises_and_leaves_folder(folder, ValueError, "validation_split=0.2", "4 images", "leaves 0 for validation",
                             "from 0.25 up to 0.75", call=load)


@pytest.mark.parametrize("arguments, error, phrase", [
    ({"image_size": 0, "batch_size": 2}, ValueError, "image_size=0"),
    ({"image_size": "160", "batch_size": 2}, TypeError, "image_size='160'"),
    ({"image_size": 8, "batch_size": 0}, ValueError, "batch_size=0"),
    ({"image_size": 8, "batch_size": 2, "validation_split": 1.0}, ValueError, "validation_split=1.0"),
    ({"image_size": 8, "batch_size": 2, "validation_split": 0}, ValueError, "validation_split=0"),
])
def test_bad_arguments_stop_before_the_folder_is_read(tmp_path, arguments, error, phrase):
    with pytest.raises(error, match=phrase):
        load_image_folder(tmp_path / "does-not-exist", **arguments)


def test_load_image_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No file at .*nope.jpg"):
        load_image_file(tmp_path / "nope.jpg", 8)
    with pytest.raises(ValueError, match="is a folder"):
        load_image_file(tmp_path, 8)
    image().save(tmp_path / "photo.webp", format="WEBP")
    with pytest.raises(ValueError, match=r"photo.webp has a format .*\.bmp, \.gif, \.jpeg, \.jpg, \.png"):
        load_image_file(tmp_path / "photo.webp", 8)
    with pytest.raises(TypeError, match="path=3"):
        load_image_file(3, 8)
    with pytest.raises(ValueError, match="image_size=0"):
        load_image_file(tmp_path / "photo.webp", 0)


def test_extensions_are_keras_own():
    from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS

    assert set(IMAGE_EXTENSIONS) == set(ALLOWLIST_FORMATS)


# --- the demo folder writer ---------------------------------------------------------------------

def test_demo_folder_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "mine.jpg").write_bytes(b"my photo")
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="not empty"):
        write_demo_folder(tmp_path, per_class=2, image_size=16)
    assert listing(tmp_path) == before


def test_demo_folder_can_be_rewritten_without_stale_files(tmp_path):
    folder = write_demo_folder(tmp_path / "demo", per_class=6, image_size=16, shape_names=["heart", "ell"])
    (folder / "notes.md").write_text("kept")
    folder = write_demo_folder(folder, per_class=2, image_size=16, shape_names=["arrow", "heart"])
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*.*")
                  if not path.name.startswith(".")) == [
        str(Path("arrow") / "0.jpg"), str(Path("arrow") / "1.png"),
        str(Path("heart") / "0.jpg"), str(Path("heart") / "1.png"), "notes.md"]
    assert check_image_folder(folder).counts == {"arrow": 2, "heart": 2}


def test_demo_folder_arguments(tmp_path):
    with pytest.raises(ValueError, match="image_size=8"):
        write_demo_folder(tmp_path / "a", image_size=8)
    with pytest.raises(TypeError, match="shape_names='heart'"):
        write_demo_folder(tmp_path / "a", shape_names="heart")
    with pytest.raises(ValueError, match="per_class=0"):
        write_demo_folder(tmp_path / "a", per_class=0)
    assert not (tmp_path / "a").exists()
    assert os.listdir(tmp_path) == []


# --- photos as taken: EXIF orientation, size limit, file names ---------------------------------

def _asymmetric(size=(24, 16)) -> PIL.Image.Image:
    """An image with no symmetry (a gradient in x, another in y), so every turn and flip differs."""
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    return PIL.Image.fromarray(np.stack([x, y, 255 - x], -1).astype(np.uint8), "RGB")


def _phone_photo(path: Path, orientation: int) -> np.ndarray:
    """Save an asymmetric image with an EXIF orientation; return the upright pixels per PIL at 16 x 16."""
    import PIL.ImageOps

    exif = PIL.Image.Exif()
    exif[image_folders.EXIF_ORIENTATION] = orientation
    _asymmetric().save(path, exif=exif)
    upright = np.asarray(PIL.ImageOps.exif_transpose(PIL.Image.open(path)).convert("RGB"), np.float32)
    assert upright.shape[:2] == ((16, 24) if orientation <= 4 else (24, 16))
    return load_image_file_from_pixels(upright, 16)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pil(tmp_path, orientation):
    """A phone photo stored sideways with an EXIF tag loads upright: the same pixels as
    PIL.ImageOps.exif_transpose (then the same bilinear resize)."""
    reference = _phone_photo(tmp_path / "phone.png", orientation)
    np.testing.assert_allclose(load_image_file(tmp_path / "phone.png", 16)[0], reference, atol=1e-3)


def test_exif_orientation_is_applied_in_the_folder_datasets(tmp_path):
    folder = two_classes(tmp_path / "photos")
    references = {str(folder / "cats" / f"phone{o}.png"): _phone_photo(folder / "cats" / f"phone{o}.png", o)
                  for o in range(1, 9)}
    data = load_image_folder(folder, image_size=16, batch_size=4, validation_split=0.75, seed=0)
    images = np.concatenate([np.asarray(batch) for batch, _ in data.val_ds])
    checked = [path for path in data.val_files if path in references]
    assert len(checked) >= 4
    for path in checked:
        np.testing.assert_allclose(images[data.val_files.index(path)], references[path], atol=1e-3)


def load_image_file_from_pixels(pixels: np.ndarray, size: int) -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(pixels, (size, size), method="bilinear").numpy()


def test_a_jpeg_whose_header_claims_a_huge_size_is_named(tmp_path):
    folder = two_classes(tmp_path / "photos")
    buffer = io.BytesIO()
    _asymmetric().save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")  # start of frame: height and width follow the length and precision
    data[sof + 5:sof + 9] = (60000).to_bytes(2, "big") * 2
    (folder / "cats" / "bomb.jpg").write_bytes(bytes(data))
    before = listing(folder)
    with pytest.raises(ValueError, match=r"bomb\.jpg \(too large.*MAX_PIXELS.*Fix:.*thumbnail"):
        check_image_folder(folder)
    with pytest.raises(ValueError, match="too large"):
        load_image_file(folder / "cats" / "bomb.jpg", 16)
    assert listing(folder) == before


def test_a_panorama_above_the_limit_is_named(tmp_path, monkeypatch):
    folder = two_classes(tmp_path / "photos")
    _asymmetric((300, 40)).save(folder / "dogs" / "panorama.png")
    monkeypatch.setattr(image_folders, "MAX_PIXELS", 300 * 40 - 1)
    with pytest.raises(ValueError, match=r"panorama\.png \(too large: 300 x 40 pixels"):
        check_image_folder(folder)
    monkeypatch.setattr(image_folders, "MAX_PIXELS", 300 * 40)
    assert check_image_folder(folder).counts == {"cats": 2, "dogs": 3}


def test_a_file_name_that_is_not_utf8_is_named(tmp_path):
    folder = two_classes(tmp_path / "photos")
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes, as an old zip file leaves them
    image(5).save(folder / "cats" / name)
    with pytest.raises(ValueError, match=r"not valid UTF-8.*caf\\xe9\.png.*Fix: rename") as raised:
        check_image_folder(folder)
    str(raised.value).encode("utf-8")  # the message itself prints without a UnicodeEncodeError


def test_demo_folder_never_overwrites_a_learners_photo(tmp_path):
    folder = write_demo_folder(tmp_path / "demo", per_class=2, image_size=16)
    (folder / "heart" / "3.png").write_bytes(b"my own photo")  # named like a demo file
    (folder / "heart" / "0.jpg").write_bytes(b"replaced by the learner")
    before = listing(folder)
    with pytest.raises(FileExistsError, match=r"heart/0\.jpg, heart/3\.png.*Fix: move your own images"):
        write_demo_folder(folder, per_class=4, image_size=16)
    assert listing(folder) == before


def test_demo_folder_recovers_from_an_interrupted_run(tmp_path, monkeypatch):
    calls = []
    real = image_folders.write_atomically

    def crash_after_three_images(path, content):
        if Path(path).name != image_folders.DEMO_MARKER:
            calls.append(path)
            if len(calls) > 3:
                raise KeyboardInterrupt  # the learner pressed stop, or the kernel died
        return real(path, content)

    monkeypatch.setattr(image_folders, "write_atomically", crash_after_three_images)
    with pytest.raises(KeyboardInterrupt):
        write_demo_folder(tmp_path / "demo", per_class=4, image_size=16)
    monkeypatch.undo()
    folder = write_demo_folder(tmp_path / "demo", per_class=4, image_size=16)
    assert check_image_folder(folder).files == 12
    assert not [path for path in folder.rglob("*") if path.name.endswith("partial")]
