"""Every catalogue lookup refuses an unknown name with a message that lists the valid ones."""

from __future__ import annotations

import pytest

from tlcourse.data import DATASETS, get_dataset_spec
from tlcourse.models import BACKBONES, get_backbone
from tlcourse.settings import PROFILES, get_settings


@pytest.mark.parametrize(
    ("lookup", "bad_name", "valid_names"),
    [(get_dataset_spec, "cats_vs_dogz", DATASETS), (get_backbone, "ResNet9", BACKBONES),
     (get_settings, "fast", PROFILES)],
    ids=["dataset", "backbone", "profile"],
)
def test_unknown_name_lists_the_valid_ones(lookup, bad_name, valid_names):
    with pytest.raises(ValueError) as caught:
        lookup(bad_name)
    message = str(caught.value)
    assert repr(bad_name) in message
    for name in valid_names:
        assert name in message
