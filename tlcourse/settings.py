"""The three profiles (``smoke``, ``quick``, ``full``) and the first-cell ``setup()``.

A profile changes *values* — sizes, epochs, subsets, weights — never the code a notebook
teaches. It is chosen by the ``TLCOURSE_PROFILE`` environment variable; without it, ``full``
where a GPU is visible, else ``quick``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from dataclasses import dataclass

PROFILE_ENV = "TLCOURSE_PROFILE"


@dataclass(frozen=True)
class FineTuneSettings:
    """Notebook 08's values (fine-tuning the top layers of a pretrained base).

    Attributes:
        ablation_layers: how many top layers of the base each ablation run unfreezes; ``None``
            stands for all of them. Every run starts from the same trained head.
        ablation_steps: training steps of each ablation run (``None``: one full epoch).
        bn_demo_batches: batches each case of the BatchNormalization measurement trains on.
        patience: fine-tuning epochs without a better validation accuracy before
            ``EarlyStopping`` ends the phase (and restores the best epoch's weights).
    """

    ablation_layers: tuple[int | None, ...]
    ablation_steps: int | None
    bn_demo_batches: int
    patience: int


@dataclass(frozen=True)
class Settings:
    """Every value a profile sets. Read them as ``settings.image_size`` and so on.

    Attributes:
        name: ``"smoke"``, ``"quick"`` or ``"full"``.
        weights: ``"imagenet"`` or ``None`` (random initial weights, no download).
        mock_data: ``True`` to load datasets under ``tfds.testing.mock_data`` (no download).
        mock_examples: how many random examples a mocked dataset yields in all.
        image_size: side of the square images fed to pretrained backbones, in pixels.
        batch_size: examples per training step.
        train_examples_per_class: cap on training examples per class (``None``: all).
        epochs_scratch: epochs for a model trained from scratch.
        epochs_head: epochs for training a new head on a frozen backbone.
        epochs_finetune: epochs for fine-tuning after the head is trained.
        mixed_precision: use ``mixed_float16`` (only where a GPU is visible).
        lab_*: sizes of notebook 01's offline shapes lab (see ``tlcourse.lab``).
        fine_tune: notebook 08's values (``FineTuneSettings``).
        seed: the seed ``setup()`` passes to ``keras.utils.set_random_seed``.
    """

    name: str
    weights: str | None
    mock_data: bool
    mock_examples: int
    image_size: int
    batch_size: int
    train_examples_per_class: int | None
    epochs_scratch: int
    epochs_head: int
    epochs_finetune: int
    mixed_precision: bool
    lab_source_per_class: int
    lab_source_epochs: int
    lab_labels_per_class: tuple[int, ...]
    lab_seeds: int
    lab_target_steps: int
    lab_test_per_class: int
    fine_tune: FineTuneSettings
    seed: int = 42


PROFILES: dict[str, Settings] = {
    "smoke": Settings(
        name="smoke",
        weights=None,
        mock_data=True,
        mock_examples=60,
        image_size=96,
        batch_size=16,
        train_examples_per_class=None,
        epochs_scratch=1,
        epochs_head=1,
        epochs_finetune=1,
        mixed_precision=False,
        lab_source_per_class=300,
        lab_source_epochs=4,
        lab_labels_per_class=(3,),
        lab_seeds=1,
        lab_target_steps=40,
        lab_test_per_class=50,
        fine_tune=FineTuneSettings(ablation_layers=(29,), ablation_steps=None, bn_demo_batches=2,
                                   patience=1),
    ),
    "quick": Settings(
        name="quick",
        weights="imagenet",
        mock_data=False,
        mock_examples=0,
        image_size=160,
        batch_size=32,
        train_examples_per_class=150,
        epochs_scratch=15,
        epochs_head=5,
        epochs_finetune=3,
        mixed_precision=False,
        lab_source_per_class=1000,
        lab_source_epochs=6,
        lab_labels_per_class=(1, 3, 10, 30),
        lab_seeds=3,
        lab_target_steps=100,
        lab_test_per_class=100,
        fine_tune=FineTuneSettings(ablation_layers=(0, 29, 100, None), ablation_steps=10,
                                   bn_demo_batches=2, patience=2),
    ),
    "full": Settings(
        name="full",
        weights="imagenet",
        mock_data=False,
        mock_examples=0,
        image_size=224,
        batch_size=64,
        train_examples_per_class=None,
        epochs_scratch=30,
        epochs_head=10,
        epochs_finetune=10,
        mixed_precision=True,
        lab_source_per_class=3000,
        lab_source_epochs=15,
        lab_labels_per_class=(1, 3, 10, 30, 100),
        lab_seeds=5,
        lab_target_steps=300,
        lab_test_per_class=300,
        fine_tune=FineTuneSettings(ablation_layers=(0, 11, 29, 56, 100, None), ablation_steps=None,
                                   bn_demo_batches=2, patience=3),
    ),
}

DESCRIPTIONS = {
    "smoke": "offline test run: random weights, mock data, tiny sizes. It proves the code runs; "
    "accuracies on mock data mean nothing (notebook 01's generated-shapes lab still learns for real).",
    "quick": "CPU laptop or classroom: ImageNet weights, real data in small subsets, small images.",
    "full": "Colab or any GPU: full datasets, 224 px images, more epochs, mixed precision.",
}


def _gpu_names() -> list[str]:
    import tensorflow as tf

    return [gpu.name for gpu in tf.config.list_physical_devices("GPU")]


def profile_name() -> str:
    """Return the active profile's name: ``$TLCOURSE_PROFILE``, else ``full`` with a GPU, else ``quick``.

    Raises:
        ValueError: ``TLCOURSE_PROFILE`` names no profile.
    """
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not name:
        return "full" if _gpu_names() else "quick"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={os.environ[PROFILE_ENV]!r} is not a profile. "
            f"Choose one of {sorted(PROFILES)}, e.g. `export {PROFILE_ENV}=quick`."
        )
    return name


def get_settings(profile: str | None = None) -> Settings:
    """Return the settings of ``profile`` (default: the active profile, see ``profile_name``).

    Example:
        >>> get_settings("smoke").weights is None
        True
    """
    name = profile_name() if profile is None else profile
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}. Choose one of {sorted(PROFILES)}.")
    return PROFILES[name]


def setup(profile: str | None = None, seed: int | None = None, verbose: bool = True) -> Settings:
    """Seed everything, report the environment and return the active profile's settings.

    Call it in every notebook's first code cell. It seeds Python, NumPy and the backend
    (``keras.utils.set_random_seed``), turns on TensorFlow op determinism on the CPU (identical
    results run to run), switches on mixed precision where the profile asks and a GPU exists,
    and prints versions, backend, GPU, profile, seed and cache folders.

    Args:
        profile: a profile name; default from ``TLCOURSE_PROFILE`` (see ``profile_name``).
        seed: overrides the profile's seed.
        verbose: print the report.

    Example:
        >>> settings = setup("smoke", verbose=False)
        >>> settings.name
        'smoke'
    """
    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from tlcourse import __version__

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"Keras runs on the {keras.backend.backend()!r} backend; this course's data pipelines "
            "need 'tensorflow'. Unset KERAS_BACKEND (or set KERAS_BACKEND=tensorflow) and restart "
            "the kernel."
        )
    settings = get_settings(profile)
    if seed is not None:
        settings = dataclasses.replace(settings, seed=seed)
    tf.get_logger().setLevel("ERROR")  # deprecation notices from inside TF/tfds are noise here
    gpus = _gpu_names()
    keras.utils.set_random_seed(settings.seed)
    if not gpus:
        tf.config.experimental.enable_op_determinism()
    use_mixed = settings.mixed_precision and bool(gpus)
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    if verbose:
        print(
            f"tlcourse {__version__} · Python {platform.python_version()} · TensorFlow "
            f"{tf.__version__} · Keras {keras.__version__} (backend {keras.backend.backend()}) · "
            f"tfds {tfds.__version__}"
        )
        print(f"GPU: {', '.join(gpus) if gpus else 'none (CPU only)'}"
              + (" · Colab" if "google.colab" in sys.modules else ""))
        print(f"Profile: {settings.name} — {DESCRIPTIONS[settings.name]}")
        print(
            f"  weights={settings.weights} image_size={settings.image_size} "
            f"batch_size={settings.batch_size} train_examples_per_class="
            f"{settings.train_examples_per_class} epochs (scratch/head/fine-tune)="
            f"{settings.epochs_scratch}/{settings.epochs_head}/{settings.epochs_finetune} "
            f"mixed_precision={use_mixed}"
        )
        print(f"Seed: {settings.seed} (op determinism {'off on GPU' if gpus else 'on'})")
        for key in ("TFDS_DATA_DIR", "KERAS_HOME"):
            print(f"{key}: {os.environ.get(key, '(library default)')}")
    return settings
