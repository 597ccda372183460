"""Help pages and usage errors in the user's language, with nothing cut short.

The installed typer bundles its own click, whose help option ("Show this message and
exit."), usage line and usage errors are fixed English strings, and typer's rich help
reads its labels ("[required]", "Options") through gettext once, at import. So the help
page and the usage errors are written here instead, from the command tree's attributes,
with every word through our catalogs.

Help texts are translated when a page is shown, not when the commands are built: `--lang`
anywhere on the command line (or DEFAULT_LANGUAGE) applies to them, and a text built in
either language is found again by its English msgid.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from functools import cache
from typing import IO, Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer 0.29 bundles its own click; earlier versions use the click package
    from typer._click import exceptions as ex
    from typer._click.core import Context
except ImportError:  # pragma: no cover - exercised only with an older typer
    from click import exceptions as ex  # type: ignore[no-redef]
    from click.core import Context  # type: ignore[assignment]

from bot.infra import i18n
from bot.infra.i18n import LANGUAGES, LOCALE_DIR, N_, _

# What an argument stands for, by its parameter name; shown in usage lines and errors.
ARGUMENT_NAMES = {
    "label": N_("PERIOD"),
    "period": N_("PERIOD"),
    "file": N_("FILE"),
    "path": N_("FILE"),
    "text": N_("MESSAGE"),
    "number": N_("EMPLOYEE_NO"),
    "employee": N_("EMPLOYEE_NO"),
    "institution": N_("INSTITUTION"),
    "stage": N_("STAGE"),
    "due": N_("DATE"),
    "note": N_("NOTE"),
}
# What an option's value is, by the Python type it is read as.
TYPE_NAMES = {
    "str": N_("TEXT"),
    "list": N_("TEXT"),  # a repeatable option of text
    "int": N_("INTEGER"),
    "float": N_("NUMBER"),
    "Decimal": N_("NUMBER"),
    "Path": N_("PATH"),
    "date": N_("DATE"),
    "datetime": N_("DATE"),
    "bool": N_("YES/NO"),
    # the click package's names for the same (typer before 0.29)
    "text": N_("TEXT"),
    "integer": N_("INTEGER"),
    "path": N_("PATH"),
    "boolean": N_("YES/NO"),
}
# Full-width punctuation that must not begin a line.
_NO_LINE_START = "，。、；：！？）】」』》”’,.;:!?)"
_TOKENS = re.compile(r"[!-~]+ *| +|. *")


@cache
def _msgids() -> dict[str, str]:
    """Each translation back to its English msgid, for texts built in another language."""
    from babel.messages.mofile import read_mo

    found: dict[str, str] = {}
    for language in LANGUAGES:
        path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo"
        if not path.exists():
            continue
        with path.open("rb") as f:
            for message in read_mo(f):
                msgid, text = message.id, message.string
                if isinstance(msgid, str) and isinstance(text, str) and msgid and text:
                    found.setdefault(text, msgid)
    return found


def localise(text: str | None) -> str:
    """A help text in the language in force, whichever language it was built in."""
    if not text:
        return ""
    return _(_msgids().get(text, text))


def display_width(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns (a long word overflows; nothing is dropped).
    Chinese breaks between characters, other text between words."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _TOKENS.findall(paragraph):
            fits = display_width(line + token.rstrip()) <= width
            if line.strip() and not fits and token[0] not in _NO_LINE_START:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        lines.append(line.rstrip())
    return lines


def _columns() -> int:
    return max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))


def _definitions(rows: Sequence[tuple[str, str]], columns: int) -> Iterator[str]:
    """Two columns, the second wrapped beside the first; a long first column gets the
    second on the lines below it."""
    if not rows:
        return
    first = min(max(display_width(term) for term, _text in rows), 28)
    indent = 2 + first + 2
    for term, text in rows:
        lines = wrap(text, max(columns - indent, 20)) if text else [""]
        if display_width(term) > first:
            yield "  " + term
        else:
            pad = " " * (first - display_width(term))
            yield ("  " + term + pad + "  " + lines.pop(0)).rstrip()
        for line in lines:
            yield " " * indent + line


def first_sentence(text: str) -> str:
    """What a command listing shows of a command's help: its first sentence, whole."""
    match = re.search(r"(。|[.!?](?=\s|$))", text)
    return text[: match.end()] if match else text


