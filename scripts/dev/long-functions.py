#!/usr/bin/env python3
"""Lists the C++ functions longer than N lines (default 80) in the given files and
folders (default: the repository's lib/), one per line as `path:line: name N lines` in
file and line order; exits 1 when there is any, 0 otherwise.

    python3 scripts/dev/long-functions.py                # lib/, over 80 lines
    python3 scripts/dev/long-functions.py -n 40 lib/cmclip/metrics
    python3 scripts/dev/long-functions.py -n 0 FILE      # every function and its length

A heuristic, not a parser (no preprocessing, no types):
  - comments, string and character literals (raw strings too) and preprocessor lines
    (with their continuations) are blanked first, so the braces left are code's;
  - a `{` at file level, in a namespace (or extern "C") or in a class/struct/union body
    opens a function body when the text since the previous `;`, `{` or `}` at that level
    (the head) reads as a declarator: it ends, after any constructor initialiser list,
    trailing return type and qualifiers (const, noexcept, override, final, &, try), with
    a parameter list `(...)` whose name is not a keyword, and has no `=` outside
    brackets (that is a variable: a brace-initialised table, a lambda);
  - namespaces and class/struct/union bodies are scanned for functions (member functions
    are named Class::name); enums, tables and anything else are skipped whole, as are
    braces inside the head's parentheses and member initialisers `a_{...}`;
  - a function's length runs from the line of its name to the line of its closing
    brace, both included (a one-line function is 1 line).
Macros that expand to declarations, or unbalanced braces under #if, can mislead it.
"""
import argparse
import bisect
import os
import re
import sys

EXTENSIONS = (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".h", ".ipp", ".tpp", ".inc")
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype", "alignas", "alignof",
            "static_assert", "noexcept", "requires", "new", "delete", "throw"}
RAW_STRING = re.compile(r'(?:u8|[uUL])?R"([^()\\\s]{0,16})\(')
TRAILING = re.compile(r"(?:\s+|\b(?:const|volatile|override|final|try|mutable)\b|&&?|\bnoexcept\b(?:\s*\([^()]*\))?)$")


def blank(src):
    """The source with comments, literals and preprocessor lines replaced by spaces
    (newlines kept, so offsets and line numbers stay those of the file)."""
    out = list(src)
    n = len(src)
    i = 0
    line_start = True  # only blanks since the last newline

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if line_start and c == "#":
            j = i
            while j < n and src[j] != "\n":  # the directive and its continuation lines
                if src[j] == "\\" and j + 1 < n and src[j + 1] == "\n":
                    j += 2
                    continue
                if src.startswith("/*", j):  # a block comment may run past the line
                    e = src.find("*/", j + 2)
                    j = n if e < 0 else e + 2
                    continue
                j += 1
            wipe(i, j)
            i = j
            continue
        if not c.isspace():
            line_start = False
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif c == '"' or (c == "'" and not digit_separator(src, i)):
            m = RAW_STRING.match(src, raw_prefix_start(src, i)) if c == '"' else None
            if m and m.end() > i:
                e = src.find(")" + m.group(1) + '"', m.end())
                j = n if e < 0 else e + len(m.group(1)) + 2
            else:
                j = i + 1
                while j < n and src[j] != c and src[j] != "\n":
                    j += 2 if src[j] == "\\" else 1
                j = min(j + 1, n)
            wipe(i + 1, j - 1)  # keep the quotes: `extern "C"` stays recognisable
            i = j
        else:
            i += 1
    return "".join(out)


def raw_prefix_start(src, i):
    """Where a raw string's prefix (R, u8R, LR...) before the quote at i begins."""
    j = i
    while j > 0 and src[j - 1] in "u8RLU":
        j -= 1
    return j


def digit_separator(src, i):
    """A ' inside a number literal (1'000'000) rather than a character literal."""
    j = i
    while j > 0 and (src[j - 1].isalnum() or src[j - 1] in "_'."):
        j -= 1
    return j < i and src[j].isdigit()


def bracket_depths(text):
    """Yields (index, char, depth) with depth the nesting in (), [] and <> before the char."""
    depth = 0
    for k, c in enumerate(text):
        if c in "([":
            yield k, c, depth
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
            yield k, c, depth
        elif c == "<" and text[k - 1:k] != "<" and text[k + 1:k + 2] not in ("<", "="):
            yield k, c, depth
            depth += 1
        elif c == ">" and text[k - 1:k] != "-" and text[k + 1:k + 2] != "=" and depth > 0:
            depth -= 1
            yield k, c, depth
        else:
            yield k, c, depth


def paren_depth(text):
    return sum(1 if c in "([" else -1 if c in ")]" else 0 for c in text)


ACCESS = re.compile(r"^\s*(?:(?:public|private|protected)\s*:(?!:)\s*)+")
TEMPLATE = re.compile(r"^\s*template\s*<")
CLASS = re.compile(r"^\s*(?:typedef\s+)?(?:class|struct|union)\b"
                   r"(?:\s*\[\[.*?\]\]|\s*alignas\s*\([^()]*\))*\s*([A-Za-z_]\w*)?")


def strip_template(h):
    """h without a leading template<...> (nested angle brackets allowed)."""
    while TEMPLATE.match(h):
        k = h.index("<")
        depth = 0
        for j in range(k, len(h)):
            depth += {"<": 1, ">": -1}.get(h[j], 0)
            if depth == 0:
                h = h[j + 1:]
                break
        else:
            return h
    return h


