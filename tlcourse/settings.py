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
import warnings
from dataclasses import dataclass

PROFILE_ENV = "TLCOURSE_PROFILE"
OFFLINE_TIMING_ENV = "TLCOURSE_OFFLINE_TIMING"
TIMING_MOCK_EXAMPLES = 3_670  # tf_flowers' size (oxford_iiit_pet's train split: 3,680)


@dataclass(frozen=True)
class LabSettings:
    """Sizes of notebook 01's offline shapes lab (``tlcourse.lab``), read as ``settings.lab.seeds`` etc.

    Attributes:
        source_per_class: labelled images per source shape for pretraining.
        source_epochs: passes over the source images.
        labels_per_class: label budgets of the target task, smallest first (the sweep).
        few_labels: labels per target shape in the main scratch-vs-pretrained comparison (a
            small budget, where transfer is expected to matter).
        seeds: how many seeds each (recipe, budget) point is repeated with (at least 2 for a
            verdict from ``stats.compare_seeds``).
        target_epochs: the target step budget grows with the labelled images: this many passes
            over them (see ``tlcourse.lab.step_budget``)...
        min_target_steps: ...but never fewer steps than this, however few the labels.
        test_per_class: target test images per shape.
    """

    source_per_class: int
    source_epochs: int
    labels_per_class: tuple[int, ...]
    few_labels: int
    seeds: int
    target_epochs: int
    min_target_steps: int
    test_per_class: int


@dataclass(frozen=True)
class ChoosingSettings:
    """Notebook 07's values: which pretrained backbones to compare, on how many images.

    Attributes:
        backbones: ``tlcourse.models.BACKBONES`` names whose size and speed are measured.
        probe_backbones: the subset that also gets a linear probe on cached features (the
            slow part on a CPU: one pass of the base over every probe image). Notebook 03's
            exercise probes the first three, on its own splits, with ``probe_epochs``.
        train_examples_per_class: training images per class for the linear probes (``None``:
            every image the profile loads).
        val_examples_per_class: validation images per class the probes are compared on.
        probe_epochs: epochs of each linear probe (a ``Dense`` layer on cached features).
        throughput_batch_size: images per forward pass when timing a base.
        throughput_batches: timed forward passes per base (after one untimed warm-up pass).
    """

    backbones: tuple[str, ...]
    probe_backbones: tuple[str, ...]
    train_examples_per_class: int | None
    val_examples_per_class: int | None
    probe_epochs: int
    throughput_batch_size: int
    throughput_batches: int


@dataclass(frozen=True)
class LittleDataSettings:
    """Notebook 05's values: the grid of labelled examples per class, seeds and training lengths.

    Read them as ``settings.little_data.examples_per_class`` and so on.

    Attributes:
        examples_per_class: labelled training images per class at each grid point, smallest
            first; ``None`` (last) means every training image.
        seeds: how many seeds each (recipe, grid point) runs with; each seed draws its own images.
        epochs: passes over the labelled images for the from-scratch CNN and the frozen head...
        min_steps: ...but never fewer optimizer steps than this, however few the images
            (see ``tlcourse.little_data.step_budget``).
        finetune_examples_per_class: grid points where the fine-tuning preview also runs (it is
            the slowest recipe on a CPU: ``quick`` skips it, ``smoke`` runs it once to test the code
            path, ``full`` runs it at every grid point).
        finetune_epochs: passes over the labelled images when fine-tuning (same ``min_steps``).
    """

    examples_per_class: tuple[int | None, ...]
    seeds: int
    epochs: int
    min_steps: int
    finetune_examples_per_class: tuple[int | None, ...]
    finetune_epochs: int


@dataclass(frozen=True)
class EvaluationSettings:
    """Notebook 09's values (evaluate, test and compare; your own images).

    Read them as ``settings.evaluation.gallery_size`` and so on.

    Attributes:
        gallery_size: how many of the most confident test mistakes to show.
        grad_cam_images: how many test images get a Grad-CAM heatmap.
        demo_per_class: images per class in the generated demo folder ("Your own images").
        demo_image_size: side of the demo folder's generated images, in pixels.
        own_epochs: epochs of the frozen base + head trained on your own images.
    """

    gallery_size: int
    grad_cam_images: int
    demo_per_class: int
    demo_image_size: int
    own_epochs: int


