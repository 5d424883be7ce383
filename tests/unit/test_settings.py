"""Settings: one precedence rule (argument > environment > default), typed parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from prism.errors import ConfigurationError
from prism.settings import DEFAULT_TEXT_LABELS, Env, load_settings


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = load_settings({})
    assert settings.image_queue == "image-jobs"
    assert settings.intra_op_threads == 1
    assert settings.text_labels == DEFAULT_TEXT_LABELS


def test_environment_overrides_defaults_with_typed_values() -> None:
    settings = load_settings(
        {Env.INTRA_OP_THREADS: "2", Env.MAX_AUDIO_SECONDS: "1.5", Env.MODEL_DIR: "/m"}
    )
    assert settings.intra_op_threads == 2
    assert settings.max_audio_seconds == 1.5
    assert settings.model_dir == Path("/m")


def test_explicit_argument_beats_the_environment() -> None:
    settings = load_settings({Env.IMAGE_QUEUE: "from-env"}, image_queue="from-arg")
    assert settings.image_queue == "from-arg"


def test_empty_environment_value_means_unset() -> None:
    assert load_settings({Env.TEXT_QUEUE: ""}).text_queue == "text-jobs"


def test_text_labels_are_semicolon_separated_so_descriptions_may_hold_commas() -> None:
    settings = load_settings({Env.TEXT_LABELS: "cats: kittens, purring; dogs: barking"})
    assert settings.text_labels == ("cats: kittens, purring", "dogs: barking")


def test_malformed_number_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=Env.MAX_IMAGE_BYTES):
        load_settings({Env.MAX_IMAGE_BYTES: "lots"})


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown settings: colour"):
        load_settings({}, colour="blue")


def test_thread_count_below_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=Env.INTRA_OP_THREADS):
        load_settings({Env.INTRA_OP_THREADS: "0"})


def test_image_text_is_on_or_off() -> None:
    assert load_settings({}).image_text == "on"
    assert load_settings({Env.IMAGE_TEXT: "off"}).image_text == "off"
    with pytest.raises(ConfigurationError, match=Env.IMAGE_TEXT):
        load_settings({Env.IMAGE_TEXT: "yes"})
