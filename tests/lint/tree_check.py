"""tree_check: what the source-tree checkers of tests/lint share: running a check over the repository
(or a tree given on the command line) and proving it on small made-up trees.

A checker is a function check(root) -> list of problems (one line each, empty when the tree is fine).
"""
import os
import tempfile

REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def problems_of(files, check):
    """The problems check finds in a temporary tree holding files ({relative path: text})."""
    with tempfile.TemporaryDirectory(prefix="rk-lint-") as root:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)
        return check(root)


def self_test(check, good, bad_cases):
    """0 when check accepts good and refuses each of bad_cases ({name: files}), else 1."""
    ok = True
    problems = problems_of(good, check)
    if problems:
        print("self-test: a good tree was refused:", *problems, sep="\n  ")
        ok = False
    for name, files in bad_cases.items():
        if not problems_of(files, check):
            print(f"self-test: not caught: {name}")
            ok = False
    print("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1


def main(argv, check, run_self_test, ok_message):
    """[ROOT] checks ROOT (default: this repository); --self-test runs run_self_test()."""
    if len(argv) > 1 and argv[1] == "--self-test":
        return run_self_test()
    problems = check(os.path.abspath(argv[1] if len(argv) > 1 else REPOSITORY))
    for p in problems:
        print(p)
    if not problems:
        print(ok_message)
    return 1 if problems else 0