@dataclass(frozen=True)
class GeneralizationSettings:
    """Notebook 06's values: training length and the shift severities of the generalization lesson.

    Read them as ``settings.generalization.epochs`` and so on.

    Attributes:
        epochs: epochs for *both* models (the CNN from scratch and the head on cached features),
            so that their learning curves and train–validation gaps line up epoch by epoch.
        severities: shift severities the test images are evaluated at (1 mild … 5 strong, see
            ``tlcourse.shifts``); severity 0, the clean test set, is always evaluated too.
        exercise_epochs: epochs of exercise 1 (notebook 06), a head trained with augmentation and the base in
            the loop (every epoch runs the base over all training and validation images); at
            most ``epochs``, since its gap is compared with the cached head's at that epoch.
    """

    epochs: int
    severities: tuple[int, ...]
    exercise_epochs: int


@dataclass(frozen=True)
class FineTuneSettings:
    """Notebook 08's values (fine-tuning the top layers of a pretrained base).

    Attributes:
        ablation_layers: how many top layers of the base each ablation run unfreezes; ``None``
            stands for all of them. Every run starts from the same trained head.
        ablation_steps: training steps of each ablation run (``None``: one full epoch).
        patience: fine-tuning epochs without a better validation accuracy before
            ``EarlyStopping`` ends the phase (and restores the best epoch's weights).
        choice_layers: the layer counts exercise 1 (notebook 08) chooses from on validation (0: only the head
            learns; 11: the last block; 29: the last three blocks), each fine-tuned for one epoch from
            the trained head.
    """

    ablation_layers: tuple[int | None, ...]
    ablation_steps: int | None
    patience: int
    choice_layers: tuple[int, ...] = (0, 11, 29)


@dataclass(frozen=True)
class RoboticsSettings:
    """Notebook 12's values (localization with class and box heads, a detector, export for a robot).

    Attributes:
        examples: pet images read before the 70/15/15 split (``None``: all 3,680).
        image_size: input side of the localizer in pixels.
        epochs: training epochs of the localizer (pretrained and from scratch alike).
        detector_preset: the KerasHub object-detector preset loaded in quick/full.
        latency_runs: converted-model inferences timed for the per-image latency.
        seeds: seeds each recipe (pretrained and from scratch) is trained with; their mean IoUs are
            compared with ``tlcourse.stats.compare_seeds`` (one seed gives no verdict: ``smoke`` runs one,
            since every MobileNetV2 trained from scratch costs about 20 s of tracing on 2 CPU cores).
    """

    examples: int | None
    image_size: int
    epochs: int
    detector_preset: str
    latency_runs: int
    seeds: int


@dataclass(frozen=True)
class HealthcareSettings:
    """Notebook 13's values (transfer far from ImageNet: histology tiles and chest X-rays).

    Attributes:
        examples_per_class: cap on colorectal_histology training tiles per class (``None``: all).
        unfreeze_layers: top layers of the chosen base the deeper fine-tuning unfreezes; the notebook
            compares it, on validation, with notebook 08's 29 layers (far from ImageNet the higher layers' features
            may fit worse, so more of them may need to adapt: measured, not assumed).
        head_epochs: epochs of the new head on the frozen base's cached features (cheap: the base
            runs once), in both parts.
        fine_tune_epochs: epochs of each fine-tuning run in part 1, after the head.
        scratch_epochs: epochs of the small CNN trained from scratch in part 1.
        pneumonia_train_examples: cap on pneumonia_mnist training X-rays (``None``: all). The X-rays
            are loaded without ``Settings.train_examples_per_class`` (``load_splits(...,
            per_class_cap=False)``) and the cap takes the first ones, so the dataset's own class
            imbalance stays.
        image_size: input side of every base in the notebook (MobileNetV2 needs one of its ImageNet
            sizes; InceptionV3 at least 75 px). Smaller than ``Settings.image_size`` in quick, so that
            comparing ResNet50 and InceptionV3 with MobileNetV2 — and fine-tuning the winner — fits
            the quick budget on 2 CPU cores.
    """

    examples_per_class: int | None
    unfreeze_layers: int
    head_epochs: int
    fine_tune_epochs: int
    scratch_epochs: int
    pneumonia_train_examples: int | None
    image_size: int


