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


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # Each once started fine and then failed every job of its kind (or, the last,
        # silently kept one frame per video).
        (Env.TEXT_BATCH_SIZE, "0"),
        (Env.CACHE_ENTRIES, "0"),
        (Env.MAX_AUDIO_SECONDS, "nan"),
        (Env.VIDEO_FRAME_SECONDS, "nan"),
        (Env.MAX_VIDEO_SECONDS, "inf"),
        (Env.MAX_TEXT_BYTES, "-1"),
        (Env.BATCHES_IN_FLIGHT, "1.5"),
        (Env.TEXT_OTHER_THRESHOLD, "2"),
        (Env.IMAGE_BATCH_WAIT_MS, "-0.5"),
        (Env.IMAGE_QUEUE, "Image_Jobs"),
        (Env.TEXT_QUEUE, "t" * 57),  # its poison queue would be 64 characters
        (Env.INCOMING_CONTAINER, "in"),
        (Env.RESULTS_CONTAINER, "a/b"),
        (Env.SPEECH_LANGUAGE, "en; rm -rf"),
        (Env.TEXT_LABELS, " ; "),
    ],
)
def test_a_setting_that_could_only_fail_jobs_is_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable) as refused:
        load_settings({variable: value})
    assert repr(value) in refused.value.message


def test_every_wrong_setting_is_named_at_once_with_what_it_takes() -> None:
    wrong = {Env.TEXT_BATCH_SIZE: "0", Env.MAX_AUDIO_SECONDS: "nan", Env.SEARCH: "fast"}
    with pytest.raises(ConfigurationError) as refused:
        load_settings(wrong)
    message = refused.value.message
    assert message.startswith("3 setting(s) wrong")
    assert "greater than or equal to 1" in message and "finite" in message
    assert "'auto', 'vector' or 'scan'" in message


def test_an_instance_with_no_memory_left_for_files_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=Env.RESIDENT_MEMORY_MB):
        load_settings({Env.INSTANCE_MEMORY_MB: "800"})


def test_settings_made_in_code_are_checked_as_those_from_the_environment() -> None:
    with pytest.raises(ConfigurationError, match=Env.CACHE_ENTRIES):
        load_settings({}, cache_entries=0)
