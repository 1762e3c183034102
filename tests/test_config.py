"""The config, its schema, the README's config table and the conda envs agree."""

import copy
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "config" / "schema.yaml")


def load_config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_shipped_config_is_valid_and_complete():
    cfg = load_config()
    filled = copy.deepcopy(cfg)
    validate(filled, SCHEMA)
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    assert set(cfg) == set(schema["properties"]), "config.yaml should show every top-level key"


def test_schema_defaults_fill_a_minimal_config():
    cfg = {"target_phrase": "hey eris"}
    validate(cfg, SCHEMA)
    assert cfg["train"]["steps"] == 20000 and cfg["model"]["layer_dim"] == 256
    assert cfg["evaluation"]["targets"] == {"accuracy": 0.7, "recall": 0.5, "false_accepts_per_hour": 0.2}


@pytest.mark.parametrize(
    "bad",
    [{"n_sampels": 5}, {"train": {"stepz": 5}}, {"n_samples": 0}, {"augmentation": {"rir_probability": 2}}, {"model": {"type": "rnn"}}],
)
def test_schema_rejects_mistakes(bad):
    cfg = load_config()
    for key, value in bad.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(Exception):
        validate(cfg, SCHEMA)


def test_every_schema_key_has_a_description():
    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub and not path.endswith("batch_fractions"):
                yield f"{path}.{key}".lstrip(".")
            yield from walk(sub, f"{path}.{key}")

    assert list(walk(yaml.safe_load(Path(SCHEMA).read_text()), "")) == []


def test_readme_config_table_names_real_keys():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for cell in re.findall(r"^\| `([^|]+)` \|", table, re.MULTILINE):
        names.update(part.strip(" `").split(".")[0] for part in cell.split("/"))
    schema_keys = set(yaml.safe_load(Path(SCHEMA).read_text())["properties"])
    assert names <= schema_keys
    assert schema_keys <= names, f"README table misses {schema_keys - names}"


def test_conda_envs_parse_and_use_declared_packages():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!\[ ]", d)[0].lower() for d in declared}
    for env in (ROOT / "envs").glob("*.yaml"):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        for pkg in pip:
            if not pkg.startswith("-e"):
                assert pkg.lower() in names, f"{env.name}: {pkg} is not in pyproject.toml"