@dataclass(frozen=True)
class NlpSettings:
    """Notebook 10's values (sentiment on IMDB: BERT from KerasHub, GPT-2 beside it).

    Attributes:
        backbone_preset: the KerasHub BERT preset fine-tuned and frozen (``bert_tiny_en_uncased``).
        ready_made_preset: a ready-made sentiment classifier preset (trained on SST-2 movie sentences),
            loaded with its own two-class head and used without IMDB training.
        train_count: training reviews (the largest label budget).
        val_count: validation reviews, held out of IMDB's training split: every choice is made on them.
        test_count: test reviews, read once for the final report.
        budgets: label budgets (training reviews) of the data-efficiency sweep.
        sequence_length: BERT tokens per review, [CLS] and [SEP] included; attention costs grow with its square.
        epochs: passes over a budget's reviews per training phase (see ``min_steps``).
        batch_size: reviews per batch.
        learning_rate: peak learning rate of BERT's fine-tuning phase (AdamW, warm-up; the heads use 1e-3).
        seeds: seeds of the sweep (each draws its own nested reviews and initialisation).
        min_steps: fewest optimizer steps of a training phase (``tlcourse.little_data.step_budget``).
        decoder_preset: the KerasHub GPT-2 preset: a frozen feature extractor and the in-context classifier.
        decoder_sequence_length: GPT-2 tokens per review for its features (start and end token included).
        shots: labelled examples in the in-context prompt (half of each class).
        prompt_words: words kept of each review inside a prompt (the shots and the question).
        prompt_sequence_length: GPT-2 tokens per prompt; a longer prompt loses its beginning, never its question.
        prompt_test_count: test reviews the in-context classifier answers (the first ones; every other model is
            compared with it on the same ones).
    """

    backbone_preset: str
    ready_made_preset: str
    train_count: int
    test_count: int
    budgets: tuple[int, ...]
    sequence_length: int
    epochs: int
    batch_size: int
    learning_rate: float
    seeds: int
    min_steps: int
    val_count: int
    decoder_preset: str
    decoder_sequence_length: int
    shots: int
    prompt_words: int
    prompt_sequence_length: int
    prompt_test_count: int


@dataclass(frozen=True)
class SpeechSettings:
    """Notebook 11's values (speech: a frozen Whisper encoder vs a log-mel CNN from scratch).

    Attributes:
        dataset: TFDS audio dataset (``spoken_digit`` 8 kHz, or ``speech_commands`` 16 kHz).
        source_rate: the dataset's sample rate in Hz (clips are resampled to 16 kHz).
        num_classes: classes of ``dataset``.
        clips: clips loaded in all, split into training, validation and test clips with no speaker in
            two of them (``tlcourse.audio.load_splits``).
        frames: log-mel frames kept per clip (100 frames = 1 s; Whisper itself pads to 3000).
        encoder_preset: KerasHub Whisper preset (``None``: a tiny random encoder built from arguments).
        epochs: epochs for the head and for the scratch CNN.
        clips_per_class: the smaller training budgets of the label-budget sweep (clips per class;
            every training clip is always the last budget).
        min_steps: the fewest optimizer steps of a run (``tlcourse.little_data.step_budget``), the
            same for the head and the scratch CNN at every budget.
        seeds: seeds each recipe is trained with at each budget; the validation scores are compared
            with ``tlcourse.stats.compare_seeds`` (at least 2: one seed gives no verdict).
    """

    dataset: str
    source_rate: int
    num_classes: int
    clips: int
    frames: int
    encoder_preset: str | None
    epochs: int
    clips_per_class: tuple[int, ...]
    min_steps: int
    seeds: int


