"""The course map: every notebook, the article step it teaches, and what you learn.

Notebook 00 renders it; a test checks it against the files in ``notebooks/``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tlcourse.checks import suggest


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course.

    ``core`` marks the lessons of the beginner's core path (every article step; the aim is at most
    ``CORE_PATH_BUDGET_MINUTES`` in all); ``minutes`` is a beginner's time for the lesson's main
    line and exercise in the ``quick`` profile — reading, running, solving — with its deep dives
    (folded ``<details>`` boxes, the optional section at the end and the solutions) left closed, as
    estimated by a reader playing a beginner on 2026-12-06 (the six-lesson core path: one exercise per
    core lesson, folded plumbing). Estimates, not measurements: replace them when
    real learners are timed. ``available``
    is False for a lesson not yet published.

    ``extras`` names the optional dependency groups of ``tlcourse`` (pyproject.toml) the notebook
    needs beyond the core ones, e.g. ``("hub",)`` for KerasHub models; the notebook's Colab install
    cell installs ``tlcourse[hub]``. ``article_de`` is the title of the section of the (German)
    article the lesson follows, in the article's own words ("" for lessons outside the article);
    the notebook's first cell quotes it, and README's glossary translates the course's terms.

    ``at_a_glance`` names further article steps (``article_de`` titles) that a core lesson teaches in
    one short section, so that the core path covers them while their in-depth lessons stay optional:
    01 measures the three advantages at a glance on its lab (04–06 measure each in depth), 03's
    exercise chooses a pretrained model on validation (07 compares them in depth), and 09's flower
    classifier is the article's first application, image recognition (10–13 are the others). A step
    is named by its lessons' ``article_de`` or, for a step that shares its section with other lessons,
    by their ``article_step``. A test checks that such a lesson names those in-depth lessons.
    """

    number: int
    slug: str
    article_step: str
    you_learn: str
    available: bool
    extras: tuple[str, ...] = ()
    article_de: str = ""
    core: bool = False
    minutes: int = 0
    at_a_glance: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        """The notebook's file name in ``notebooks/``."""
        return f"{self.number:02d}_{self.slug}.ipynb"


LESSON_FILENAME = re.compile(r"\d{2}_[a-z0-9_]+\.ipynb")
"""How a lesson's notebook is named (``03_how_transfer_learning_works.ipynb``). A learner's own notebook in
``notebooks/`` (Jupyter's ``…-Copy1.ipynb``, ``Untitled.ipynb``) does not match: the tests leave it alone."""


