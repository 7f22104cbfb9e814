"""docs/tutorial.rst runs as written: the test follows it in a fresh directory.

It reads the tutorial top to bottom and does what a reader does, in the same order:

- a ``console`` block's ``$`` lines are run (``django-admin startproject``, ``cd``, every
  ``python manage.py …``); the few lines it passes over are listed in ``PASSED_OVER``, and a
  line it does not know fails the test, so a new step cannot be skipped silently;
- a ``literalinclude`` of ``tutorial/<path>`` writes that file of the project at ``<path>``,
  which its caption must name: the whole file, or, when the caption says
  ``(add at the end)``, appended to it;
- an invisible ``.. walkthrough: <part>`` comment runs that part of
  tests/tutorial_walkthrough.py inside the project, as the reader tries it in the browser;
- after ``check``, every ``securetokens.*`` id the section names must be in the output.

Everything runs in subprocesses with the project's own ``manage.py`` and settings, not the
test suite's. The included files are the tutorial's only copy of its code, so the two cannot
drift apart.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial.rst"
WALKTHROUGH = Path(__file__).resolve().parent / "tutorial_walkthrough.py"
SUPERUSER = ("admin", "admin@example.com", "tutorial-Passw0rd")
APPEND = " (add at the end)"
# Lines not run: the reader's environment, which the test's interpreter already is; the
# example project, which is not the tutorial's; curl, which the walkthrough does with the
# test client; and runserver, whose pages the walkthrough requests instead.
PASSED_OVER = ("python -m venv ", ". .venv/bin/activate", "python -m pip install ", "make demo")
PASSED_OVER += ("curl ", "python manage.py runserver")
CHECK_ID = re.compile(r"securetokens\.[EW]\d{3}")


@dataclass
class Step:
    kind: str  # "console", "include" or "walkthrough"
    line: int
    section: str
    commands: list[str] = field(default_factory=list)
    path: str = ""
    options: dict[str, str] = field(default_factory=dict)


def read_steps(text: str) -> list[Step]:
    """The tutorial's actions in document order, each with the text of its section."""
    lines = text.splitlines()
    sections = _sections(lines)
    steps: list[Step] = []
    for number, line in enumerate(lines):
        section = sections[number]
        if line.startswith(".. code-block:: console"):
            block = _indented_block(lines, number + 1)
            commands = [b.strip()[2:] for b in block if b.strip().startswith("$ ")]
            steps.append(Step("console", number + 1, section, commands=commands))
        elif line.startswith(".. literalinclude:: "):
            options = dict(
                re.fullmatch(r"\s+:([\w-]+):\s*(.*)", option).groups()  # type: ignore[union-attr]
                for option in _indented_block(lines, number + 1)
                if option.strip().startswith(":")
            )
            path = line.split("::", 1)[1].strip()
            steps.append(Step("include", number + 1, section, path=path, options=options))
        elif line.startswith(".. walkthrough: "):
            steps.append(Step("walkthrough", number + 1, section, path=line.split(": ", 1)[1]))
    return steps


def _sections(lines: list[str]) -> list[str]:
    """For each line, the text of the section it is in (from one heading to the next)."""
    starts = [i - 1 for i, line in enumerate(lines) if re.fullmatch(r"-{3,}", line)]
    bounds = [0, *starts, len(lines)]
    owner = []
    for start, end in pairwise(bounds):
        owner += ["\n".join(lines[start:end])] * (end - start)
    return owner


def _indented_block(lines: list[str], start: int) -> list[str]:
    block = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    return block


def snippet(source: Path, options: dict[str, str]) -> str:
    """What Sphinx's ``literalinclude`` shows of *source* with *options*."""
    unknown = set(options) - {"caption", "language", "start-after", "end-before"}
    assert not unknown, f"{source.name}: this test does not apply {sorted(unknown)}"
    lines = source.read_text().splitlines(keepends=True)
    if "start-after" in options:
        (start,) = [i for i, line in enumerate(lines) if options["start-after"] in line][:1]
        lines = lines[start + 1 :]
    if "end-before" in options:
        (end,) = [i for i, line in enumerate(lines) if options["end-before"] in line][:1]
        lines = lines[:end]
    return "".join(lines)


