"""The console demo runs the same interview without Telegram or a token."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from docx import Document

from tests.utils.journeys import NEXT, markers, questionnaire, script


def demo_input(language: str) -> str:
    q = questionnaire("annual", language)  # type: ignore[arg-type]
    lines = ["/1" if language == "zh" else "/2", "张伟", "副局长", "市教育局", "/1"]
    for kind, value in script(q):
        # After a list entry the buttons are "/1 Back /2 Next".
        lines.append(value if kind == "say" else "/2")
        assert kind == "say" or value == NEXT[language]
    return "\n".join(lines) + "\n"


def test_the_demo_interviews_in_the_terminal_and_writes_the_docx(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--out",
            str(tmp_path / "drafts"),
            "--db",
            f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        ],
        input=demo_input("zh"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "第 1/4 部分 · 第 1/12 题" in out
    assert "2026年度述职报告" in out
    draft = out[out.index("第 1 版初稿") :]
    for marker in markers(questionnaire("annual", "zh")):
        assert draft.count(marker) == 1, marker
    docx_files = list((tmp_path / "drafts").glob("*.docx"))
    assert len(docx_files) == 1
    text = "\n".join(p.text for p in Document(io.BytesIO(docx_files[0].read_bytes())).paragraphs)
    assert "各位领导、同志们：" in text


def test_the_demo_resumes_where_it_stopped(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    command = [
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--out",
        str(tmp_path),
        "--db",
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
    ]
    first = demo_input("en").splitlines()[:7]
    subprocess.run(
        command,
        input="\n".join(first) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=True,
    )
    again = subprocess.run(
        command,
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=True,
    )
    assert "Welcome back" in again.stdout and "Section 2/4 · Question 3/12" in again.stdout


def test_lang_answers_the_language_question_and_db_takes_a_plain_sqlite_url(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--lang", "en", "--db", "sqlite:///own.db"],
        input="Jane Smith\nDeputy Director\nCity Housing Department\n/1\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Section 1/4 · Question 1/12" in result.stdout
    assert (tmp_path / "own.db").exists()
    assert result.stderr == ""  # no log lines in the terminal the user reads
