"""Usage errors of `renkei` in the person's language: every way a command can be typed wrong is run
under a Japanese locale and under an English one (no node is needed: they all fail before the client
talks to one). Under ja_JP each must exit 2 with a Japanese message and hint and without the English
message; under C, the English ones. A usage error added without its Japanese text fails here."""

import os
import re
import subprocess

import rk

KEY = "ab" * 32
CJK = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")

# Each invocation reaches a different usage error (cli/usage.c lists them all).
CASES = [
    ["list", "--bogus"],
    ["list", "--limit"],
    ["list", "-x"],
    ["--bogus"],
    ["list", "--signed"],
    ["get"],
    ["get", "a", "b"],
    ["list", "--limit", "0"],
    ["get", "--out", "f", "id"],
    ["search", ""],
    ["export", "--format", "pdf"],
    ["export", "--format", "csv", "--from", "2020-01-01"],
    ["export", "--format", "csv", "--all", "--limit", "5"],
    ["new"],
    ["new", "case", "event"],
    ["new", "thing"],
    ["import"],
    ["import", "a.csv", "b.csv"],
    ["members", "x"],
    ["member"],
    ["member", "endorse", "--key", "zz"],
    ["member", "endorse", "--key", KEY],
    ["member", "revoke", "--key", KEY, "--name", "x"],
    ["member", "endorse", "--key", KEY, "--name", "n", "--reason", "r"],
    ["member", "revoke", "--key", KEY, "--since", "yesterday"],
    ["key"],
    ["key", "rotate", "x", "--out", "f"],
    ["key", "rotate"],
    ["keygen"],
    ["keygen", "x", "--out", "f"],
    ["pubkey"],
    ["verify"],
    ["verify", "--hash", "abc", "f"],
    ["status", "x"],
]


def run(args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    base.update(env)
    p = subprocess.run([rk.RENKEI, "-s", "/nonexistent/renkei-test.sock"] + args, capture_output=True,
                       timeout=30, env=base)
    return p.returncode, p.stderr.decode()


def message(stderr):
    """The first line without its "renkei CMD: " prefix."""
    return stderr.splitlines()[0].split(": ", 1)[1]


def test_every_usage_error_is_japanese_under_a_japanese_locale():
    seen = set()
    for args in CASES:
        rc_en, en = run(args, LANG="C")
        rc_ja, ja = run(args, LANG="ja_JP.UTF-8")
        assert rc_en == 2 and rc_ja == 2, (args, rc_en, en, rc_ja, ja)
        lines = ja.splitlines()
        assert len(lines) == 2, (args, ja)
        assert CJK.search(lines[0]), "English-only usage error under ja_JP: %r -> %r" % (args, ja)
        assert message(en) not in ja, (args, en, ja)
        assert CJK.search(lines[1]) and "--help" in lines[1], (args, ja)
        # English under C: the same message, no Japanese
        assert not CJK.search(en) and en.splitlines()[1].startswith("try 'renkei"), (args, en)
        seen.add(message(en))
    # every case reached a usage error of its own (a case that stopped reaching its error shows here)
    assert len(seen) >= len(CASES) - 3, sorted(seen)


def test_lc_all_and_lc_messages_choose_before_lang():
    _, ja = run(["get"], LANG="C", LC_MESSAGES="ja_JP.UTF-8")
    assert message(ja) == "引数が足りません", ja
    _, en = run(["get"], LANG="ja_JP.UTF-8", LC_ALL="C")
    assert message(en) == "missing argument", en


def test_an_unknown_command_is_reported_in_japanese():
    rc, ja = run(["nosuch"], LANG="ja_JP.UTF-8")
    assert rc == 2 and ja.splitlines()[0] == "renkei: 「nosuch」というコマンドはありません", ja


rk.run_tests(globals())
