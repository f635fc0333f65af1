"""Option parsing shared by the harness's commands."""

from __future__ import annotations

import click


def name_value_pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """A click callback: repeated `NAME=VALUE` options as a dict (the last one wins)."""
    parsed = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE")
        parsed[key] = setting
    return parsed