class Project:
    """The reader's shell: a working directory and the commands of the tutorial."""

    def __init__(self, root: Path, changes: dict[str, dict[str, str]]) -> None:
        self.cwd = root
        # {file: {snippet: replacement}}: a snippet broken on purpose, to see the build fail.
        self.changes = changes
        self.output = ""

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> str:
        environ = {
            key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"
        }
        done = subprocess.run(
            argv,
            cwd=self.cwd,
            env={**environ, "PYTHONPATH": str(self.cwd), **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{shlex.join(argv)} failed in {self.cwd}:\n{output}"
        return output

    def console(self, command: str) -> None:
        words = shlex.split(command)
        env = {}
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        if command.startswith(PASSED_OVER):
            return
        if words[:2] == ["django-admin", "startproject"]:
            self.output = self.run([sys.executable, "-m", "django", *words[1:]], env)
        elif words[0] == "cd":
            self.cwd = self.cwd / words[1]
        elif words[:2] == ["python", "manage.py"]:
            if words[2] == "createsuperuser":
                username, email, password = SUPERUSER
                words += ["--noinput", "--username", username, "--email", email]
                env["DJANGO_SUPERUSER_PASSWORD"] = password
            self.output = self.run([sys.executable, *words[1:]], env)
        else:
            pytest.fail(f"tutorial.rst: no rule for running {command!r}")

    def include(self, step: Step) -> None:
        relative = step.path.removeprefix("tutorial/")
        assert relative != step.path, f"line {step.line}: include files from docs/tutorial/"
        caption = step.options.get("caption", "")
        target, append = caption.removesuffix(APPEND), caption.endswith(APPEND)
        assert target == relative, f"line {step.line}: caption {caption!r} for {step.path}"
        source = DOCS / step.path
        text = snippet(source, step.options)
        text = self.changes.get(relative, {}).get(text, text)
        destination = self.cwd / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if append:
            assert destination.exists(), f"line {step.line}: nothing to add {target} to"
            text = destination.read_text() + "\n" + text
        destination.write_text(text)

    def walkthrough(self, part: str) -> None:
        argv = [sys.executable, str(WALKTHROUGH), part, *SUPERUSER]
        self.run(argv, {"DJANGO_SETTINGS_MODULE": "mysite.settings"})


def follow(root: Path, changes: dict[str, dict[str, str]] | None = None) -> list[Step]:
    project = Project(root, changes or {})
    steps = read_steps(TUTORIAL.read_text())
    for step in steps:
        if step.kind == "console":
            for command in step.commands:
                project.console(command)
                if command.split()[2:3] == ["check"]:
                    named = set(CHECK_ID.findall(step.section))
                    assert named, f"line {step.line}: which check ids should this report?"
                    assert named <= set(CHECK_ID.findall(project.output)), project.output
        elif step.kind == "include":
            project.include(step)
        else:
            project.walkthrough(step.path)
    return steps


def test_the_tutorial_builds_a_working_project(tmp_path):
    steps = follow(tmp_path)
    kinds = [step.kind for step in steps]
    walked = [step.path for step in steps if step.kind == "walkthrough"]
    assert walked == ["password-reset", "email-verification", "api-keys"]
    assert kinds.count("include") >= 10
    # Every file and every marked region in docs/tutorial/ is shown to the reader.
    folder = DOCS / "tutorial"
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    on_disk = {str(path.relative_to(folder)) for path in files}
    shown = [step for step in steps if step.kind == "include"]
    assert {step.path.removeprefix("tutorial/") for step in shown} == on_disk
    for path in on_disk:
        regions = set(re.findall(r"^# \[(\w+)\]$", (folder / path).read_text(), re.MULTILINE))
        used = {
            step.options["start-after"].removeprefix("# [").removesuffix("]")
            for step in shown
            if step.path == f"tutorial/{path}" and "start-after" in step.options
        }
        assert regions == used, path


def test_a_broken_snippet_fails_the_build(tmp_path):
    """The same run with one import dropped from the URLconf snippet stops at ``migrate``."""
    urls = snippet(
        DOCS / "tutorial" / "mysite" / "urls.py",
        {"start-after": "# [site]", "end-before": "# [/site]"},
    )
    broken = urls.replace("from django.urls import include, path\n", "")
    assert broken != urls
    with pytest.raises(AssertionError, match=r"manage\.py migrate failed(.|\n)*NameError"):
        follow(tmp_path, {"mysite/urls.py": {urls: broken}})