def function_name(head, offset):
    """(name, offset of the name) when `head` reads as a function declarator, else None.
    `offset` is where head starts in the file."""
    m = ACCESS.match(head)
    start = m.end() if m else 0
    h = head[start:]
    cut = len(h)
    saw_params = False
    for k, c, d in bracket_depths(h):  # what follows the parameter list: initialisers, -> type
        if d:
            continue
        if c == ")":
            saw_params = True
        elif c == "=" and h[k + 1:k + 2] != "=" and h[k - 1:k] not in "!<>=":
            if not re.search(r"\boperator\s*\S*$", h[:k]):
                return None  # a variable
        elif saw_params and c == ":" and h[k + 1:k + 2] != ":" and h[k - 1:k] != ":":
            cut = k  # constructor initialiser list
            break
        elif saw_params and c == "-" and h[k + 1:k + 2] == ">":
            cut = k  # trailing return type
            break
    h = h[:cut]
    while True:
        t = TRAILING.search(h)
        if not t or t.start() == len(h):
            break
        h = h[:t.start()]
    if not h.endswith(")"):
        return None
    depth = 0
    for k in range(len(h) - 1, -1, -1):  # the parameter list's opening parenthesis
        depth += {")": 1, "(": -1}.get(h[k], 0)
        if depth == 0:
            break
    else:
        return None
    before = h[:k]
    m = re.search(r"((?:[A-Za-z_]\w*\s*::\s*)*)operator\s*(\(\s*\)|[^\s(]+)\s*$", before)
    if m:
        name = m.group(1).replace(" ", "") + "operator" + re.sub(r"\s", "", m.group(2))
        return name, offset + start + m.start()
    m = re.search(r"((?:[A-Za-z_]\w*(?:\s*<[^<>()]*>)?\s*::\s*)*(?:~\s*)?[A-Za-z_]\w*(?:\s*<[^<>()]*>)?)\s*$", before)
    if not m or m.group(1) in KEYWORDS:
        return None
    name = re.sub(r"\s", "", m.group(1))
    if re.fullmatch(r"[A-Z][A-Z0-9_]+", name):  # a macro such as BOOST_AUTO_TEST_CASE(x, ...): show x
        name += "(" + " ".join(h[k + 1:-1].split(",")[0].split()) + ")"
    return name, offset + start + m.start()


MEMBER_INIT = re.compile(r"\)\s*(?:noexcept\s*)?:(?!:)")  # a constructor's initialiser list has begun


def classify(head, offset):
    """What a `{` after `head` (at file, namespace or class level) opens: ("expr",) for a
    brace inside the head's parentheses or a member initialiser a_{...}; ("container",
    name) for a namespace, extern "C" or class body (name: the class's, else empty);
    ("function", name, offset of the name); ("skip",) for an enum, a table, a variable."""
    flat = " ".join(head.split())
    if paren_depth(head) > 0:
        return ("expr",)
    qualified = re.search(r"\b(?:const|override|final|noexcept)$", flat)
    if MEMBER_INIT.search(flat) and re.search(r"[\w>]$", flat) and not qualified:
        return ("expr",)
    if re.search(r"\bnamespace\b", flat) or re.fullmatch(r'extern\s*"[^"]*"', flat):
        return ("container", "")
    bare = strip_template(ACCESS.sub("", flat))
    cls = CLASS.match(bare)
    if cls and "(" not in re.sub(r"alignas\s*\([^()]*\)", "", bare):
        return ("container", (cls.group(1) or "(anonymous)") + "::")
    if re.match(r"\s*enum\b", bare):
        return ("skip",)
    fn = function_name(head, offset)
    return ("function",) + fn if fn else ("skip",)


def functions(path):
    """(line, name, length) of every function body found in the file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        src = blank(f.read())
    line_starts = [0] + [m.end() for m in re.finditer("\n", src)]

    def line_of(pos):
        return bisect.bisect_right(line_starts, pos)

    found = []
    # Open braces: [kind, open count] for "function" (with name and first line), "skip"
    # and "expr"; ["container", the enclosing prefix] for namespaces and classes.
    stack = []
    prefix = ""  # Class:: names of the enclosing classes
    head_start = 0
    for i, c in enumerate(src):
        if stack and stack[-1][0] != "container":  # inside a body: count braces only
            frame = stack[-1]
            frame[-1] += {"{": 1, "}": -1}.get(c, 0)
            if frame[-1] == 0:
                stack.pop()
                if frame[0] == "function":
                    found.append((frame[2], frame[1], line_of(i) - frame[2] + 1))
                if frame[0] != "expr":
                    head_start = i + 1
        elif c == ";":
            head_start = i + 1
        elif c == "}":
            if stack:
                prefix = stack.pop()[1]
            head_start = i + 1
        elif c == "{":
            what = classify(src[head_start:i], head_start)
            if what[0] == "container":
                stack.append(["container", prefix])
                prefix += what[1]
                head_start = i + 1
            elif what[0] == "function":
                stack.append(["function", prefix + what[1], line_of(what[2]), 1])
            else:
                stack.append([what[0], 1])
    return found


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(EXTENSIONS):
                        yield os.path.join(root, f)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", help="C++ files or folders (default: lib/ of this repository)")
    ap.add_argument("-n", "--max-lines", type=int, default=80, help="report functions longer than this (default 80)")
    args = ap.parse_args()
    paths = args.paths or [os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))]
    long_ones = 0
    for path in sources(paths):
        for line, name, length in functions(path):
            if length > args.max_lines:
                print(f"{path}:{line}: {name} {length} lines")
                long_ones += 1
    return 1 if long_ones else 0


if __name__ == "__main__":
    sys.exit(main())
