#!/usr/bin/env python3
"""check_function_length.py [--limit N] [--exclude PATH]... SRC_DIR...
check_function_length.py --self-test

Fails when a production function under SRC_DIR is longer than N lines
(default 80), counted from the line of its `fn` to its closing brace.
Prints each one as `path:line name lines`, longest first, then a summary
line; exit status 1 if there is any.

Not production, so not measured: items under `#[cfg(test)]` (a test
module, a test-only function or impl), `#[test]` and `#[tokio::test]`
functions, files of `#[cfg(test)] mod x;` declarations, files under a
directory named `tests`, and every file under each --exclude PATH (a file
or a directory).

The reading is lexical, nothing is compiled: comments (nested too),
strings, raw strings, byte strings and char literals are skipped, so a
brace inside them does not count; a lifetime is not a char literal.
"""

import os
import re
import sys

DEFAULT_LIMIT = 80
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RAW_STRING_RE = re.compile(r'(?:b|c)?r(#*)"')


def tokens(text):
    """(text, line) of each identifier and punctuation character, leaving
    out whitespace, comments and literals (a string is the token '""')."""
    out, i, line, n = [], 0, 1, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += text[i] == "\n"
                    i += 1
        elif (raw := RAW_STRING_RE.match(text, i)) and _starts_token(text, i):
            close = '"' + raw.group(1)
            end = text.find(close, raw.end())
            end = n if end < 0 else end + len(close)
            out.append(('""', line))
            line += text.count("\n", i, end)
            i = end
        elif char == '"' or (
            text.startswith(('b"', 'c"'), i) and _starts_token(text, i)
        ):
            start = i
            i = text.index('"', i) + 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append(('""', line))
            line += text.count("\n", start, i)
            i += 1
        elif char == "'" or (text.startswith("b'", i) and _starts_token(text, i)):
            quote = text.index("'", i)
            end = _char_literal_end(text, quote)
            if end is None:  # a lifetime or a loop label
                out.append(("'", line))
                i = quote + 1
            else:
                out.append(("''", line))
                i = end
        elif ident := IDENT_RE.match(text, i):
            out.append((ident.group(), line))
            i = ident.end()
        else:
            out.append((char, line))
            i += 1
    return out


def _starts_token(text, i):
    """Whether a literal prefix at i is not the tail of an identifier
    (`br"…"` is a raw byte string, `foobr"` is not)."""
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")


def _char_literal_end(text, quote):
    """The index after a char literal opening at `quote`, or None when the
    quote starts a lifetime: `'a'` and `'\\n'` are chars, `'a` is not."""
    if text.startswith("\\", quote + 1):
        end = text.find("'", quote + 2)
        if text.startswith("'", quote + 2):  # '\''
            end = text.find("'", quote + 3)
        return None if end < 0 else end + 1
    if quote + 2 < len(text) and text[quote + 2] == "'" and text[quote + 1] != "\n":
        return quote + 3
    return None


def is_test_attribute(attribute):
    """`cfg(test)`, `cfg(all(test, …))`, `test`, `tokio::test(…)`."""
    compact = "".join(attribute.split())
    return compact in ("test", "cfg(test)") or compact.startswith(
        ("cfg(all(test,", "tokio::test", "test(")
    )


def scan(text):
    """(functions, test modules declared out of line) of one file: each
    production function as (name, first line, lines)."""
    toks = tokens(text)
    functions, test_modules = [], []
    # One entry per open brace: True when inside test-only code.
    regions = []
    attributes = []  # of the item being read, outer ones
    fn_pending = None  # (name, line, test) until its body opens
    depth_in_signature = 0
    i = 0
    while i < len(toks):
        tok, line = toks[i]
        in_test = bool(regions) and regions[-1][0]
        if tok == "#" and i + 1 < len(toks):
            inner = toks[i + 1][0] == "!"
            start = i + 2 if inner else i + 1
            if start < len(toks) and toks[start][0] == "[":
                end = _matching(toks, start, "[", "]")
                attribute = " ".join(t for t, _ in toks[start + 1 : end])
                if inner:
                    if is_test_attribute(attribute) and not regions:
                        return [], []  # #![cfg(test)]: the whole file
                else:
                    attributes.append(attribute)
                i = end + 1
                continue
        test_item = in_test or any(is_test_attribute(a) for a in attributes)
        if tok == "fn" and fn_pending is None and i + 1 < len(toks):
            name = toks[i + 1][0]
            if IDENT_RE.fullmatch(name):
                fn_pending = (name, line, test_item)
                depth_in_signature = 0
                attributes = []
                i += 2
                continue
        if test_item and tok == "mod" and i + 2 < len(toks) and toks[i + 2][0] == ";":
            test_modules.append(toks[i + 1][0])
        if fn_pending is not None and tok in "([":
            depth_in_signature += 1
        elif fn_pending is not None and tok in ")]":
            depth_in_signature -= 1
        elif tok == "{":
            if fn_pending is not None and depth_in_signature == 0:
                name, first, fn_test = fn_pending
                regions.append((in_test or fn_test, (name, first)))
                fn_pending = None
            else:
                regions.append((test_item, None))
            attributes = []
        elif tok == "}":
            if regions:
                test, function = regions.pop()
                if function is not None and not test:
                    name, first = function
                    functions.append((name, first, line - first + 1))
            attributes = []
        elif tok == ";":
            if fn_pending is not None and depth_in_signature == 0:
                fn_pending = None  # a declaration without a body
            attributes = []
        i += 1
    return functions, test_modules


