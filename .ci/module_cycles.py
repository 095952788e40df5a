#!/usr/bin/env python3
"""No module imports a module that imports it back (issue 15), in each crate root given (src, phases/src).

A module is a file (`a/b.rs` or `a/b/mod.rs` is `a::b`); test code (tests.rs, tests_*.rs, everything after a
file's first `#[cfg(test)]`) and comments are left out. An edge A -> B is a path in A that names B: `crate::…`,
`super::…`, `self::…`, or a bare `child::…` path starting at one of A's own child modules (the deepest module the
path reaches counts). A parent and its own descendants may name each other (a mod.rs owns the type its children
use and calls into them); any other cycle, of any length, is printed and fails the check.
"""
import os
import re
import sys

PATH = re.compile(r'\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)(?:::\{([^;]*?)\})?')
BARE = re.compile(r'(?<![A-Za-z0-9_:])([a-z_][a-z0-9_]*)::([A-Za-z_][A-Za-z0-9_]*)')


def modules(root):
    mods = {}
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith('.rs') or f == 'tests.rs' or f.startswith('tests_'):
                continue
            parts = os.path.relpath(os.path.join(d, f), root)[:-3].split(os.sep)
            if parts[-1] in ('mod', 'lib', 'main'):
                parts = parts[:-1]
            mods[tuple(parts)] = os.path.join(d, f)
    return mods


def named_paths(mod, text):
    for m in PATH.finditer(text):
        cur = [] if m.group(1).startswith('crate') else list(mod)
        parts = m.group(1).split('::')
        for p in parts:
            if p == 'super':
                cur = cur[:-1]
            elif p not in ('crate', 'self'):
                cur.append(p)
        yield cur
        for item in (m.group(2) or '').split(','):
            item = item.split(' as ')[0].strip(' \n{}')
            if item:
                yield cur + item.split('::')
    for m in BARE.finditer(text):
        yield list(mod) + [m.group(1), m.group(2)]


def edges(root):
    mods = modules(root)
    out = {m: set() for m in mods}
    for mod, file in mods.items():
        text = open(file, encoding='utf-8').read().split('#[cfg(test)]')[0]
        text = re.sub(r'//[^\n]*', '', text)
        for path in named_paths(mod, text):
            target = next((tuple(path[:n]) for n in range(len(path), 0, -1) if tuple(path[:n]) in mods), None)
            if target is None or target[:len(mod)] == mod or mod[:len(target)] == target:
                continue  # not a module of this crate, or the module itself, an ancestor or a descendant
            out[mod].add(target)
    return out


def cycles(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on.discard(comp[-1])
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


failed = False
for root in sys.argv[1:]:
    graph = edges(root)
    for comp in cycles(graph):
        failed = True
        print(f'{root}: these modules import each other:', file=sys.stderr)
        for a in sorted(comp):
            for b in sorted(graph[a] & set(comp)):
                print(f'  {"::".join(a)} -> {"::".join(b)}', file=sys.stderr)
sys.exit(1 if failed else 0)