def _space() -> str:
    """Between sentences: Chinese ones end in full-width punctuation and need no space."""
    return "" if i18n.current() == "zh_CN" else " "


def _separator() -> str:
    return "，" if i18n.current() == "zh_CN" else ", "


def argument_name(param: Any) -> str:
    name = ARGUMENT_NAMES.get(param.name or "")
    return _(name) if name else (param.name or "").upper()


def value_name(param: Any) -> str:
    """What an option expects, in words: 文本, 整数, or its choices."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None and getattr(desc, "is_choice", False) and desc.choices:
        return "|".join(str(c.value if isinstance(c, Enum) else c) for c in desc.choices)
    annotation = getattr(desc, "annotation", None) if desc is not None else None
    type_name = getattr(annotation, "__name__", "") or getattr(
        getattr(param, "type", None), "name", ""
    )
    return _(TYPE_NAMES.get(type_name, N_("VALUE")))


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


def _is_help_option(ctx: Context, param: Any) -> bool:
    return not param.expose_value and bool(set(param.opts) & set(ctx.help_option_names))


def _option_term(param: Any) -> str:
    names = ", ".join([*param.opts, *getattr(param, "secondary_opts", [])])
    return names if _is_flag(param) else f"{names} {value_name(param)}"


def _notes(ctx: Context, param: Any) -> list[str]:
    notes: list[str] = []
    if param.required:
        notes.append(_("(required)"))
    default = param.get_default(ctx, call=False) if param.show_default else None
    if default not in (None, "", False, ()) and not callable(default) and not _is_flag(param):
        value = default.value if isinstance(default, Enum) else default
        notes.append(_("(default: {value})").format(value=value))
    envvar = param.envvar if getattr(param, "show_envvar", False) else None
    if isinstance(envvar, str):
        notes.append(_("(environment variable {name})").format(name=envvar))
    return notes


def _describe(ctx: Context, param: Any) -> str:
    if _is_help_option(ctx, param):
        return _("Show this help and exit.")
    return _space().join(filter(None, [localise(param.help), *_notes(ctx, param)]))


def usage(ctx: Context) -> str:
    command = ctx.command
    pieces = [ctx.command_path]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if any(p.param_type_name == "option" for p in params):
        pieces.append(_("[OPTIONS]"))
    for param in params:
        if param.param_type_name == "argument":
            name = argument_name(param)
            if param.nargs != 1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, TyperGroup):
        pieces.append(_("COMMAND [ARGS]..."))
    return _("Usage: {command}").format(command=" ".join(pieces))


def _commands(ctx: Context, group: TyperGroup) -> list[tuple[str, str]]:
    rows = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        rows.append((name, first_sentence(localise(sub.short_help or sub.help))))
    return rows


def page(ctx: Context) -> str:
    """The whole help page of the command in `ctx`."""
    command = ctx.command
    columns = _columns()
    lines = [usage(ctx), ""]
    if command.help:
        lines += ["  " + line for line in wrap(localise(command.help), columns - 2)]
        lines.append("")
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [
        (argument_name(p), _describe(ctx, p)) for p in params if p.param_type_name == "argument"
    ]
    options = [
        (_option_term(p), _describe(ctx, p)) for p in params if p.param_type_name == "option"
    ]
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        (_("Arguments:"), arguments),
        (_("Options:"), options),
    ]
    if isinstance(command, TyperGroup):
        sections.append((_("Commands:"), _commands(ctx, command)))
    for title, rows in sections:
        if rows:
            lines.append(title)
            lines += _definitions(rows, columns)
            lines.append("")
    return "\n".join(lines).rstrip("\n")


def _param_hint(param: Any) -> str:
    if param is None:
        return ""
    if param.param_type_name == "argument":
        return argument_name(param)
    return " / ".join(param.opts)


_ENGLISH_USAGE = (
    (
        re.compile(r"No such command '(.*?)'\.(?: Did you mean '(.*)'\?)?"),
        N_("No such command: {0}."),
    ),
    (re.compile(r"Missing command\."), N_("Missing command.")),
    (re.compile(r"Got unexpected extra arguments? \((.*)\)"), N_("Unexpected extra words: {0}.")),
    (re.compile(r"Option '(.*)' does not take a value\."), N_("Option {0} takes no value.")),
    (
        re.compile(r"Option '(.*)' requires (?:an argument|\d+ arguments)\."),
        N_("Option {0} needs a value."),
    ),
)


def explain(error: typer.BadParameter | Any) -> str:
    """A usage error's message in the language in force."""
    if isinstance(error, ex.MissingParameter):
        return _("Missing {name}.").format(name=_param_hint(error.param))
    if isinstance(error, ex.NoSuchOption):
        text = _("No such option: {name}.").format(name=error.option_name)
        if error.possibilities:
            text += _space() + _("Did you mean {options}?").format(
                options=", ".join(sorted(error.possibilities))
            )
        return text
    if isinstance(error, ex.BadParameter) and error.param is not None:
        param: Any = error.param
        expected = value_name(param) if param.param_type_name == "option" else ""
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        limits = [
            _("at least {n}").format(n=low) if low is not None else "",
            _("at most {n}").format(n=high) if high is not None else "",
        ]
        return _("Invalid value for {name}: expected {expected}.").format(
            name=_param_hint(param),
            expected=_separator().join(filter(None, [expected, *limits])) or _("another value"),
        )
    message = error.format_message()
    for pattern, msgid in _ENGLISH_USAGE:
        match = pattern.fullmatch(message)
        if match:
            text = _(msgid).format(*match.groups())
            if msgid == _ENGLISH_USAGE[0][1] and match.group(2):
                text += _space() + _("Did you mean {options}?").format(options=match.group(2))
            return text
    return str(message)


