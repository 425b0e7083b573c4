#!/usr/bin/python3
"""include_tree: keeps the modules of lib/ a tree, so each can be read, tested and replaced from the
bottom up (docs/storage.md draws the store's part of it).

    include_tree.py [ROOT]        check the source tree at ROOT (default: this repository)
    include_tree.py --self-test   check that each rule catches what it is meant to

A module is a stem of lib/: lib/X.c and lib/X.h. Two rules, each printed with the files to fix:

  1. No circle among modules: module X depends on Y when lib/X.c or lib/X.h includes "Y.h". The
     graph must have no cycle.
  2. A function declared in lib/X.h is defined in lib/X.c (when lib/ defines it at all). A header
     that declares another file's functions hides a circle from rule 1: X's callers reach Y's code
     through X, and Y usually needs X back.

Exit status 0 when the tree follows them, 1 otherwise.
"""
import os
import re
import sys

import tree_check

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# One pass, so that "//" inside a string or a quote inside a comment is read as C reads it.
COMMENT_OR_LITERAL = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])+\'', re.S)
CALLISH = re.compile(r"(\(\s*\*\s*)?\b([a-z_][a-z0-9_]*)\s*\(")
NOT_FUNCTIONS = {"sizeof", "if", "while", "for", "switch", "return", "defined", "__attribute__", "_Alignof",
                 "_Static_assert", "alignof", "typeof", "__typeof__"}


def strip(text):
    """Comments and string literals blanked, preprocessor lines dropped (with their continuations)."""
    text = COMMENT_OR_LITERAL.sub(lambda m: ("\n" * m.group(0).count("\n") or " ") if m.group(0)[0] == "/" else "0",
                                  text)
    out, cont = [], False
    for line in text.split("\n"):
        directive = cont or line.lstrip().startswith("#")
        cont = directive and line.endswith("\\")
        out.append("" if directive else line)
    return "\n".join(out)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def modules(lib):
    names = sorted(os.listdir(lib)) if os.path.isdir(lib) else []
    mods = {}
    for n in names:
        stem, ext = os.path.splitext(n)
        if ext in (".c", ".h"):
            mods.setdefault(stem, []).append(os.path.join(lib, n))
    return mods


def include_graph(lib, mods):
    graph = {m: set() for m in mods}
    for m, files in mods.items():
        for path in files:
            for inc in INCLUDE.findall(read(path)):
                stem, ext = os.path.splitext(inc)
                if ext == ".h" and stem != m and os.path.exists(os.path.join(lib, inc)):
                    graph[m].add(stem)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def declared_functions(header_text):
    """Names of the functions a header declares (prototypes at file scope, no function pointers)."""
    text = strip(header_text)
    names = set()
    for m in CALLISH.finditer(text):
        # only the outermost parenthesis of a declaration names a function
        prefix = text[: m.start()]
        depth = prefix.count("(") - prefix.count(")")
        braces = prefix.count("{") - prefix.count("}")
        if m.group(1) or depth != 0 or m.group(2) in NOT_FUNCTIONS:
            continue
        if braces != 0:
            continue  # inside a struct or an inline body
        names.add(m.group(2))
    return names


def defined_functions(source_text):
    """Names of the functions a .c file defines: a name at file scope, its parameter list, then '{'."""
    text = strip(source_text)
    names = set()
    for m in CALLISH.finditer(text):
        if m.group(1) or m.group(2) in NOT_FUNCTIONS:
            continue
        prefix_braces = text.count("{", 0, m.start()) - text.count("}", 0, m.start())
        if prefix_braces != 0 or text.count("(", 0, m.start()) != text.count(")", 0, m.start()):
            continue
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        rest = text[i + 1 : i + 200].lstrip()
        if rest.startswith("{"):
            names.add(m.group(2))
    return names


def check(root):
    problems = []
    lib = os.path.join(root, "lib")
    mods = modules(lib)
    graph = include_graph(lib, mods)
    for comp in cycles(graph):
        edges = ", ".join(f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp)
        problems.append(f"lib/: modules include each other in a circle: {' '.join(comp)} ({edges})")

    defined_in = {}
    for m, files in mods.items():
        for path in files:
            if path.endswith(".c"):
                for name in defined_functions(read(path)):
                    defined_in.setdefault(name, set()).add(m)
    for m, files in sorted(mods.items()):
        for path in files:
            if not path.endswith(".h"):
                continue
            for name in sorted(declared_functions(read(path))):
                owners = defined_in.get(name, set())
                if owners and m not in owners:
                    problems.append(f"lib/{m}.h declares {name}, which lib/{sorted(owners)[0]}.c defines")

    return problems


def self_test():
    """Each rule on a small tree that breaks it, and a tree that breaks none."""
    good = {
        "lib/a.h": "/* a */\n#include \"b.h\"\nint a_run(int x);\ntypedef int (*a_cb)(int);\n",
        "lib/a.c": "#include \"a.h\"\nint a_run(int x)\n{\n    return b_twice(x);\n}\n",
        "lib/b.h": "/* b */\nint b_twice(int x);\n",
        "lib/b.c": "#include \"b.h\"\nint b_twice(int x) { return 2 * x; }\n",
    }
    cases = {
        "include circle": dict(good, **{"lib/b.h": "#include \"a.h\"\nint b_twice(int x);\n"}),
        "circle through a .c file": dict(good, **{"lib/b.c": "#include \"b.h\"\n#include \"a.h\"\n"
                                                             "int b_twice(int x) { return 2 * x; }\n"}),
        "foreign declaration": dict(good, **{"lib/b.h": "int b_twice(int x);\nint a_run(int x);\n"}),
        "a definition after a string holding //": dict(good, **{
            "lib/b.h": "int b_twice(int x);\nint a_run(int x);\n",
            "lib/a.c": "#include \"a.h\"\nstatic const char *u = \"http://x\";\nint a_run(int x)\n{\n    return x;\n}\n"}),
        "a header declaring a function of a file with no header": dict(good, **{
            "lib/c.c": "#include \"a.h\"\nint c_three(void)\n{\n    return a_run(3);\n}\n",
            "lib/a.h": "#include \"b.h\"\nint a_run(int x);\nint c_three(void);\n"}),
    }
    return tree_check.self_test(check, good, cases)


if __name__ == "__main__":
    sys.exit(tree_check.main(sys.argv, check, self_test, "include_tree: the modules of lib/ form a tree"))
