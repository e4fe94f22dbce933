"""The newcomer's path: ``make run`` without a token starts the sandbox, where one can become
admin, invite a rep, open the invitation as that rep, switch language and see /help by role."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
/start
/invite rep
:as rep
:open
/help
:as admin
/lang
2
/help
:as customer
/start
:quit
"""


def run_kehu(arguments: list[str], tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    environment.update({"KEHU_LANGUAGE": "zh", "PYTHONUNBUFFERED": "1"})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *arguments],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=environment,
        check=False,
    )


def test_run_without_a_token_explains_and_opens_the_sandbox(tmp_path: Path) -> None:
    result = run_kehu(["run"], tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "No KEHU_BOT_TOKEN is set" in out
    assert "export KEHU_BOT_TOKEN=" in out
    expected_in_order = [
        "Ada，欢迎回来！您的角色：管理员。",
        "已生成销售邀请链接",
        "欢迎加入，李娜！您的角色：销售。",
        "李娜 已通过您的邀请加入，角色：销售。",
        "您是销售，可以使用：",
        "[1] ✓ 中文  [2] English",
        "Language switched to English.",
        "As an admin you can use:",
        "/invite — Invite a member",
        "您好！这里是客户（Kehu）销售助手，仅供受邀成员使用。",
    ]
    position = 0
    for expected in expected_in_order:
        found = out.find(expected, position)
        assert found >= 0, f"missing (in order): {expected!r}\n{out}"
        position = found
    rep_help = out[out.index("您是销售，可以使用：") : out.index("[admin]> /lang")]
    assert "/invite" not in rep_help
    assert (tmp_path / "data" / "sandbox.db").exists()
    assert "Traceback" not in result.stderr


def test_sandbox_demo_data_and_persistence(tmp_path: Path) -> None:
    first = run_kehu(["sandbox", "--demo"], tmp_path, ":as manager\n/help\n:quit\n")
    assert first.returncode == 0, first.stderr
    assert "Demo data loaded: team 华东区" in first.stdout
    assert "您是经理，可以使用：" in first.stdout
    second = run_kehu(["sandbox"], tmp_path, ":demo\n:as rep\n/start\n")  # ends with EOF
    assert second.returncode == 0, second.stderr
    assert "Demo data already loaded" in second.stdout
    assert "李娜，欢迎回来！您的角色：销售。" in second.stdout
