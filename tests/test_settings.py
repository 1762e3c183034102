"""Nested --config overrides: strings read as the types the schema wants (wakeforge.settings)."""

from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from wakeforge.settings import coerce_config_file, coerce_strings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def shipped() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_nested_strings_become_the_schema_types():
    cfg = shipped()
    cfg["train"]["steps"] = "100"
    cfg["train"]["learning_rate"] = "5e-4"
    cfg["assets"]["use_debian_speech"] = "true"
    cfg["assets"]["full"]["fma"]["enabled"] = "null"
    cfg["augmentation"]["snr_db"] = ["-5", "15.5"]
    changed = coerce_config_file(cfg, SCHEMA)
    assert cfg["train"]["steps"] == 100 and isinstance(cfg["train"]["steps"], int)
    assert cfg["train"]["learning_rate"] == pytest.approx(5e-4)
    assert cfg["assets"]["use_debian_speech"] is True
    assert cfg["assets"]["full"]["fma"]["enabled"] is None
    assert cfg["augmentation"]["snr_db"] == [-5, 15.5]
    assert set(changed) == {
        "train.steps", "train.learning_rate", "assets.use_debian_speech", "assets.full.fma.enabled",
        "augmentation.snr_db.0", "augmentation.snr_db.1",
    }
    validate(cfg, str(SCHEMA))


def test_inside_one_of_alternatives():
    cfg = shipped()
    cfg["tts"]["engines"] = ["espeak", {"name": "piper", "weight": "2"}]
    assert coerce_config_file(cfg, SCHEMA) == ["tts.engines.1.weight"]
    assert cfg["tts"]["engines"] == ["espeak", {"name": "piper", "weight": 2}]
    validate(cfg, str(SCHEMA))


def test_strings_the_schema_wants_stay_strings():
    cfg = shipped()
    cfg["target_phrase"] = "1234 go"
    cfg["custom_negative_phrases"] = ["true", "12"]
    assert coerce_config_file(cfg, SCHEMA) == []
    assert cfg["target_phrase"] == "1234 go" and cfg["custom_negative_phrases"] == ["true", "12"]


def test_a_string_of_the_wrong_kind_is_left_for_validation_to_name():
    cfg = shipped()
    cfg["train"]["steps"] = "many"
    assert coerce_config_file(cfg, SCHEMA) == []
    with pytest.raises(Exception, match="'many' is not of type 'integer'"):
        validate(cfg, str(SCHEMA))
    cfg = shipped()
    cfg["model"]["dropout"] = "true"  # a boolean where a number is wanted: not coerced
    cfg["seed"] = "1.5"  # a float where an integer is wanted: not coerced
    assert coerce_config_file(cfg, SCHEMA) == []
    assert cfg["model"]["dropout"] == "true" and cfg["seed"] == "1.5"


def test_unparseable_yaml_is_left_alone():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    cfg = {"x": "[unclosed"}
    assert coerce_strings(cfg, schema) == [] and cfg == {"x": "[unclosed"}