class LocalisedUsageError(typer.BadParameter):
    """A usage error that shows itself in the user's language."""

    def __init__(self, error: Any) -> None:
        super().__init__(explain(error), ctx=error.ctx)
        self.exit_code = error.exit_code
        self.help_page = error.format_message() if _is_no_args(error) else None

    def show(self, file: IO[Any] | None = None) -> None:
        echo = typer.echo
        if self.help_page is not None:
            echo(self.help_page, file=file, err=True)
            return
        if self.ctx is not None:
            echo(usage(self.ctx), file=file, err=True)
            echo(
                _("Run '{command} --help' for help.").format(command=self.ctx.command_path),
                file=file,
                err=True,
            )
        echo(_("Error: {message}").format(message=self.message), file=file, err=True)


def _is_no_args(error: Any) -> bool:
    return isinstance(error, getattr(ex, "NoArgsIsHelpError", ()))


@contextmanager
def _localised_errors() -> Iterator[None]:
    try:
        yield
    except LocalisedUsageError:
        raise
    except ex.UsageError as error:
        raise LocalisedUsageError(error) from error


class LocalisedCommand(TyperCommand):
    def get_help(self, ctx: Context) -> str:
        return page(ctx)

    def get_usage(self, ctx: Context) -> str:
        return usage(ctx)


class LocalisedGroup(TyperGroup):
    def get_help(self, ctx: Context) -> str:
        return page(ctx)

    def get_usage(self, ctx: Context) -> str:
        return usage(ctx)

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        with _localised_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Context) -> Any:
        with _localised_errors():
            return super().invoke(ctx)


def localise_app(app: typer.Typer) -> None:
    """Every command and group of `app`, however registered, shows its help and usage
    errors through the classes above."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = LocalisedCommand
    for group in app.registered_groups:
        group.cls = LocalisedGroup
        group.no_args_is_help = True  # `jixiao period` alone lists its commands
        if group.typer_instance is not None:
            localise_app(group.typer_instance)


def commands(app: typer.Typer) -> Iterable[list[str]]:
    """Every command path of `app`, for tests and checks."""
    for command in app.registered_commands:
        callback = getattr(command.callback, "__name__", "")
        yield [command.name or typer.main.get_command_name(callback)]
    for group in app.registered_groups:
        if group.typer_instance is not None:
            for path in commands(group.typer_instance):
                yield [str(group.name), *path]