def _matching(toks, start, opening, closing):
    depth = 0
    for index in range(start, len(toks)):
        if toks[index][0] == opening:
            depth += 1
        elif toks[index][0] == closing:
            depth -= 1
            if depth == 0:
                return index
    return len(toks) - 1


def child_dir(path):
    """Where the files of a module's children live."""
    folder, name = os.path.split(path)
    stem = name[: -len(".rs")]
    return folder if stem in ("lib", "main", "mod") else os.path.join(folder, stem)


def measure(roots, excludes):
    """Every production function under roots: (path, line, name, lines)."""
    excluded = {os.path.normpath(path) for path in excludes}
    paths = []  # (root, path): parents before their children's folders
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            paths += [
                (root, os.path.join(folder, n))
                for n in sorted(names)
                if n.endswith(".rs")
            ]

    def skipped(root, path):
        if "tests" in os.path.relpath(path, root).split(os.sep)[:-1]:
            return True
        parts = os.path.normpath(path).split(os.sep)
        return any(os.sep.join(parts[:k]) in excluded for k in range(1, len(parts) + 1))

    found = []
    for root, path in paths:
        if skipped(root, path):
            continue
        with open(path, encoding="utf-8") as source:
            functions, test_modules = scan(source.read())
        for module in test_modules:
            base = os.path.join(child_dir(path), module)
            excluded.update({os.path.normpath(base + ".rs"), os.path.normpath(base)})
        found += [(path, line, name, lines) for name, line, lines in functions]
    return found


SELF_TEST = r"""
fn short() {
    let s = "}}}"; // }
}

/* a } /* nested } */ still a comment { */
pub(crate) async fn braces_in_literals<'a>(x: &'a str) -> usize
where
    'a: 'static,
{
    let raw = r#"a " } quote"#;
    let byte = b'{';
    let chars = ['{', '}', '\'', '\u{7d}'];
    'outer: loop {
        break 'outer;
    }
    let f: fn(u8) -> u8 = |b| b;
    x.len() + raw.len() + byte as usize + chars.len() + f(0) as usize
}

trait T {
    fn declared(&self) -> [u8; 2];
    fn defaulted(&self) {}
}

#[cfg(test)]
fn test_helper() {
}

#[cfg(test)]
mod tests {
    fn inside_tests() {
    }
}

#[cfg(test)]
mod more_tests;

impl Foo {
    #[tokio::test]
    async fn a_test() {
    }
    fn method(&self) -> Vec<u8> { vec![] }
}
"""
SELF_TEST_EXPECTED = [
    ("short", 2, 3),
    ("braces_in_literals", 7, 13),
    ("defaulted", 23, 1),
    ("method", 43, 1),
]


def self_test():
    functions, test_modules = scan(SELF_TEST)
    ok = functions == SELF_TEST_EXPECTED and test_modules == ["more_tests"]
    if not ok:
        print(f"expected {SELF_TEST_EXPECTED} and ['more_tests']")
        print(f"got      {functions} and {test_modules}")
    print(f"check_function_length self-test: {'pass' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(args):
    if args == ["--self-test"]:
        return self_test()
    limit, excludes, roots = DEFAULT_LIMIT, [], []
    while args:
        arg, args = args[0], args[1:]
        if arg in ("--limit", "--exclude") and args:
            value, args = args[0], args[1:]
            if arg == "--exclude":
                excludes.append(value)
            elif value.isdigit():
                limit = int(value)
            else:
                roots = []
                break
        elif arg.startswith("-"):
            roots = []
            break
        else:
            roots.append(arg)
    if not roots or not all(os.path.isdir(root) for root in roots):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    found = measure(roots, excludes)
    over = sorted((f for f in found if f[3] > limit), key=lambda f: (-f[3], f[0], f[1]))
    for path, line, name, lines in over:
        print(f"{path}:{line} {name} {lines}")
    longest = max((f[3] for f in found), default=0)
    print(
        f"{' '.join(roots)}: {len(found)} production functions, the longest {longest} lines, "
        f"{len(over)} over {limit}"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
