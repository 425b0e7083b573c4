#!/usr/bin/python3
"""check_man_tags: every .TP tag of the manual pages under docs/man is one input line.

man(7) takes only the single line after .TP as the tag; a synopsis continued with .IR or .BR on the
next lines is rendered as the start of the description, so the option and its arguments no longer
stand on their own line. The rule checked: the line after a .TP tag is not a font macro. Write a
long tag on one line with \\fB...\\fR and \\fI...\\fR instead. Run by ctest as lint.man_tags.
"""
import glob
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FONT = re.compile(r"^\.(B|I|BR|RB|IR|RI|BI|IB)(\s|$)")


def main():
    pages = sorted(glob.glob(os.path.join(ROOT, "docs", "man", "*.[1-9]")))
    problems = []
    for page in pages:
        with open(page, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if line.strip() != ".TP" or i + 2 >= len(lines):
                continue
            if FONT.match(lines[i + 2]):
                problems.append("%s:%d: the .TP tag goes on over two lines (%s / %s)"
                                % (os.path.relpath(page, ROOT), i + 2, lines[i + 1], lines[i + 2]))
    for p in problems:
        print(p)
    print("%d pages checked, %d problems" % (len(pages), len(problems)))
    return 1 if problems or not pages else 0


if __name__ == "__main__":
    sys.exit(main())