@dataclass(frozen=True)
class LimitsSettings:
    """Notebook 14's values (when transfer learning does not help): the lab's sources and sweeps, digits.

    Read them as ``settings.limits.seeds`` and so on.

    Attributes:
        source_per_class: images per class of the near (shapes) and far (noise textures) sources.
        source_epochs: passes over them when pretraining either source.
        memorised_per_class: images per class of the source trained on shuffled labels (small, so
            that the network can memorise them)...
        memorised_epochs: ...in this many passes.
        few_labels: labels per target shape in the near-vs-far comparison.
        labels_per_class: label budgets of the lab sweep where scratch may catch up, smallest first;
            the largest one is also where negative transfer is provoked.
        seeds: seeds of every lab comparison (at least 2: ``stats.compare_seeds`` gives no verdict
            from one seed).
        target_epochs: lab step budget: this many passes over the labelled images...
        min_target_steps: ...but at least this many steps (``tlcourse.little_data.step_budget``, the
            course's one step rule).
        test_per_class: lab target validation images per shape, and as many test images.
        digits_labels_per_class: label budgets of the digits target (digits 5–9), smallest first.
        digits_seeds: seeds of the digits comparison (at least 2).
        digits_source_epochs: passes over the source digits (0–4) when pretraining.
        digits_epochs: digits step budget: this many passes over the labelled images...
        digits_min_steps: ...but at least this many steps (the same rule).
        (The digits validation and test splits hold 40 images per digit each: ``limits.load_digit_tasks``.)
    """

    source_per_class: int
    source_epochs: int
    memorised_per_class: int
    memorised_epochs: int
    few_labels: int
    labels_per_class: tuple[int, ...]
    seeds: int
    target_epochs: int
    min_target_steps: int
    test_per_class: int
    digits_labels_per_class: tuple[int, ...]
    digits_seeds: int
    digits_source_epochs: int
    digits_epochs: int
    digits_min_steps: int


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
        mixed_precision: use ``mixed_float16`` where a GPU has Tensor Cores (see
            ``mixed_precision_decision``; ``setup()`` prints the decision and why).
        lab: sizes of notebook 01's offline shapes lab (a ``LabSettings``).
        choosing: notebook 07's values (``ChoosingSettings``).
        little_data: notebook 05's grid, seeds and training lengths (a ``LittleDataSettings``).
        evaluation: notebook 09's values (``EvaluationSettings``).
        generalization: notebook 06's epochs and shift severities (a ``GeneralizationSettings``).
        fine_tune: notebook 08's values (``FineTuneSettings``).
        robotics: notebook 12's values (``RoboticsSettings``).
        healthcare: notebook 13's values (``HealthcareSettings``).
        nlp: notebook 10's values (``NlpSettings``).
        speech: notebook 11's values (``SpeechSettings``).
        limits: notebook 14's values (``LimitsSettings``).
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
    lab: LabSettings
    choosing: ChoosingSettings
    little_data: LittleDataSettings
    evaluation: EvaluationSettings
    generalization: GeneralizationSettings
    fine_tune: FineTuneSettings
    robotics: RoboticsSettings
    healthcare: HealthcareSettings
    nlp: NlpSettings
    speech: SpeechSettings
    limits: LimitsSettings
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
        lab=LabSettings(
            source_per_class=300,
            source_epochs=4,
            labels_per_class=(3,),
            few_labels=3,
            seeds=2,
            target_epochs=10,
            min_target_steps=20,
            test_per_class=30,
        ),
        choosing=ChoosingSettings(
            backbones=("MobileNetV2", "EfficientNetB0", "ResNet50"),
            probe_backbones=("MobileNetV2", "EfficientNetB0", "ResNet50"),
            train_examples_per_class=None,
            val_examples_per_class=None,
            probe_epochs=2,
            throughput_batch_size=16,  # = batch_size: feature extraction reuses the traced forward pass
            throughput_batches=1,
        ),
        little_data=LittleDataSettings(
            examples_per_class=(1, 3), seeds=2, epochs=1, min_steps=3,
            finetune_examples_per_class=(1,), finetune_epochs=1,
        ),
        evaluation=EvaluationSettings(gallery_size=6, grad_cam_images=3,
                                      demo_per_class=8, demo_image_size=64, own_epochs=1),
        generalization=GeneralizationSettings(epochs=2, severities=(2, 4), exercise_epochs=1),
        fine_tune=FineTuneSettings(ablation_layers=(29,), ablation_steps=None,
                                   patience=1, choice_layers=(0, 11)),
        robotics=RoboticsSettings(examples=None, image_size=64, epochs=1, detector_preset="dfine_nano_coco", latency_runs=5,
                                  seeds=1),  # one seed: the verdict line refuses to decide (honest); fits the 60-s budget
        healthcare=HealthcareSettings(examples_per_class=None, unfreeze_layers=56, head_epochs=2,
                                      fine_tune_epochs=1, scratch_epochs=1, pneumonia_train_examples=None,
                                      image_size=96),
        nlp=NlpSettings(backbone_preset="bert_tiny_en_uncased", ready_made_preset="bert_tiny_en_uncased_sst2",
                      train_count=32, test_count=16, budgets=(32,), sequence_length=32, epochs=1,
                      batch_size=16, learning_rate=5e-5, seeds=1, min_steps=4, val_count=16,
                      decoder_preset="gpt2_base_en", decoder_sequence_length=32, shots=2, prompt_words=8,
                      prompt_sequence_length=96, prompt_test_count=8),
        speech=SpeechSettings(dataset="spoken_digit", source_rate=8_000, num_classes=10, clips=60, frames=100,
                              encoder_preset=None, epochs=2,
                              clips_per_class=(1,), min_steps=3, seeds=3),
        limits=LimitsSettings(source_per_class=100, source_epochs=3, memorised_per_class=20, memorised_epochs=10,
                            few_labels=10, labels_per_class=(10,), seeds=2, target_epochs=5, min_target_steps=20,
                            test_per_class=30, digits_labels_per_class=(5,), digits_seeds=2,
                            digits_source_epochs=5, digits_epochs=5, digits_min_steps=20),
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
        lab=LabSettings(
            source_per_class=1000,
            source_epochs=6,
            labels_per_class=(1, 3, 10, 30, 100, 300, 1000),
            few_labels=10,
            seeds=3,
            target_epochs=10,
            min_target_steps=100,
            test_per_class=100,
        ),
        choosing=ChoosingSettings(
            backbones=("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50", "InceptionV3", "VGG16"),
            probe_backbones=("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50", "InceptionV3"),
            train_examples_per_class=50,
            val_examples_per_class=30,
            probe_epochs=30,
            throughput_batch_size=16,
            throughput_batches=2,
        ),
        little_data=LittleDataSettings(
            examples_per_class=(5, 10, 25, 50), seeds=3, epochs=10, min_steps=40,
            finetune_examples_per_class=(), finetune_epochs=5,
        ),
        evaluation=EvaluationSettings(gallery_size=12, grad_cam_images=6,
                                      demo_per_class=30, demo_image_size=128, own_epochs=5),
        generalization=GeneralizationSettings(epochs=15, severities=(2, 4), exercise_epochs=3),
        fine_tune=FineTuneSettings(ablation_layers=(0, 29, 100, None), ablation_steps=10,
                                   patience=2),
        robotics=RoboticsSettings(examples=500, image_size=160, epochs=3, detector_preset="dfine_nano_coco", latency_runs=20,
                                  seeds=2),  # 3 seeds: 5.8 min offline, over the 5-min budget
        healthcare=HealthcareSettings(examples_per_class=40, unfreeze_layers=56, head_epochs=20,
                                      fine_tune_epochs=2, scratch_epochs=5, pneumonia_train_examples=600,
                                      image_size=128),
        nlp=NlpSettings(backbone_preset="bert_tiny_en_uncased", ready_made_preset="bert_tiny_en_uncased_sst2",
                      train_count=300, test_count=200, budgets=(30, 300), sequence_length=64,
                      epochs=3, batch_size=16, learning_rate=5e-5, seeds=3, min_steps=15, val_count=150,
                      decoder_preset="gpt2_base_en", decoder_sequence_length=64, shots=4, prompt_words=24,
                      prompt_sequence_length=192, prompt_test_count=100),
        speech=SpeechSettings(dataset="spoken_digit", source_rate=8_000, num_classes=10, clips=2_500, frames=100,
                              encoder_preset="whisper_tiny_en", epochs=15,
                              clips_per_class=(3, 50), min_steps=100, seeds=3),
        limits=LimitsSettings(source_per_class=1000, source_epochs=6, memorised_per_class=100, memorised_epochs=60,
                            few_labels=10, labels_per_class=(3, 30, 300), seeds=3, target_epochs=10,
                            min_target_steps=100, test_per_class=100, digits_labels_per_class=(1, 5, 20, 90),
                            digits_seeds=5, digits_source_epochs=30, digits_epochs=20, digits_min_steps=100),
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
        lab=LabSettings(
            source_per_class=3000,
            source_epochs=15,
            labels_per_class=(1, 3, 10, 30, 100, 300, 1000, 3000),
            few_labels=10,
            seeds=5,
            target_epochs=10,
            min_target_steps=200,
            test_per_class=300,
        ),
        choosing=ChoosingSettings(
            backbones=("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50", "InceptionV3", "VGG16"),
            probe_backbones=("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50", "InceptionV3", "VGG16"),
            train_examples_per_class=None,
            val_examples_per_class=None,
            probe_epochs=30,
            throughput_batch_size=32,
            throughput_batches=5,
        ),
        little_data=LittleDataSettings(
            examples_per_class=(5, 10, 25, 50, 100, None), seeds=5, epochs=30, min_steps=100,
            finetune_examples_per_class=(5, 10, 25, 50, 100, None), finetune_epochs=10,
        ),
        evaluation=EvaluationSettings(gallery_size=12, grad_cam_images=8,
                                      demo_per_class=50, demo_image_size=224, own_epochs=10),
        generalization=GeneralizationSettings(epochs=30, severities=(1, 2, 3, 4, 5),
                                              exercise_epochs=10),
        fine_tune=FineTuneSettings(ablation_layers=(0, 11, 29, 56, 100, None), ablation_steps=None,
                                   patience=3),
        robotics=RoboticsSettings(examples=None, image_size=224, epochs=10, detector_preset="dfine_nano_coco", latency_runs=50,
                                  seeds=3),
        healthcare=HealthcareSettings(examples_per_class=None, unfreeze_layers=56, head_epochs=20,
                                      fine_tune_epochs=10, scratch_epochs=30, pneumonia_train_examples=None,
                                      image_size=224),
        nlp=NlpSettings(backbone_preset="bert_small_en_uncased", ready_made_preset="bert_tiny_en_uncased_sst2",
                      train_count=10000, test_count=5000, budgets=(50, 200, 1000, 10000),
                      sequence_length=256, epochs=3, batch_size=32, learning_rate=5e-5, seeds=3,
                      min_steps=30, val_count=2000, decoder_preset="gpt2_base_en", decoder_sequence_length=256,
                      shots=8, prompt_words=40, prompt_sequence_length=512, prompt_test_count=1000),
        speech=SpeechSettings(dataset="speech_commands", source_rate=16_000, num_classes=12, clips=20_000,
                              frames=100, encoder_preset="whisper_base_en", epochs=20,
                              clips_per_class=(5, 25), min_steps=200, seeds=3),
        limits=LimitsSettings(source_per_class=3000, source_epochs=15, memorised_per_class=100, memorised_epochs=60,
                            few_labels=10, labels_per_class=(1, 3, 10, 30, 100, 300, 1000, 3000), seeds=5,
                            target_epochs=10, min_target_steps=200, test_per_class=300,
                            digits_labels_per_class=(1, 5, 20, 90), digits_seeds=10, digits_source_epochs=30,
                            digits_epochs=20, digits_min_steps=100),
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