def is_lesson_filename(name: str | os.PathLike) -> bool:
    """True when ``name`` (a file name or path) is named like a lesson's notebook.

    Example:
        >>> is_lesson_filename("03_how_transfer_learning_works.ipynb"), is_lesson_filename("03_how-Copy1.ipynb")
        (True, False)
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name={name!r} is a {type(name).__name__}: expected a file name or path. "
                        "Fix: e.g. is_lesson_filename('03_how_transfer_learning_works.ipynb').")
    return LESSON_FILENAME.fullmatch(Path(name).name) is not None


def lesson_for(filename: str | os.PathLike) -> Lesson:
    """Return the lesson whose notebook file is ``filename`` (e.g. ``"03_how_transfer_learning_works.ipynb"``).

    A path (``"notebooks/03_how_transfer_learning_works.ipynb"`` or a ``Path``) counts by its file name.

    Example:
        >>> lesson_for("notebooks/03_how_transfer_learning_works.ipynb").number
        3
    """
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename={filename!r} is a {type(filename).__name__}: expected a notebook's file name. "
                        "Fix: e.g. lesson_for('03_how_transfer_learning_works.ipynb').")
    name = Path(filename).name
    for lesson in COURSE_MAP:
        if lesson.filename == name:
            return lesson
    names = [lesson.filename for lesson in COURSE_MAP]
    hint = suggest(name, names, count=1)
    raise ValueError(f"{name!r} is no notebook of the course map. {hint + ' ' if hint else ''}Expected one of "
                     f"{names}. Fix: pass a notebook's file name; add new lessons to tlcourse.course.COURSE_MAP.")


COURSE_MAP: tuple[Lesson, ...] = (
    Lesson(0, "setup_and_course_map", "Before you start",
           "check your setup, pick a profile, find your route through the course", True,
           core=True, minutes=10),
    Lesson(1, "what_is_transfer_learning", "What transfer learning is",
           "reuse a CNN trained on one task for another, offline, and measure the gain", True,
           article_de="Was ist Transfer Learning?",
           core=True, minutes=30, at_a_glance=("Vorteile von Transfer Learning",)),
    Lesson(2, "normal_training_from_scratch", "How it works: normal training",
           "train a small CNN from scratch on flowers: time, parameters, accuracy", True,
           article_de="Wie funktioniert Transfer Learning?",
           minutes=35),
    Lesson(3, "how_transfer_learning_works", "How it works: frozen base + new layers",
           "a frozen MobileNetV2, its preprocess_input, a new head; choose a pretrained model on validation", True,
           article_de="Wie funktioniert Transfer Learning?",
           core=True, minutes=45, at_a_glance=("Applying it: choose a pretrained model",)),
    Lesson(4, "advantage_less_training_time", "Advantages: less training time and cost",
           "time and compute of scratch vs transfer, cached features", True,
           article_de="Vorteile von Transfer Learning",
           minutes=40),
    Lesson(5, "advantage_little_data", "Advantages: better performance with little data",
           "accuracy vs examples per class, with error bars over seeds", True,
           article_de="Vorteile von Transfer Learning",
           minutes=45),
    Lesson(6, "advantage_generalization", "Advantages: better generalization",
           "train/test gaps and accuracy under shifted test images", True,
           article_de="Vorteile von Transfer Learning",
           minutes=40),
    Lesson(7, "choosing_a_pretrained_model", "Applying it: choose a pretrained model",
           "VGG, ResNet, Inception, MobileNet, EfficientNet: size, speed, accuracy", True,
           article_de="Wie können Anfänger Transfer Learning nutzen?",
           minutes=30),
    Lesson(8, "fine_tuning", "Applying it: fine-tune the last layers",
           "unfreeze the top layers, keep BatchNorm frozen, a low learning rate", True,
           article_de="Wie können Anfänger Transfer Learning nutzen?",
           core=True, minutes=35),
    Lesson(9, "evaluate_and_compare", "Applying it: evaluate, test and compare",
           "image recognition, the article's first application: decide on validation, test once, confusion matrix, per-class scores", True,
           article_de="Wie können Anfänger Transfer Learning nutzen?",
           core=True, minutes=30, at_a_glance=("Anwendungen von Transfer Learning",)),
    Lesson(10, "applications_nlp_bert", "Applications: NLP with BERT-style models",
           "BERT fine-tuned head first, GPT-2 frozen and prompted in context, vs a model from scratch", True, ("hub",),
           article_de="Anwendungen von Transfer Learning",
           minutes=110),
    Lesson(11, "applications_speech", "Applications: speech recognition",
           "a frozen pretrained audio encoder with a new head, vs a spectrogram CNN", True, ("hub",),
           article_de="Anwendungen von Transfer Learning",
           minutes=90),
    Lesson(12, "applications_robotics_localization", "Applications: robotics, detection and localization",
           "class and box heads on a pretrained base, a detector preset, export for a robot", True, ("hub",),
           article_de="Anwendungen von Transfer Learning",
           minutes=90),
    Lesson(13, "applications_healthcare", "Applications: healthcare imaging",
           "a frozen base on tissue and X-rays vs scratch; a screen's sensitivity, specificity and threshold", True,
           article_de="Anwendungen von Transfer Learning",
           minutes=45),
    Lesson(14, "when_transfer_does_not_help", "When transfer learning does not help",
           "easy targets, distant sources, plenty of data and negative transfer, measured", True,
           article_de="Transfer Learning ist keine Universallösung",
           core=True, minutes=40),
    Lesson(15, "scaling_out", "Appendix: scaling out",
           "the same fine-tuning under tf.distribute; two worker processes, and a killed worker that resumes", True,
           minutes=60),
)


CORE_PATH_BUDGET_MINUTES = 240
"""The aim: the beginner's core path takes at most four hours in all (``tests/test_course_and_prefetch.py``
holds ``COURSE_MAP``'s minutes to it and to ``CORE_LESSON_BUDGET_MINUTES``)."""
CORE_LESSON_BUDGET_MINUTES = 45
"""The aim: no core lesson takes a beginner more than this."""


