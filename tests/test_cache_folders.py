"""The course's cache folders hold whatever was imported first (``tlcourse.paths``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from tlcourse import data, paths

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def clean_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("KERAS_HOME", "TFDS_DATA_DIR")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return env


def test_keras_imported_first_still_downloads_into_the_course_folder(tmp_path):
    source = tmp_path / "weights.h5"
    source.write_text("not really weights")
    printed = run_python(f"""
        import keras                      # first: Keras reads KERAS_HOME (unset here) -> ~/.keras
        import tlcourse                   # then the course: it moves Keras's cache folder
        from keras.src.backend import config
        home = config.keras_home()
        path = keras.utils.get_file("probe.h5", "file://{source}", cache_subdir="models")
        print("RESULT", home, path)
    """, clean_env(tmp_path))
    keras_home, downloaded = printed.split("RESULT ")[-1].split()
    assert keras_home == str(ROOT / "data" / "keras")
    assert Path(downloaded) == ROOT / "data" / "keras" / "models" / "probe.h5"
    Path(downloaded).unlink()


def test_a_variable_set_by_the_learner_wins_in_any_order(tmp_path):
    printed = run_python(f"""
        import os
        import keras
        os.environ["KERAS_HOME"] = "{tmp_path / 'mine'}"
        import tlcourse
        from keras.src.backend import config
        print(config.keras_home())
    """, clean_env(tmp_path))
    assert printed.strip().splitlines()[-1] == str(tmp_path / "mine")
    assert (tmp_path / "mine").is_dir(), "Keras's get_file needs the folder to exist (else /tmp/.keras)"


def test_when_keras_cannot_be_redirected_setup_warns_once_with_the_fix(monkeypatch, tmp_path):
    fake_config = types.SimpleNamespace(keras_home=lambda: "/home/me/.keras")  # no _KERAS_DIR
    monkeypatch.setitem(sys.modules, "keras.src.backend.config", fake_config)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    message = paths.point_keras_cache()
    assert message and "/home/me/.keras" in message and str(tmp_path) in message
    assert "restart the kernel and run the setup cell first" in message
    assert paths.keras_cache_dir() == "/home/me/.keras", "report where the weights will really go"


def test_nothing_to_do_when_keras_already_uses_keras_home(monkeypatch):
    from keras.src.backend import config

    monkeypatch.setenv("KERAS_HOME", config.keras_home())
    assert paths.point_keras_cache() is None


def test_load_splits_passes_the_course_folder_to_tfds_explicitly(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    seen = []

    def fake_load(name, split, **kwargs):
        seen.append(kwargs["data_dir"])
        raise RuntimeError("stop here")

    monkeypatch.setattr(data.tfds, "load", fake_load)
    with pytest.raises(RuntimeError, match="stop here"):
        data.load_splits("tf_flowers", __import__("tlcourse").get_settings("smoke"))
    assert seen == [str(tmp_path)]
