"""Every command and every option explains itself, and --help stays light."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from convcli import choices
from convcli.cli import main


def walk(command, path=("convcli",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(main))


def test_the_main_commands_are_registered():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"convcli apply", "convcli preview"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_and_options_have_help(path, command):
    assert (command.help or command.short_help or "").strip(), f"{' '.join(path)} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help"
    result = CliRunner().invoke(main, [*path[1:], "--help"], prog_name="convcli")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(path)}")


def test_help_does_not_import_numpy_scipy_or_pillow():
    code = (
        "import sys\n"
        "from convcli.cli import main\n"
        "try:\n"
        "    main(['apply', '--help'], prog_name='convcli')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'PIL') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("[]")


# Option name -> the library's tuple of accepted values that its click.Choice must equal.
_LIBRARY_CHOICES = {
    "--channel-mode": choices.CHANNEL_MODES,
    "--alpha": choices.ALPHA_MODES,
    "--output-map": choices.OUTPUT_MAPS,
    "--depth": choices.DEPTHS,
    "--nan-policy": choices.NAN_POLICIES,
    "--channels": choices.COLOUR_CHANNELS,
    "--compression": tuple(choices.TIFF_COMPRESSIONS),
}


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_choice_is_the_librarys(path, command):
    """A value added to the library is accepted by the CLI: the choices are the same tuples."""
    for param in command.params:
        if isinstance(param.type, click.Choice):
            name = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
            assert name in _LIBRARY_CHOICES, f"{name}: add its library tuple to this test"
            assert tuple(param.type.choices) == _LIBRARY_CHOICES[name], name


def test_padding_mode_choices_are_the_engines():
    from convcli.cli._options import PaddingMode
    from convcli.engine import PADDING_MODES

    assert PaddingMode.name == "|".join(PADDING_MODES)


def test_filter_keys_are_the_options_fields():
    """Every FilterOptions field is a CLI option of apply (so the CLI follows the library)."""
    from convcli.cli._options import filter_keys
    from convcli.filtering import FilterOptions

    assert filter_keys() == tuple(FilterOptions.__dataclass_fields__)
    apply_names = {p.name for p in main.commands["apply"].params}
    assert set(filter_keys()) <= apply_names


def test_filter_image_takes_every_filter_option_by_name_with_its_default():
    """filter_image lists the options explicitly (no **options): the same names and
    defaults as FilterOptions, so the two cannot drift."""
    import dataclasses
    import inspect

    from convcli import filter_image
    from convcli.filtering import FilterOptions

    params = inspect.signature(filter_image).parameters
    normal = FilterOptions()
    for field in dataclasses.fields(FilterOptions):
        assert field.name in params, field.name
        default = params[field.name].default
        assert params[field.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert FilterOptions.from_kwargs(**{field.name: default}) == normal, field.name
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
