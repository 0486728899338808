"""tlcourse.colab: the Colab-only branches run against a stand-in ``google.colab`` module.

Mechanics only: no Colab, no Drive, no browser upload. The stand-in records what the course asked
of Colab (``drive.mount``'s folder) and hands back the "uploaded" bytes as ``files.upload`` does.
"""

from __future__ import annotations

import io
import sys
import types
import zipfile
from pathlib import Path

import pytest

from tlcourse import colab, paths


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A stand-in ``google.colab`` with ``drive.mount`` and ``files.upload``; Drive lives in tmp_path."""
    calls: dict[str, object] = {"uploads": []}
    google = types.ModuleType("google")
    module = types.ModuleType("google.colab")
    drive_home = tmp_path / "drive" / "MyDrive"

    def mount(folder):
        calls["mounted"] = folder
        drive_home.mkdir(parents=True, exist_ok=True)

    def upload():
        return calls["uploads"].pop(0)

    module.drive = types.SimpleNamespace(mount=mount)
    module.files = types.SimpleNamespace(upload=upload)
    google.colab = module
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setattr(colab, "DRIVE_MOUNT", str(tmp_path / "drive"))
    monkeypatch.setattr(colab, "DRIVE_HOME", str(drive_home))
    monkeypatch.delenv(paths.RESULTS_ENV, raising=False)
    return calls


def test_outside_colab_both_cells_say_what_to_do_and_change_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "results"))
    assert not colab.in_colab()
    assert colab.keep_results_on_drive() is None
    assert colab.upload_class_folders(tmp_path / "photos") is None
    printed = capsys.readouterr().out
    assert f"results stay in the local results folder {tmp_path / 'results'}" in printed
    assert f"put your photos into {tmp_path / 'photos'}, one sub-folder per class" in printed
    assert not (tmp_path / "photos").exists()


def test_keep_results_on_drive_mounts_and_moves_the_results_folder(fake_colab, capsys):
    from tlcourse.results import load_result, save_result

    folder = colab.keep_results_on_drive("course/results")
    assert colab.in_colab()
    assert fake_colab["mounted"] == colab.DRIVE_MOUNT
    assert folder == Path(colab.DRIVE_HOME, "course", "results") and folder.is_dir()
    assert paths.results_dir() == folder
    assert "kept on Google Drive" in capsys.readouterr().out
    saved = save_result("colab_test", "smoke", accuracy=0.5)
    assert saved.is_relative_to(folder) and load_result("colab_test", "smoke")["accuracy"] == 0.5


@pytest.mark.parametrize("folder", ["/content/elsewhere", "../outside", ""])
def test_keep_results_on_drive_refuses_a_folder_outside_mydrive(fake_colab, folder):
    with pytest.raises(ValueError, match="folder="):
        colab.keep_results_on_drive(folder)


def test_upload_unpacks_class_folders_and_strips_one_top_folder(fake_colab, tmp_path, capsys):
    fake_colab["uploads"].append({"photos.zip": _zip({
        "my_photos/cats/1.jpg": b"cat", "my_photos/dogs/2.jpg": b"dog", "my_photos/dogs/3.jpg": b"dog2",
        "__MACOSX/my_photos/cats/._1.jpg": b"junk", "my_photos/.DS_Store": b"junk"})})
    folder = colab.upload_class_folders(tmp_path / "own")
    assert folder == tmp_path / "own"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "cats/1.jpg", "dogs/2.jpg", "dogs/3.jpg"]
    assert (folder / "dogs" / "3.jpg").read_bytes() == b"dog2"
    assert "Unpacked 3 files in 2 class folders (cats 1, dogs 2)" in capsys.readouterr().out


def test_upload_never_overwrites_an_existing_file(fake_colab, tmp_path):
    (tmp_path / "own" / "cats").mkdir(parents=True)
    (tmp_path / "own" / "cats" / "1.jpg").write_bytes(b"mine")
    fake_colab["uploads"].append({"photos.zip": _zip({"cats/1.jpg": b"new", "cats/2.jpg": b"new"})})
    with pytest.raises(FileExistsError, match=r"cats/1\.jpg already exists.*nothing overwritten.*Fix: unpack into"):
        colab.upload_class_folders(tmp_path / "own")
    assert (tmp_path / "own" / "cats" / "1.jpg").read_bytes() == b"mine"
    assert not (tmp_path / "own" / "cats" / "2.jpg").exists(), "nothing is written when one file exists"


@pytest.mark.parametrize("upload, message", [
    ({}, "No file was uploaded"),
    ({"a.zip": _zip({"x/1.jpg": b""}), "b.zip": _zip({"y/1.jpg": b""})}, "2 files were uploaded"),
    ({"photo.jpg": b"\xff\xd8\xff not a zip"}, "photo.jpg is not a zip file"),
    ({"empty.zip": _zip({})}, "empty.zip holds no files"),
    ({"flat.zip": _zip({"1.jpg": b"", "2.jpg": b""})}, "flat.zip has no class folders"),
    ({"evil.zip": _zip({"../../etc/x.jpg": b""})}, "outside the destination"),
    ({"evil.zip": _zip({"/etc/cats/x.jpg": b""})}, "outside the destination"),
    ({"evil.zip": _zip({"C:\\cats\\x.jpg": b""})}, "outside the destination"),
])
def test_upload_refuses_what_is_not_a_safe_zip_of_class_folders(fake_colab, tmp_path, upload, message):
    fake_colab["uploads"].append(upload)
    with pytest.raises(ValueError, match=message):
        colab.upload_class_folders(tmp_path / "own")
    assert not (tmp_path / "own").exists() or not any((tmp_path / "own").rglob("*"))


def test_unpack_reads_a_zip_file_on_disk(tmp_path, capsys):
    archive = tmp_path / "photos.zip"
    archive.write_bytes(_zip({"cats/1.jpg": b"c", "dogs/2.jpg": b"d", "notes.txt": b"loose"}))
    folder = colab.unpack_class_folders(archive, tmp_path / "own")
    assert sorted(p.name for p in folder.iterdir()) == ["cats", "dogs"]
    assert "Skipped 1 file(s) outside the class folders: notes.txt" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="does not exist"):
        colab.unpack_class_folders(tmp_path / "missing.zip", tmp_path / "other")
    with pytest.raises(TypeError, match="destination"):
        colab.unpack_class_folders(archive, 3)


@pytest.mark.parametrize("folder", ["\\tmp\\x", ".", "C:\\results", "../x"])
def test_keep_results_on_drive_refuses_folders_outside_mydrive(folder):
    from tlcourse import colab

    with pytest.raises(ValueError, match="inside MyDrive"):
        colab.keep_results_on_drive(folder)


def _zip_of(entries: dict[str, bytes]) -> "io.BytesIO":
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_a_damaged_or_ambiguous_zip_unpacks_nothing(tmp_path):
    import io

    from tlcourse.colab import unpack_class_folders

    good = _zip_of({"cats/1.jpg": b"a" * 200, "dogs/2.jpg": b"b" * 200}).getvalue()
    position = good.index(b"b" * 200)  # stored uncompressed: flip a byte of dogs/2.jpg's data
    damaged = good[:position] + b"c" + good[position + 1:]
    with pytest.raises(ValueError, match="damaged.*dogs/2.jpg.*nothing was unpacked"):
        unpack_class_folders(io.BytesIO(damaged), tmp_path / "damaged")
    assert not (tmp_path / "damaged" / "cats").exists()
    with pytest.raises(ValueError, match="unpack to the same file"):
        unpack_class_folders(_zip_of({"cats/A.jpg": b"1", "cats/a.jpg": b"2", "dogs/b.jpg": b"3"}), tmp_path / "twice")
    assert not (tmp_path / "twice" / "cats").exists()


def test_wrapper_folders_are_stripped_even_with_a_stray_file(tmp_path, capsys):
    from tlcourse.colab import unpack_class_folders

    folder = unpack_class_folders(_zip_of({"Archive/photos/cats/1.jpg": b"1", "Archive/photos/dogs/2.jpg": b"2",
                                        "Archive/photos/readme.txt": b"3"}), tmp_path / "photos")
    assert sorted(path.name for path in folder.iterdir()) == ["cats", "dogs"]


def test_names_no_disk_takes_or_a_file_that_is_a_folder_unpack_nothing(tmp_path):
    import io

    from tlcourse.colab import unpack_class_folders

    with pytest.raises(ValueError, match="longer than 255 bytes"):
        unpack_class_folders(_zip_of({"cats/1.jpg": b"1", "dogs/" + "d" * 300 + ".jpg": b"2"}), tmp_path / "long")
    with pytest.raises(ValueError, match="both as a file and as a folder"):
        unpack_class_folders(_zip_of({"cats/x": b"1", "cats/x/1.jpg": b"2", "dogs/2.jpg": b"3"}), tmp_path / "clash")
    assert not (tmp_path / "long" / "cats").exists() and not (tmp_path / "clash" / "dogs").exists()
    (tmp_path / "dangling" / "cats").mkdir(parents=True)
    (tmp_path / "dangling" / "cats" / "1.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(FileExistsError):
        unpack_class_folders(_zip_of({"cats/1.jpg": b"1", "dogs/2.jpg": b"2"}), tmp_path / "dangling")
    assert not (tmp_path / "dangling" / "dogs").exists()
    with pytest.raises(TypeError, match="io.BytesIO"):
        unpack_class_folders(b"PK...", tmp_path / "bytes")
    with pytest.raises(ValueError, match="is a folder"):
        unpack_class_folders(tmp_path / "dangling", tmp_path / "folder")
