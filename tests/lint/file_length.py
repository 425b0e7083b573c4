#!/usr/bin/python3
"""file_length: no .c file of lib/ or daemon/ over 800 lines unless its first comment says why it must
stay whole, with the phrase "one piece because" (for example "over 800 lines as one piece because the
parse context is shared by every handler"). A file that long usually does several jobs; the phrase
makes the exception a decision someone wrote down.

    file_length.py [ROOT]        check the source tree at ROOT (default: this repository)
    file_length.py --self-test   check that the rule catches what it is meant to

Exit status 0 when every file follows it, 1 otherwise.
"""
import os
import re
import sys

import tree_check

MAX_LINES = 800
MARKER = "one piece because"
FOLDERS = ("lib", "daemon")


def header_comment(text):
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return " ".join(m.group(1).replace("*", " ").split()) if m else ""


def check(root):
    problems = []
    for d in FOLDERS:
        folder = os.path.join(root, d)
        for n in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if not n.endswith(".c"):
                continue
            with open(os.path.join(folder, n), encoding="utf-8") as f:
                text = f.read()
            lines = text.count("\n")
            if lines > MAX_LINES and MARKER not in header_comment(text):
                problems.append(f"{d}/{n}: {lines} lines; split it, or say in its header comment why it "
                                f"is {MARKER} ...")
    return problems


def self_test():
    body = "int x;\n" * (MAX_LINES + 5)
    good = {
        "lib/short.c": "/* short */\n" + "int y;\n" * (MAX_LINES - 1),
        "daemon/long.c": "/* long: kept as one piece\n * because the state machine reads top to bottom. */\n" + body,
        "lib/long.h": "/* headers are not counted */\n" + body,
    }
    cases = {
        "long lib file": dict(good, **{"lib/short.c": "/* short */\n" + "int y;\n" * (MAX_LINES + 1)}),
        "long daemon file without the phrase": dict(good, **{"daemon/long.c": "/* long */\n" + body}),
        "the phrase outside the first comment": dict(good, **{
            "daemon/long.c": "/* long */\n/* one piece because */\n" + body}),
    }
    return tree_check.self_test(check, good, cases)


if __name__ == "__main__":
    OK = f"file_length: no .c file of {' or '.join(FOLDERS)} is over {MAX_LINES} lines without a reason"
    sys.exit(tree_check.main(sys.argv, check, self_test, OK))
