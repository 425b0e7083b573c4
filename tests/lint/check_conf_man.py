#!/usr/bin/python3
"""check_conf_man: every key that docs/configuration.md documents is documented in the same section
of docs/man/renkeid.conf.5, and the page documents no key the reference does not.

configuration.md is the reference: one table per section under a heading such as "## `[node]`",
keys in backquotes in the first column. In the manual page a key is the bold tag of a .TP paragraph
("\\fBkey\\fR = ..."), under the .SH heading whose first word names the section (NODE SECTION,
API SECTION, GOSSIP SECTION, PEERS AND MEMBERS). Run by ctest as lint.conf_man; exits 1 and names
each missing key otherwise.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def reference_keys(path):
    """{section word: set of keys} from the markdown tables."""
    keys = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^##\s+`\[(\w+)", line)
            if m:
                section = m.group(1).upper()
                keys.setdefault(section, set())
                continue
            if line.startswith("## "):
                section = None
                continue
            if section and line.startswith("|"):
                first = line.split("|")[1]
                if first.strip() in ("key", "---") or set(first.strip()) <= set("-: "):
                    continue
                keys[section].update(re.findall(r"`([a-z_]+)`", first))
    return keys


def manual_keys(path):
    """{section word: set of keys} from the .TP tags of the page."""
    keys = {}
    section = None
    tag_next = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".SH "):
                section = line[4:].strip().strip('"').split()[0].upper()
                keys.setdefault(section, set())
                tag_next = False
                continue
            if line == ".TP":
                tag_next = True
                continue
            if tag_next:
                tag_next = False
                m = re.match(r"^\\fB([a-z_]+)\\fR\s*=", line)
                if m and section:
                    keys[section].add(m.group(1))
    return keys


def main():
    ref = reference_keys(os.path.join(ROOT, "docs", "configuration.md"))
    man = manual_keys(os.path.join(ROOT, "docs", "man", "renkeid.conf.5"))
    # the manual documents [peer] and [member] together under PEERS AND MEMBERS
    aliases = {"PEER": "PEERS", "MEMBER": "PEERS"}
    problems = []
    if not any(ref.values()):
        problems.append("no keys found in docs/configuration.md: has its layout changed?")
    documented = set()
    for section, names in sorted(ref.items()):
        where = aliases.get(section, section)
        have = man.get(where, set())
        for k in sorted(names - have):
            problems.append("renkeid.conf.5 does not document [%s] %s (docs/configuration.md does)" % (section.lower(), k))
        documented |= {(where, k) for k in names}
    for section, names in sorted(man.items()):
        for k in sorted(names):
            if (section, k) not in documented:
                problems.append("renkeid.conf.5 documents %s in %s, which docs/configuration.md does not" % (k, section))
    for p in problems:
        print(p)
    n = sum(len(v) for v in ref.values())
    print("%d keys checked, %d problems" % (n, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
