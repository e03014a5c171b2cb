#!/usr/bin/env python3
"""Checks that the crate's top-level modules form layers that point one way.

    python3 tools/layers.py [SRC]          (SRC defaults to src/ beside tools/)
    python3 tools/layers.py --graph [SRC]  (also prints every edge and where it is)

LAYERS below is the allowed order, lowest first (ARCHITECTURE.md explains
it). A module may import modules on lines above its own; never one on its
own line (siblings stay independent) or below. Every top-level module of
SRC (a file `x.rs` or a folder `x/`) must be listed exactly once, so a new
module is placed on purpose. The check reads `crate::a::...`,
`use crate::{a, b::c}` and `super::` chains that climb to the crate root,
in all code (unit tests included; comments and string literals are
skipped). Besides upward and sideways imports it reports any cycle (also
among the files of one folder: kernel/draws.rs and kernel/plan.rs may not
import each other, whether by `super::` or `crate::kernel::`), and
any path that reaches up into the crate root for something that is not a
module (`crate::Error`, `super::super::helper`): lib.rs only declares
modules and re-exports for main.rs, and nothing inside the crate uses its
re-exports.

Exit status 0 when the layering holds, 1 otherwise (each offence listed
with its file and line). CI runs it (.ci/run).
"""
import os
import re
import sys

# The allowed order, lowest first: each line may import only lines above it.
LAYERS = [
    ["error"],
    ["format", "console", "input"],
    ["stats", "model"],
    ["scenario"],
    ["kernel"],
    ["engine"],
    ["resources", "output"],
    ["results"],
    ["trials_out"],
    ["report", "study"],
    ["shard", "fit", "optimize"],
    ["serve"],
    ["app"],
]
ROOT_FILES = {"lib", "main"}


