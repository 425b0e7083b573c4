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
import tempfile

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
    def problems_of(files):
        with tempfile.TemporaryDirectory(prefix="rk-lint-") as root:
            for rel, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
                with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                    f.write(text)
            return check(root)

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
    ok = True
    problems = problems_of(good)
    if problems:
        print("self-test: a good tree was refused:", *problems, sep="\n  ")
        ok = False
    for name, files in cases.items():
        if not problems_of(files):
            print(f"self-test: not caught: {name}")
            ok = False
    print("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    if not problems:
        print(f"file_length: no .c file of {' or '.join(FOLDERS)} is over {MAX_LINES} lines without a reason")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