def _gpu_compute_capabilities() -> list[tuple[int, int] | None]:
    import tensorflow as tf

    details = [tf.config.experimental.get_device_details(gpu) for gpu in tf.config.list_physical_devices("GPU")]
    return [tuple(detail["compute_capability"]) if detail.get("compute_capability") else None for detail in details]


MIXED_PRECISION_MIN_CAPABILITY = (7, 0)  # Tensor Cores: Volta (V100), Turing (T4), Ampere and newer


def mixed_precision_decision(wanted: bool) -> tuple[bool, str]:
    """Decide whether to train in ``mixed_float16``, and say why in one phrase.

    Mixed precision speeds training up only on NVIDIA GPUs with Tensor Cores (compute capability
    7.0 or higher: V100, Colab's T4, A100, L4, H100); elsewhere it is slower or the same, so it
    stays off even where the profile asks for it (``full``).

    Example:
        >>> mixed_precision_decision(False)
        (False, 'off (the profile trains in float32)')
    """
    if not wanted:
        return False, "off (the profile trains in float32)"
    capabilities = _gpu_compute_capabilities()
    if not capabilities:
        return False, "off (no GPU: mixed precision only pays off on a GPU with Tensor Cores)"
    minimum = ".".join(map(str, MIXED_PRECISION_MIN_CAPABILITY))
    if all(capability is not None and capability >= MIXED_PRECISION_MIN_CAPABILITY for capability in capabilities):
        shown = ", ".join(".".join(map(str, capability)) for capability in capabilities)
        return True, f"on (mixed_float16: GPU compute capability {shown} ≥ {minimum}, Tensor Cores)"
    return False, (f"off (a GPU with compute capability below {minimum} has no Tensor Cores: mixed precision "
                   "would not be faster)")