def strip(text):
    """The code of a Rust file without comments, strings and char literals
    (each replaced by a space, newlines kept so line numbers hold)."""
    out, i, n = [], 0, len(text)
    keep_lines = lambda s: "".join("\n" if c == "\n" else " " for c in s)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep_lines(text[i:j]))
            i = j
        elif re.match(r'(b?r)(#*)"', text[i:i + 260]) and not re.match(r"\w", text[i - 1:i] or " "):
            m = re.match(r'(b?r)(#*)"', text[i:])
            end = text.find('"' + m.group(2), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(2))
            out.append(keep_lines(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(keep_lines(text[i:j + 1]))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(rel):
    """(top-level module, depth of the file's module below the crate root)."""
    parts = rel.split(os.sep)
    name = parts[-1][:-3]
    path = parts[:-1] + ([] if name == "mod" else [name])
    top = path[0] if path else name
    return top, len(path)


def inline_modules(code):
    """(start, end, name) of every inline `mod name { ... }` block of
    `code` (stripped): where each opens and closes."""
    spans, stack, level = [], [], 0
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{|[{}]", code):
        tok = m.group(0)
        if tok.startswith("mod"):
            stack.append((level, m.start(), m.group(1)))
            level += 1
        elif tok == "{":
            level += 1
        else:
            level -= 1
            if stack and stack[-1][0] == level:
                _, start, name = stack.pop()
                spans.append((start, m.end(), name))
    return spans


def references(code, depth):
    """Yield (line, first segment below the crate root) for every path in
    `code` (stripped) that starts at the crate root: `crate::x`,
    `crate::{x, y}` and `super::` chains that climb to the root. `depth` is
    the file's module depth; inline `mod name { ... }` blocks add to it."""
    line_at = lambda pos: code.count("\n", 0, pos) + 1
    spans = inline_modules(code)
    inline = lambda pos: sum(1 for a, b, _ in spans if a < pos < b)
    for m in re.finditer(r"(?<![\w:])crate::(\{[^}]*\}|[A-Za-z_]\w*)", code):
        target = m.group(1)
        names = re.split(r"[,\s]+", target[1:-1]) if target.startswith("{") else [target]
        for name in names:
            first = name.split("::")[0].strip()
            if first and first != "self":
                yield line_at(m.start()), first
    for m in re.finditer(r"(?<![\w:])((?:super::)+)(\{[^}]*\}|[A-Za-z_]\w*|\*)", code):
        climbs = m.group(1).count("super::")
        if climbs < depth + inline(m.start()):
            continue
        target = m.group(2)
        names = re.split(r"[,\s]+", target[1:-1]) if target.startswith("{") else [target]
        for name in names:
            first = name.split("::")[0].strip()
            if first and first != "self":
                yield line_at(m.start()), first


def resolved(code, path):
    """Yield (line, absolute path as a list of segments) for every path in
    `code` (stripped) written from the crate root (`crate::a::b`) or
    climbing with `super::` from the file's module `path` (inline `mod
    name { ... }` blocks are entered, so `super::` inside `mod tests` climbs
    to the file's own module first)."""
    line_at = lambda pos: code.count("\n", 0, pos) + 1
    spans = inline_modules(code)
    here = lambda pos: path + [n for a, b, n in sorted(spans) if a < pos < b]
    split = lambda t: [x for x in re.split(r"[,\s]+", t[1:-1]) if x] if t.startswith("{") else [t]
    for m in re.finditer(r"(?<![\w:])crate::((?:[A-Za-z_]\w*::)*)(\{[^}]*\}|[A-Za-z_]\w*)", code):
        head = [x for x in m.group(1).split("::") if x]
        for name in split(m.group(2)):
            rest = [x for x in name.split("::") if x and x not in ("self", "*")]
            yield line_at(m.start()), head + rest
    for m in re.finditer(r"(?<![\w:])((?:super::)+)((?:[A-Za-z_]\w*::)*)(\{[^}]*\}|[A-Za-z_]\w*|\*)", code):
        climbs = m.group(1).count("super::")
        base = here(m.start())
        if climbs > len(base):
            continue
        head = base[:len(base) - climbs] + [x for x in m.group(2).split("::") if x]
        for name in split(m.group(3)):
            rest = [x for x in name.split("::") if x and x not in ("self", "*")]
            yield line_at(m.start()), head + rest


def folder_cycles(src):
    """Cycles among the modules of one folder (kernel/draws.rs and
    kernel/plan.rs importing each other is a cycle of `kernel`), for every
    folder of the crate: (folder, [modules]) for each, with where each
    edge of the cycle is first seen."""
    subs = {}  # folder path (tuple) -> its child modules
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        key = () if rel == "." else tuple(rel.split(os.sep))
        subs[key] = {f[:-3] for f in files if f.endswith(".rs")} | set(dirs)
        subs[key] -= {"mod"} | (ROOT_FILES if key == () else set())
    edges = {}  # (folder, a, b) -> where
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)
            parts = rel.split(os.sep)
            name = parts[-1][:-3]
            path = parts[:-1] + ([] if name in ("mod",) or (len(parts) == 1 and name in ROOT_FILES) else [name])
            if len(parts) == 1:
                continue  # top-level modules are the layers' business
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                code = strip(fh.read())
            for line, target in resolved(code, path):
                k = 0
                while k < min(len(path), len(target)) and path[k] == target[k]:
                    k += 1
                if k == 0 or k >= len(path) or k >= len(target):
                    continue  # another top-level module, an ancestor or a child
                folder = tuple(path[:k])
                a, b = path[k], target[k]
                if b in subs.get(folder, ()):
                    edges.setdefault((folder, a, b), f"{os.path.join(src, rel)}:{line}")
    found = []
    for folder in sorted({e[0] for e in edges}):
        succ = {}
        for (fo, a, b) in edges:
            if fo == folder:
                succ.setdefault(a, set()).add(b)
        for comp in strongly_connected(succ):
            where = [edges[(folder, a, b)] for a in comp for b in sorted(succ.get(a, ())) if b in comp]
            found.append(("/".join(folder), comp, where))
    return found


def strongly_connected(succ):
    """The strongly connected groups of more than one node (Tarjan)."""
    nodes = sorted(set(succ) | {b for bs in succ.values() for b in bs})
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(succ.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main(argv):
    graph = "--graph" in argv
    args = [a for a in argv if a != "--graph"]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    if not os.path.isdir(src):
        print(f"usage: tools/layers.py [--graph] [SRC]: {src} is not a folder", file=sys.stderr)
        return 2
    mods = sorted({n[:-3] if n.endswith(".rs") else n for n in os.listdir(src)
                   if n.endswith(".rs") or os.path.isdir(os.path.join(src, n))} - ROOT_FILES)
    rank = {m: r for r, line in enumerate(LAYERS) for m in line}
    problems = []
    listed = [m for line in LAYERS for m in line]
    for m in sorted({m for m in listed if listed.count(m) > 1}):
        problems.append(f"tools/layers.py: module {m} is listed twice in LAYERS")
    for m in mods:
        if m not in rank:
            problems.append(f"tools/layers.py: module {m} is not in LAYERS (place it on a line above every module that imports it and below every module it imports)")
    for m in listed:
        if m not in mods:
            problems.append(f"tools/layers.py: LAYERS names {m}, which is not a module of {src}")
    edges = {}  # (from, to) -> first place
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)
            top, depth = module_of(rel)
            if top in ROOT_FILES and os.sep not in rel:
                continue
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                code = strip(fh.read())
            for line, first in references(code, depth):
                where = f"{os.path.join(src, rel)}:{line}"
                if first not in mods:
                    problems.append(f"{where}: {top} reaches up into the crate root for `{first}` (not a module; import it from the module that defines it)")
                elif first != top:
                    edges.setdefault((top, first), where)
    for (a, b), where in sorted(edges.items()):
        if a in rank and b in rank and rank[b] >= rank[a]:
            how = "a sibling on its own layer" if rank[b] == rank[a] else "a higher layer"
            problems.append(f"{where}: {a} imports {b}, {how}")
    # Cycles (Tarjan), reported even when LAYERS is incomplete.
    succ = {m: sorted({b for (a, b) in edges if a == m}) for m in mods}
    cycles = strongly_connected(succ)
    for c in cycles:
        problems.append("cycle: " + " <-> ".join(c))
    inner = folder_cycles(src)
    for folder, comp, where in inner:
        problems.append(f"cycle inside {folder}/: " + " <-> ".join(comp) + " (" + ", ".join(where) + ")")
    if graph:
        for (a, b), where in sorted(edges.items()):
            print(f"{a} -> {b}    ({where})")
    print(f"{len(mods)} top-level modules in {len(LAYERS)} layers, {len(edges)} imports between them; "
          f"cycles: {len(cycles)}, inside folders: {len(inner)}; problems: {len(problems)}")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
