"""Config checks that run before schema validation, with messages a user can act on.

JSON-schema's own message for a typo is "Additional properties are not allowed"; this walks the
config against the schema first and names the full key path with a did-you-mean suggestion.
"""

from __future__ import annotations

import difflib
from typing import Any


class ConfigError(ValueError):
    """The config has a key or value the schema does not allow."""


def unknown_keys(config: Any, schema: dict, path: str = "") -> list[str]:
    """Messages for every config key the schema does not define, recursively."""
    if not isinstance(config, dict) or schema.get("type") not in ("object", None) or "properties" not in schema:
        return []
    known = schema["properties"]
    problems = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else key
        if key not in known:
            if schema.get("additionalProperties", True) is False:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"; did you mean {path + '.' if path else ''}{close[0]!r}?" if close else ""
                allowed = ", ".join(sorted(known)) or "none"
                problems.append(f"unknown config key {where!r}{hint} (allowed here: {allowed})")
            continue
        problems.extend(unknown_keys(value, known[key], where))
    return problems


def check_config_keys(config: dict, schema: dict, source: str = "config") -> None:
    """Raise :class:`ConfigError` listing every unknown key in ``config``."""
    problems = unknown_keys(config, schema)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


def check_config_combinations(config: dict) -> None:
    """Raise :class:`ConfigError` for settings that are each valid but cannot work together."""
    source = config["data"]["source"]
    if source not in config["data"]:
        raise ConfigError(f"data.source is {source!r} but there is no data.{source} section")
    if source in ("nsd", "miyawaki") and config["decode"]["ridge"]["target"] == "text":
        raise ConfigError(f"decode.ridge.target 'text' needs captions, which the {source} stimulus table lacks; "
                          "use 'image'")
    if source == "miyawaki":
        for key, rois in (("decode.ridge.rois", config["decode"]["ridge"]["rois"]),
                          ("reconstruct.lowlevel.rois", config["reconstruct"]["lowlevel"]["rois"])):
            if rois not in (None, ["visual"]):
                raise ConfigError(f"{key} is {rois}, but the Miyawaki responses have one ROI, 'visual'; set it to null")
