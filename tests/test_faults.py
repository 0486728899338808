"""Fault tests: what a crash, a full disk, a read-only folder or two kernels at once leave behind.

Each test states its guarantee in its docstring. Writers are real subprocesses (killed with
SIGKILL, the way a kernel restart or the out-of-memory killer ends them); records are small,
so the whole file runs in a few seconds.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tlcourse import files, results

REPO = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent("""
    import os, sys
    from tlcourse import results
    tag = sys.argv[1]
    for index in range(int(sys.argv[2])):
        results.save_result("fault_test", "smoke", writer=tag, index=index, payload=[index] * 5_000)
        if index == 0:
            print("started", flush=True)
""")


def _writer(tmp_path: Path, tag: str, count: int) -> subprocess.Popen:
    env = {**os.environ, "TLCOURSE_RESULTS_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", WRITER, tag, str(count)], env=env, stdout=subprocess.PIPE,
                            text=True)


def _check_complete(record: dict | None) -> None:
    assert record is not None and record["payload"] == [record["index"]] * 5_000


def test_a_writer_killed_mid_write_leaves_the_previous_record(tmp_path, monkeypatch):
    """SIGKILL during a save: the record on disk is a complete earlier one, and the next save
    removes the killed writer's temporary file."""
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    writer = _writer(tmp_path, "a", 10_000)
    assert writer.stdout.readline().strip() == "started"
    time.sleep(0.3)  # many saves in flight; the kill lands inside one of them
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    _check_complete(results.load_result("fault_test", "smoke"))
    results.save_result("fault_test", "smoke", writer="b", index=1, payload=[1] * 5_000)
    leftovers = [p.name for p in (tmp_path / "smoke").iterdir() if p.name != "fault_test.json"]
    assert leftovers == [], f"the killed writer's temporary file must be cleaned up: {leftovers}"


def test_two_writers_and_a_reader_at_once(tmp_path, monkeypatch):
    """Two kernels saving the same record while a third reads it: every read is a complete
    record (never 'not valid JSON'), both writers succeed, and the final file is complete."""
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    results.save_result("fault_test", "smoke", writer="start", index=0, payload=[0] * 5_000)
    writers = [_writer(tmp_path, tag, 15) for tag in ("a", "b")]
    reads = 0
    while any(writer.poll() is None for writer in writers):
        _check_complete(results.load_result("fault_test", "smoke"))
        reads += 1
    assert [writer.returncode for writer in writers] == [0, 0]
    record = results.load_result("fault_test", "smoke")
    _check_complete(record)
    assert record["writer"] in {"a", "b"} and reads > 0
    assert sorted(p.name for p in (tmp_path / "smoke").iterdir()) == ["fault_test.json"]


@pytest.mark.parametrize("error, fix", [(errno.ENOSPC, "free some disk space"),
                                        (errno.EACCES, "to a folder you can write to"),
                                        (errno.EROFS, "to a folder you can write to")])
def test_a_failed_save_keeps_the_old_record_and_names_the_fix(tmp_path, monkeypatch, error, fix):
    """A full disk or read-only folder mid-write: a clear ValueError naming the fix, the old
    record intact, no temporary file left."""
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    results.save_result("fault_test", "smoke", index=1, payload=[1] * 10)
    real_fsync = os.fsync

    def failing_fsync(descriptor):
        real_fsync(descriptor)
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    with pytest.raises(ValueError, match=fix):
        results.save_result("fault_test", "smoke", index=2, payload=[2] * 10)
    monkeypatch.undo()
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    assert results.load_result("fault_test", "smoke")["index"] == 1
    assert sorted(p.name for p in (tmp_path / "smoke").iterdir()) == ["fault_test.json"]


def test_a_real_read_only_folder_gives_a_clear_error(tmp_path, monkeypatch):
    """A folder without write permission (as a normal user; root ignores permissions)."""
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke").chmod(0o555)
    monkeypatch.setenv("TLCOURSE_RESULTS_DIR", str(tmp_path))
    try:
        with pytest.raises(ValueError, match="Cannot write the result record"):
            results.save_result("fault_test", "smoke", index=1)
    finally:
        (tmp_path / "smoke").chmod(0o755)


def test_temporary_files_of_live_writers_are_left_alone(tmp_path):
    """Only orphans (their process is gone) are removed; a live writer's file is never touched."""
    target = tmp_path / "x.json"
    live = tmp_path / f".x.json.{files._host()}-{os.getpid()}.abc{files.TEMPORARY_SUFFIX}"
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()
    dead = tmp_path / f".x.json.{files._host()}-{dead_pid}.abc{files.TEMPORARY_SUFFIX}"
    other_host = tmp_path / f".x.json.elsewhere-{dead_pid}.abc{files.TEMPORARY_SUFFIX}"
    for path in (live, dead, other_host):
        path.write_bytes(b"partial")
    files.write_atomically(target, json.dumps({"a": 1}).encode())
    assert live.exists() and other_host.exists() and not dead.exists()


def test_write_atomically_writes_through_a_symbolic_link(tmp_path):
    from tlcourse.files import write_atomically

    shared = tmp_path / "shared.json"
    shared.write_text("old")
    link = tmp_path / "mine.json"
    link.symlink_to(shared)
    assert write_atomically(link, b"new") == link
    assert link.is_symlink() and shared.read_text() == "new"


def test_write_atomically_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    """A private (0600) or read-only (0444) file became 0644 after a write."""
    from tlcourse.files import write_atomically

    for mode in (0o600, 0o444):
        target = tmp_path / f"record-{mode:o}.json"
        target.write_text("old")
        os.chmod(target, mode)
        write_atomically(target, b"new")
        assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == mode