# The versions the test suite runs on (requirements.txt), major.minor. pyproject.toml sets no upper
# bound, so newer releases install; setup() warns about them instead of refusing them.
TESTED_VERSIONS = {"tensorflow": "2.21", "keras": "3.15", "keras-hub": "0.32"}

# *Estimate*, not a measurement: the course has no T4 timings (benchmarks/quick_times.json holds the
# quick profile on 2 CPU cores). Basis: full trains at 224 px on whole datasets for 3-10x quick's
# epochs; a T4 runs MobileNetV2 training at several hundred images a second, and Colab's two CPU
# cores decode the JPEGs, so most notebooks take minutes after their downloads and the sweeps
# (05, 11, 14) the longest. Measure a notebook with benchmarks/profile_times.py --profile full.
FULL_ON_T4_ESTIMATE = "about 5–30 min per notebook after the downloads (the sweeps in 05, 11 and 14 the longest)"


def newer_than_tested(installed: dict[str, str | None] | None = None) -> list[str]:
    """Name each of TensorFlow, Keras and KerasHub whose installed version is newer than the tested one.

    Compares major.minor with ``TESTED_VERSIONS``; patch releases and older versions pass. Newer
    versions are allowed (pyproject.toml has no upper bound), but untested: ``setup()`` warns.

    Args:
        installed: ``{distribution: version or None}``; default: what is installed
            (``importlib.metadata``; a missing KerasHub is skipped).

    Example:
        >>> newer_than_tested({"tensorflow": "2.21.0", "keras": "3.16.0", "keras-hub": None})
        ['Keras 3.16.0 (tested: 3.15)']
    """
    import importlib.metadata

    from packaging.version import InvalidVersion, Version

    if installed is None:
        installed = {}
        for name in TESTED_VERSIONS:
            try:
                installed[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                installed[name] = None
    labels = {"tensorflow": "TensorFlow", "keras": "Keras", "keras-hub": "KerasHub"}
    newer = []
    for name, tested in TESTED_VERSIONS.items():
        version = installed.get(name)
        if not version:
            continue
        try:
            release = Version(version).release
        except InvalidVersion:
            continue
        if release[:2] > Version(tested).release[:2]:
            newer.append(f"{labels[name]} {version} (tested: {tested})")
    return newer


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
            f"Choose one of {sorted(PROFILES)}: in a notebook run `%env {PROFILE_ENV}=quick`, then rerun "
            f"the setup cell; in a terminal `export {PROFILE_ENV}=quick`."
        )
    return name


