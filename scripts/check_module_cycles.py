#!/usr/bin/env python3
"""check_module_cycles.py [--self-test] SRC_DIR...: fails when modules of a
crate depend on each other in a cycle.

Reads the `crate::`, `super::` and `self::` paths of every .rs file under
each SRC_DIR (text only, nothing is compiled). A path is an edge from the
file's module to the deepest module it names. Edges are judged among
siblings: `crate::a::x` using `crate::b::y` is the edge a -> b inside
`crate`, and `a::x` using `a::y` is x -> y inside `a`. A parent and its own
descendants are one unit (a `mod.rs` re-exporting its children, a child
using `super::`), so only sibling cycles count: the kind that makes two
modules impossible to understand or change one without the other.

Prints one summary line per SRC_DIR (modules, sibling edges, cycles) and,
for each cycle, one example use per edge. Exit status 1 if any cycle.
--self-test checks the checker on three small crates and exits.

Why not cargo-modules: it builds rust-analyzer (many minutes on a 2-core
CI machine) to answer the same question.
"""

import os
import re
import sys

PATH_RE = re.compile(r"(?<![\w$])(crate|super|self)((?:::\w+)+)")
USE_RE = re.compile(r"\buse\s+([^;]*);", re.DOTALL)
COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"')


def module_of(relpath):
    """`a/b.rs` and `a/b/mod.rs` are ("a", "b"); `lib.rs` is the root ()."""
    parts = relpath[: -len(".rs")].split("/")
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def expand_use(tree):
    """Every path a `use` tree names: `a::{b, c::{d}}` -> a::b, a::c::d."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"\bas\w+$", "", tree)]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:index])
            start = index + 1
    parts.append(inner[start:])
    return [path for part in parts if part for path in expand_use(prefix + part)]


def referenced_paths(text):
    """The paths a file names, each a list of segments."""
    text = STRING_RE.sub('""', COMMENT_RE.sub("", text))
    for tree in USE_RE.findall(text):
        for path in expand_use(tree):
            yield path.replace("::", " ").split()
    for head, rest in PATH_RE.findall(USE_RE.sub("", text)):
        yield [head] + rest.split("::")[1:]


def resolve(module, segments, modules):
    """The deepest known module a path names, or None outside the crate."""
    if not segments:
        return None
    if segments[0] == "crate":
        base, rest = (), segments[1:]
    elif segments[0] == "super":
        base, rest = module, segments
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif segments[0] == "self":
        base, rest = module, segments[1:]
    else:
        return None
    target = base
    for segment in rest:
        if target + (segment,) not in modules:
            break
        target = target + (segment,)
    return target


def sibling_edges(files):
    """files: {relative path: text}. Returns the graphs per parent module
    ({parent: {module: {module}}}) and one example use per edge."""
    modules = {module_of(path) for path in files}
    graphs, examples = {}, {}
    for path in sorted(files):
        module = module_of(path)
        for segments in referenced_paths(files[path]):
            target = resolve(module, segments, modules)
            if target is None:
                continue
            common = 0
            while (
                common < min(len(module), len(target))
                and module[common] == target[common]
            ):
                common += 1
            if common == len(module) or common == len(target):
                continue  # one contains the other
            parent = module[:common]
            edge = (module[common], target[common])
            graphs.setdefault(parent, {}).setdefault(edge[0], set()).add(edge[1])
            examples.setdefault((parent, edge), (path, "::".join(segments)))
    return graphs, examples


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan),
    each sorted, in a stable order."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def report(files, root=""):
    """(modules, sibling edges, cycles), and lines describing each cycle."""
    graphs, examples = sibling_edges(files)
    lines, found = [], 0
    for parent, graph in sorted(graphs.items()):
        for component in cycles(graph):
            found += 1
            scope = "::".join(("crate",) + parent)
            lines.append(f"module cycle in {scope}: {' <-> '.join(component)}")
            for source in component:
                for target in sorted(graph[source] & set(component)):
                    path, used = examples[(parent, (source, target))]
                    lines.append(
                        f"  {source} -> {target}: {os.path.join(root, path)} uses {used}"
                    )
    edges = sum(len(targets) for graph in graphs.values() for targets in graph.values())
    modules = {module_of(path) for path in files}
    return (len(modules), edges, found), lines


def read_crate(root):
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as source:
                    files[os.path.relpath(path, root).replace(os.sep, "/")] = (
                        source.read()
                    )
    return files


def self_test():
    """Three crates: none, a 2-cycle, a longer cycle (and the traps of
    comments, strings and parent/child uses, which are no edges)."""
    no_cycle = {
        "lib.rs": "mod a;\nmod b;\npub use a::A;\n",
        "a/mod.rs": "mod inner;\nuse crate::b::B;\n// crate::b uses crate::a\n",
        "a/inner.rs": "use super::super::b;\nuse super::A;\n",
        "b.rs": 'pub struct B;\nconst S: &str = "crate::a::A";\n',
    }
    two_cycle = {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::{self, B};\n",
        "b.rs": "pub fn f() -> crate::a::A { todo!() }\n",
    }
    long_cycle = {
        "lib.rs": "mod x;\n",
        "x/mod.rs": "mod p;\nmod q;\nmod r;\nmod s;\n",
        "x/p.rs": "use super::q::Q;\n",
        "x/q.rs": "use crate::x::{r::R, s::S};\n",
        "x/r.rs": "fn f() { super::p::g() }\n",
        "x/s.rs": "use super::p;\n",
    }
    cases = [
        (no_cycle, 0, []),
        (two_cycle, 1, ["module cycle in crate: a <-> b"]),
        (long_cycle, 1, ["module cycle in crate::x: p <-> q <-> r <-> s"]),
    ]
    failures = 0
    for number, (files, want_found, want_lines) in enumerate(cases, 1):
        (_, _, found), lines = report(files)
        headers = [line for line in lines if not line.startswith(" ")]
        if found != want_found or headers != want_lines:
            failures += 1
            print(f"self-test case {number}: expected {want_lines}, got {headers}")
    print(
        f"check_module_cycles self-test: {len(cases) - failures}/{len(cases)} cases pass"
    )
    return 1 if failures else 0


def main(args):
    if args == ["--self-test"]:
        return self_test()
    if not args or any(arg.startswith("-") for arg in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    status = 0
    for root in args:
        if not os.path.isdir(root):
            print(f"{root}: not a directory", file=sys.stderr)
            return 2
        (modules, edges, found), lines = report(read_crate(root), root)
        for line in lines:
            print(line if line.startswith(" ") else f"{root}: {line}")
        print(f"{root}: {modules} modules, {edges} sibling edges, {found} cycles")
        status = status or (1 if found else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
