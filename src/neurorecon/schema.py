"""Reading the config schema and validating a config against it, filling the defaults it sets.

Kept apart from neurorecon.config, which rule scripts import for its constants, so that they do not
depend on the YAML and JSON-schema packages.
"""

from __future__ import annotations

from neurorecon.config import ConfigError


# what the schema's string patterns mean, for messages a user can act on
PATTERN_MEANINGS = {
    "^[A-Za-z0-9]+$": "a BIDS label: letters and digits only (labels become parts of file names)",
    "^[^/]+$": "a single folder name (no '/')",
}


def load_schema(path) -> dict:
    """The config schema (YAML), read with libyaml where PyYAML has it: the pure-Python loader took
    a fifth of a second of every Snakemake start."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def validate_config(config: dict, schema: dict, source: str = "config") -> None:
    """Validate ``config`` against the JSON schema, filling every default it leaves out (nested
    sections too), as Snakemake's ``validate(..., set_default=True)`` does; raise
    :class:`ConfigError` naming the key path and what the schema expects."""
    import copy

    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for key, rule in properties.items():
                if "default" in rule and key not in instance:
                    instance[key] = copy.deepcopy(rule["default"])
        yield from check_properties(validator, properties, instance, subschema)

    filling = validators.extend(Draft202012Validator, {"properties": fill_defaults})
    error = next(iter(sorted(filling(schema).iter_errors(config), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join(map(str, error.absolute_path)) or "(top level)"
        message = error.message
        if error.validator == "pattern" and error.validator_value in PATTERN_MEANINGS:
            message = f"{error.instance!r} is not {PATTERN_MEANINGS[error.validator_value]}"
        raise ConfigError(f"{source}: {where}: {message}")