def get_settings(profile: str | None = None) -> Settings:
    """Return the settings of ``profile`` (default: the active profile, see ``profile_name``).

    Case and surrounding spaces are ignored, as for ``TLCOURSE_PROFILE``.

    Example:
        >>> get_settings("smoke").weights is None
        True
    """
    if profile is None:
        return _for_timing(PROFILES[profile_name()])
    if not isinstance(profile, str):
        raise TypeError(f"profile={profile!r} is a {type(profile).__name__}: expected a profile name, one of "
                        f"{sorted(PROFILES)}. Fix: e.g. get_settings('quick'), or leave it out.")
    name = profile.strip().lower()  # like TLCOURSE_PROFILE: " Quick " means "quick"
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}. Choose one of {sorted(PROFILES)}.")
    return _for_timing(PROFILES[name])


def offline_timing() -> bool:
    """True while ``benchmarks/profile_times.py`` times a profile offline (``TLCOURSE_OFFLINE_TIMING=1``).

    Then ``quick`` and ``full`` keep their sizes, epochs and counts but load nothing: ``weights=None``,
    mock data with ``TIMING_MOCK_EXAMPLES`` examples, KerasHub models built from arguments at their
    presets' real sizes (random weights). Compute cost does not depend on weight values, so the
    wall time is the profile's; the accuracies are meaningless. Never set it for learning.

    Example:
        >>> offline_timing()
        False
    """
    return os.environ.get(OFFLINE_TIMING_ENV, "").strip() == "1"