def core_path() -> tuple[Lesson, ...]:
    """The lessons of the beginner's core path, in order.

    Example:
        >>> [lesson.number for lesson in core_path()]
        [0, 1, 3, 8, 9, 14]
    """
    return tuple(lesson for lesson in COURSE_MAP if lesson.core)


def core_path_minutes() -> int:
    """A beginner's time for the whole core path, in minutes (the sum of its lessons' ``minutes``)."""
    return sum(lesson.minutes for lesson in core_path())


@dataclass(frozen=True)
class ArticleSystem:
    """A system the article names, and where the course runs or discusses it.

    ``status`` is one of ``STATUSES``: a maintained Keras 3 model (Keras Applications or KerasHub)
    the course runs, an architecture without pretrained weights, an API-only model, an archived
    project, or a model outside Keras. ``notebooks`` are the lessons that name it (a test checks).
    """

    name: str
    what: str
    notebooks: tuple[int, ...]
    status: str


STATUSES = ("runs (Keras Applications)", "runs (KerasHub)", "KerasHub architecture, no pretrained preset",
            "API only", "archived", "not in Keras 3")

# In the article's order: the models a beginner chooses, then language, speech, robotics, healthcare.
ARTICLE_SYSTEMS: tuple[ArticleSystem, ...] = (
    ArticleSystem("VGG", "deep plain CNN (VGG16, Oxford 2014)", (7,), "runs (Keras Applications)"),
    ArticleSystem("ResNet", "CNN with residual connections (ResNet50, Microsoft 2015)", (7, 13),
                  "runs (Keras Applications)"),
    ArticleSystem("Inception", "CNN of parallel filter sizes (InceptionV3, Google 2015)", (7, 13),
                  "runs (Keras Applications)"),
    ArticleSystem("BERT", "encoder language model, pretrained by filling in masked words (Google 2018)", (10,),
                  "runs (KerasHub)"),
    ArticleSystem("GPT-3", "175-billion-parameter decoder language model (OpenAI 2020); the course runs its "
                  "open predecessor GPT-2", (10,), "API only"),
    ArticleSystem("XLNet", "permutation language model (CMU and Google 2019)", (10,),
                  "KerasHub architecture, no pretrained preset"),
    ArticleSystem("DeepSpeech", "CTC speech recogniser (Mozilla, after Baidu's Deep Speech 2014); the course "
                  "uses Whisper's encoder", (11,), "archived"),
    ArticleSystem("WaveNet", "generative model of raw audio for speech synthesis (DeepMind 2016), not a "
                  "recogniser", (11,), "not in Keras 3"),
    ArticleSystem("YOLO", "one-stage object detector (2016)", (12,), "not in Keras 3"),
    ArticleSystem("SSD", "one-stage detector with default boxes (anchors) at several scales (2016)", (12,),
                  "not in Keras 3"),
)
"""Every system the article names: what it is, where the course runs or discusses it, its status.

Notebook 00 and README print this table; ``tests/test_article_systems.py`` checks that each name
appears in the notebooks listed.
"""


def course_map_table() -> str:
    """The course map as a text table — number, lesson, path (core or deep dive), a beginner's
    minutes, what you learn — and a last line with the core path's total. Notebook 00 prints it.

    Example:
        >>> print(course_map_table().splitlines()[-1])  # doctest: +ELLIPSIS
        Core path: 6 lessons, about ... h ... min for a beginner (...); deep dives: 10 lessons.
    """
    from tlcourse.results import format_table

    rows = [{"#": f"{lesson.number:02d}", "lesson": lesson.article_step,
             "path": "core" if lesson.core else "deep dive",
             "beginner": f"{lesson.minutes} min", "you learn": lesson.you_learn}
            for lesson in COURSE_MAP if lesson.available]
    total, core = core_path_minutes(), core_path()
    return (format_table(rows, ["#", "lesson", "path", "beginner", "you learn"])
            + f"\nCore path: {len(core)} lessons, about {total // 60} h {total % 60:02d} min for a beginner "
            f"(quick profile, deep dives closed); deep dives: {len(rows) - len(core)} lessons.")
