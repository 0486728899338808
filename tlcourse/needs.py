"""What each notebook downloads in ``quick`` and ``full``: the plan behind ``prefetch --notebooks``.

One entry per lesson number that downloads anything. ``tests/test_needs.py`` reads every notebook's
code and fails if it loads a dataset, a backbone or a KerasHub preset that its entry here forgets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tlcourse.checks import check_choice, check_int


@dataclass(frozen=True)
class Needs:
    """Downloads of one notebook: TFDS dataset names and Keras Applications backbones (ImageNet, no top).

    ``extra_sizes``: input sizes besides the notebook's own at which a size-dependent backbone
    (MobileNetV2's weight file depends on it) is also loaded, e.g. an exercise's smaller input.
    """

    datasets: tuple[str, ...] = ()
    backbones: tuple[str, ...] = ()
    extra_sizes: tuple[int, ...] = ()


FLOWERS = ("tf_flowers",)
NEEDS: dict[int, Needs] = {
    2: Needs(FLOWERS),
    # 03: its exercise probes settings.choosing.probe_backbones[:3] (quick and full: MobileNetV2, MobileNetV3Small,
    # EfficientNetB0; 07 probes them too); ResNet50: Exercise 2, in the deep dives.
    3: Needs(FLOWERS, ("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50")),
    4: Needs(FLOWERS, ("MobileNetV2",), extra_sizes=(128,)),  # 128 px: the exercise's smaller input
    5: Needs(FLOWERS, ("MobileNetV2",)),
    6: Needs(FLOWERS, ("MobileNetV2",)),
    7: Needs(FLOWERS, ("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50", "InceptionV3", "VGG16",
                       "Xception")),  # Xception: the exercise
    8: Needs(FLOWERS, ("MobileNetV2",)),
    9: Needs(FLOWERS, ("MobileNetV2",)),
    12: Needs(("oxford_iiit_pet",), ("MobileNetV2",)),
    13: Needs(("colorectal_histology", "pneumonia_mnist"), ("MobileNetV2", "ResNet50", "InceptionV3")),
    10: Needs(("imdb_reviews",)),  # KerasHub presets: PRESETS below
    11: Needs(),  # its dataset depends on the profile: DATASET_SETTINGS; Whisper presets: PRESETS below
    15: Needs(FLOWERS, ("MobileNetV2",)),
}
# KerasHub presets per lesson, as attribute paths into the profile's settings (the names differ by
# profile; ``None`` means the profile loads no preset there). 12: the detector preset the lesson shows.
PRESETS: dict[int, tuple[str, ...]] = {
    10: ("nlp.backbone_preset", "nlp.ready_made_preset", "nlp.decoder_preset"),
    11: ("speech.encoder_preset",),
    12: ("robotics.detector_preset",),
}
# Datasets that depend on the profile, as attribute paths into its settings: 11 loads spoken_digit in
# quick and speech_commands (2.4 GiB) in full, so quick's prefetch must not fetch the big one.
DATASET_SETTINGS: dict[int, tuple[str, ...]] = {11: ("speech.dataset",)}
# Only MobileNetV2's weight file depends on the input size; the others are one file for any size.
SIZE_DEPENDENT = ("MobileNetV2",)
# Lessons that build their bases at their own input size, as a settings path (default: the
# profile's ``image_size``). 13: a smaller side in quick, so three backbones fit its budget.
IMAGE_SIZES: dict[int, str] = {13: "healthcare.image_size"}


def plan(notebooks: Iterable[int] | None = None, profile: str = "quick") -> tuple[list[str], list[tuple[str, int]]]:
    """Return ``(datasets, weights)`` to download for ``notebooks`` (default: all) in ``profile``.

    ``weights`` holds ``(backbone, image_size)`` pairs: the notebook's image size for MobileNetV2
    (the profile's, or the one ``IMAGE_SIZES`` names), 224 for the others (their file does not
    depend on it). Each item appears once, in course order.

    Example:
        >>> plan([3], "quick")
        (['tf_flowers'], [('MobileNetV2', 160), ('MobileNetV3Small', 224), ('EfficientNetB0', 224), ('ResNet50', 224)])
        >>> plan([13], "quick")[1]
        [('MobileNetV2', 128), ('ResNet50', 224), ('InceptionV3', 224)]
        >>> plan([4], "quick")[1]  # the exercise's 128 px too
        [('MobileNetV2', 160), ('MobileNetV2', 128)]
        >>> plan([11], "quick")[0], plan([11], "full")[0]  # the profile's own speech dataset
        (['spoken_digit'], ['speech_commands'])
    """
    from tlcourse.settings import get_settings

    numbers = _checked(notebooks, profile, default={**NEEDS, **DATASET_SETTINGS})
    settings = get_settings(profile)
    datasets: list[str] = []
    weights: list[tuple[str, int]] = []
    for number in numbers:
        needs = NEEDS.get(number, Needs())
        image_size = _setting(settings, IMAGE_SIZES[number]) if number in IMAGE_SIZES else settings.image_size
        named = (*needs.datasets, *(str(_setting(settings, path)) for path in DATASET_SETTINGS.get(number, ())))
        datasets += [name for name in named if name not in datasets]
        for backbone in needs.backbones:
            sizes = (image_size, *needs.extra_sizes) if backbone in SIZE_DEPENDENT else (224,)
            for item in ((backbone, size) for size in sizes):
                if item not in weights:
                    weights.append(item)
    return datasets, weights


def presets(notebooks: Iterable[int] | None = None, profile: str = "quick") -> list[str]:
    """Return the KerasHub presets ``notebooks`` (default: all) load in ``profile``, in course order.

    Each name appears once; a setting that is ``None`` in the profile adds nothing.

    Example:
        >>> presets([10, 11], "quick")
        ['bert_tiny_en_uncased', 'bert_tiny_en_uncased_sst2', 'gpt2_base_en', 'whisper_tiny_en']
    """
    from tlcourse.settings import get_settings

    numbers = _checked(notebooks, profile, default=PRESETS)
    settings = get_settings(profile)
    names: list[str] = []
    for number in numbers:
        for path in PRESETS.get(number, ()):
            value = _setting(settings, path)
            if value is not None and value not in names:
                names.append(str(value))
    return names


def _setting(settings: object, path: str) -> object:
    """The value at ``path`` (e.g. ``"nlp.backbone_preset"``) in ``settings``."""
    value = settings
    for attribute in path.split("."):
        value = getattr(value, attribute)
    return value


def _checked(notebooks: Iterable[int] | None, profile: str, default: Mapping[int, object]) -> list[int]:
    """Check ``notebooks`` and ``profile``; return the numbers (``None``: ``default``'s keys) sorted, each once."""
    from tlcourse.course import COURSE_MAP

    check_choice("profile", profile, ("quick", "full"),
                 fix="smoke downloads nothing; prefetch for 'quick' (CPU) or 'full' (GPU)")
    known = [lesson.number for lesson in COURSE_MAP]
    if notebooks is not None and (isinstance(notebooks, (str, bytes, int)) or not isinstance(notebooks, Iterable)):
        raise TypeError(f"notebooks={notebooks!r} is a {type(notebooks).__name__}: expected a list of lesson numbers "
                        f"(or None for all). Fix: e.g. notebooks=[3] (the course map has {known}).")
    numbers = sorted(default) if notebooks is None else list(notebooks)
    for number in numbers:
        check_int("notebook", number, minimum=0, fix=f"use lesson numbers from the course map: {known}")
        if number not in known:
            raise ValueError(f"There is no notebook {number:02d}. The course map has {known}.")
    return sorted(set(numbers))