def _for_timing(settings: Settings) -> Settings:
    if settings.name == "smoke" or not offline_timing():
        return settings
    return dataclasses.replace(settings, weights=None, mock_data=True, mock_examples=TIMING_MOCK_EXAMPLES)


def setup(profile: str | None = None, seed: int | None = None, verbose: bool = True) -> Settings:
    """Seed everything, report the environment and return the active profile's settings.

    Call it in every notebook's first code cell. It seeds Python, NumPy and the backend
    (``keras.utils.set_random_seed``), turns on TensorFlow op determinism on the CPU (identical
    results run to run), switches on mixed precision where the profile asks and a GPU has Tensor Cores,
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
    from tlcourse.paths import configure_caches, keras_cache_note, point_keras_cache, tfds_data_dir

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"Keras runs on the {keras.backend.backend()!r} backend; this course's data pipelines "
            "need 'tensorflow'. Unset KERAS_BACKEND (or set KERAS_BACKEND=tensorflow) and restart "
            "the kernel."
        )
    settings = get_settings(profile)
    if seed is not None:
        from tlcourse.checks import check_int

        seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1,
                         fix="use a whole number from 0 to 4294967295 (NumPy's limit), e.g. seed=42")
        settings = dataclasses.replace(settings, seed=seed)
    tf.get_logger().setLevel("ERROR")  # deprecation notices from inside TF/tfds are noise here
    gpus = _gpu_names()
    keras.utils.set_random_seed(settings.seed)
    if not gpus:
        tf.config.experimental.enable_op_determinism()
    use_mixed, mixed_reason = mixed_precision_decision(settings.mixed_precision)
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    configure_caches()  # follows a TLCOURSE_DATA_DIR set since the import
    cache_problem = point_keras_cache()  # Keras imported before tlcourse, or a read-only share: point Keras
    if cache_problem:
        warnings.warn(cache_problem, stacklevel=2)
    newer = newer_than_tested()
    if newer:
        warnings.warn(f"{', '.join(newer)}: newer than the versions this course was tested on. It should work; "
                      "if a cell fails, report it with this line, or install the tested versions "
                      "(pip install 'tensorflow==2.21.*' 'keras==3.15.*').", stacklevel=2)
    if verbose and profile is None and not os.environ.get(PROFILE_ENV, "").strip() and gpus:
        where = "Colab's GPU" if "google.colab" in sys.modules else "a GPU"
        print(f"Profile full, chosen because {where} is visible ({PROFILE_ENV} is not set). *Estimate* on a "
              f"Colab T4: {FULL_ON_T4_ESTIMATE}.\n  For the quick profile instead (minutes per notebook): run "
              f"`%env {PROFILE_ENV}=quick`, then this cell again.")
    if verbose and offline_timing() and settings.name != "smoke":
        print(f"*** {OFFLINE_TIMING_ENV}=1: timing run of {settings.name}'s sizes with random weights and mock data. "
              "The accuracies below mean nothing; unset it to learn. ***")
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
            f"{settings.epochs_scratch}/{settings.epochs_head}/{settings.epochs_finetune}"
        )
        print(f"Mixed precision: {mixed_reason}")
        print(f"Seed: {settings.seed} (op determinism {'off on GPU' if gpus else 'on'})")
        print(f"TFDS_DATA_DIR: {tfds_data_dir() or '(library default)'}")
        print(keras_cache_note())
        print(f"KAGGLEHUB_CACHE: {os.environ.get('KAGGLEHUB_CACHE', '(library default)')} (KerasHub presets)")
    return settings
