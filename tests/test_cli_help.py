"""The command line speaks one language at a time, Click's own words included, and cuts
nothing short."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.help import commands, first_sentence, localise, wrap
from bot.cli.main import app, language_in
from bot.infra import i18n

JIXIAO = Path(sys.executable).with_name("jixiao")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Words a Chinese page may show in Latin letters: what the user types (commands, options,
# formats, role values) and product or format names.
ALLOWED = {
    "jixiao",
    "xlsx",
    "csv",
    "head",
    "leadership",
    "Telegram",
    "Slack",
    "Socket",
    "Mode",
    "SQLite",
    "SQL",
    "PostgreSQL",
    "dump",  # pg_dump, the command to type
    "UTF",
    "YYYY",
    "webhook",
} | {word for path in commands(app) for part in path for word in part.split("-")}


# Chinese a page in English may show: names the workbook itself must carry.
SHEET_NAMES = re.compile("方案|指标|考核人|等级")


def chinese(text: str) -> bool:
    return bool(CJK.search(SHEET_NAMES.sub("", text)))


def english_words(text: str) -> set[str]:
    """Latin words of three letters or more, other than options (--x) and env var names."""
    text = re.sub(r"--[\w-]+|\b[A-Z]+_[A-Z_]+\b|zh_CN", "", text)
    return set(re.findall(r"[A-Za-z]{3,}", text)) - ALLOWED


def run(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `jixiao`, as HR types it."""
    environ = {k: v for k, v in os.environ.items() if k != "DEFAULT_LANGUAGE"}
    environ.update(DATABASE_URL=f"sqlite:///{tmp_path / 'help.db'}", COLUMNS="80", **env)
    return subprocess.run(
        [str(JIXIAO), *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["period", "--help"], ["export", "pay", "--help"], ["period", "close"]]
)
def test_chinese_help_has_no_english(tmp_path, args):
    done = run(*args, tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode in (0, 2), out
    assert CJK.search(out), out
    for leak in ("Show this message", "[required]", "[default", "<str>", "Usage", "Options"):
        assert leak not in out
    assert english_words(out) == set(), out
    assert "…" not in out


def test_english_help_and_errors_have_no_chinese(tmp_path):
    help_page = run("--lang", "en", "period", "close", "--help", tmp_path=tmp_path)
    assert help_page.returncode == 0
    assert "Usage: jixiao period close [OPTIONS] PERIOD" in help_page.stdout
    assert "Close scoring" in help_page.stdout
    refused = run("--lang", "en", "period", "close", "NOSUCH", tmp_path=tmp_path)
    assert refused.returncode == 2
    for done in (help_page, refused):
        assert not CJK.search(done.stdout + done.stderr), done.stdout + done.stderr
    # The language may also come after the help option, or from the settings.
    late = run("--help", "--lang", "en", tmp_path=tmp_path)
    assert not CJK.search(late.stdout)
    assert "Commands:" in late.stdout
    by_setting = run("--help", tmp_path=tmp_path, DEFAULT_LANGUAGE="en")
    assert not CJK.search(by_setting.stdout)
    assert "Commands:" in by_setting.stdout


def test_every_command_help_in_chinese_and_english():
    runner = CliRunner()
    for path in commands(app):
        zh = runner.invoke(app, ["--lang", "zh_CN", *path, "--help"])
        assert zh.exit_code == 0, (path, zh.output)
        assert english_words(zh.output) == set(), (path, zh.output)
        assert "显示本帮助并退出。" in zh.output
        en = runner.invoke(app, ["--lang", "en", *path, "--help"])
        assert en.exit_code == 0, (path, en.output)
        assert not chinese(en.output), (path, en.output)
    i18n.set_language("zh_CN")


def test_command_listing_shows_each_first_sentence_whole():
    result = CliRunner().invoke(app, ["--lang", "zh_CN", "--help"])
    i18n.set_language("zh_CN")
    listing = re.sub(r"\s+", "", result.output)
    from typer.main import get_command

    root = get_command(app)
    with i18n.using("zh_CN"):
        for name, command in root.commands.items():  # type: ignore[attr-defined]
            sentence = first_sentence(localise(command.help))
            assert re.sub(r"\s+", "", sentence) in listing, (name, sentence)
    assert "…" not in result.output


def test_usage_errors_in_the_users_language():
    runner = CliRunner()
    zh = runner.invoke(app, ["--lang", "zh_CN", "period", "clos"])
    assert zh.exit_code == 2
    assert "没有这个命令：clos。" in zh.output
    assert "close" in zh.output
    missing = runner.invoke(app, ["--lang", "zh_CN", "export", "pay"])
    assert missing.exit_code == 2
    assert "缺少考核周期。" in missing.output
    assert english_words(missing.output) == set()
    en = runner.invoke(app, ["--lang", "en", "demo-data", "--employees", "x"])
    assert en.exit_code == 2
    assert "Invalid value for --employees: expected INTEGER, at least 4." in en.output
    group_alone = runner.invoke(app, ["--lang", "zh_CN", "period"])
    assert "命令：" in group_alone.output
    assert "close" in group_alone.output
    bad = runner.invoke(app, ["--lang", "fr", "status"])
    assert bad.exit_code == 2
    assert "zh_CN" in bad.output
    i18n.set_language("zh_CN")


def test_language_is_read_ahead_of_parsing():
    assert language_in(["--lang", "en", "status"]) == "en"
    assert language_in(["status", "--lang=en"]) == "en"
    assert language_in(["announce", "--", "--lang", "en"]) is None


def test_wrap_counts_chinese_as_two_columns_and_drops_nothing():
    text = "考核周期：" * 10 + " and some English words"
    lines = wrap(text, 20)
    assert all(len(line) <= 10 or line.isascii() for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_the_readme_puts_jixiao_on_the_path_before_using_it(tmp_path):
    """The HR block's lines up to the first plain `jixiao` run as written in a fresh
    shell whose PATH knows nothing of .venv."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("## For HR: the command line", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    first_use = next(i for i, line in enumerate(lines) if line.startswith("jixiao "))
    script = "\n".join(["set -e", *lines[: first_use + 1], "command -v jixiao"])
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hr.db'}",
        },
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(".venv/bin/jixiao")


def test_a_help_text_built_in_either_language_is_shown_in_the_one_in_force():
    english = "Open, close, publish and finalize appraisal periods."
    with i18n.using("zh_CN"):
        chinese = i18n._(english)
        assert localise(english) == chinese
    assert chinese != english
    with i18n.using("en"):
        assert localise(chinese) == english
