#!/usr/bin/env python3
"""List module->module edges from `use crate::` / `crate::` / `super::` paths and report cycles.

Usage: scripts/module-cycles.py src [TOP_MODULE]
  without TOP_MODULE: edges between top-level modules of the crate;
  with TOP_MODULE (e.g. alert): edges between its direct sub-modules.
  SKIP_TESTS=1 leaves out test modules (tests/, tests.rs, testutil.rs).
Exits 1 when there is a cycle, listing the files behind each edge of it."""
import os, re, sys
src = sys.argv[1]; inner = sys.argv[2] if len(sys.argv) > 2 else None
edges = {}
where = {}
pat = re.compile(r'crate::((?:[a-z_][a-z0-9_]*::)*[a-z_A-Z][A-Za-z0-9_]*|\{[^}]*\})')
usebrace = re.compile(r'use\s+crate::\{([^;]*)\};', re.S)
def mod_of(path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ('mod',): rel = rel[:-1]
    return rel
skip_tests = os.environ.get('SKIP_TESTS') == '1'
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'): continue
        p = os.path.join(root, f); parts = mod_of(p)
        if skip_tests and ('tests' in parts or parts[-1] in ('tests', 'testutil')): continue
        if not parts or parts[0] in ('lib', 'main'): continue
        text = open(p).read()
        # strip comments lines
        text = '\n'.join(l for l in text.splitlines() if not l.strip().startswith('//'))
        targets = []
        for m in usebrace.finditer(text):
            for item in re.split(r',\s*(?![^{]*\})', m.group(1)):
                item = item.strip()
                if item: targets.append(item.split('::'))
        text2 = usebrace.sub('', text)
        for m in re.finditer(r'crate::([A-Za-z0-9_:]+)', text2):
            targets.append(m.group(1).split('::'))
        # super:: paths for inner check
        for t in targets:
            t = [x.strip('{} ') for x in t if x.strip('{} ')]
            if not t: continue
            if inner is None:
                a, b = parts[0], t[0]
            else:
                if parts[0] != inner or t[0] != inner or len(parts) < 2 or len(t) < 2: continue
                a, b = parts[1], t[1]
            if a != b and not b[0].isupper() and b not in ('USER_AGENT',):
                edges.setdefault(a, set()).add(b)
                where.setdefault((a, b), set()).add(os.path.relpath(p, src))
        if inner and parts[0] == inner and len(parts) >= 2:
            # super:: from a file at depth 2 refers to siblings inside inner
            depth_parent = parts[:-1] if os.path.basename(p) != 'mod.rs' else parts[:-1]
            sup = [m.group(1) for m in re.finditer(r'\bsuper::([a-z_][a-z0-9_]*)', text)]
            for m in re.finditer(r'\bsuper::\{([^}]*)\}', text):
                sup += [x.strip().split('::')[0] for x in m.group(1).split(',') if x.strip()]
            for b in sup:
                if b in ('self',) or not b or b[0].isupper(): continue
                if len(parts) == 2 and os.path.basename(p) != 'mod.rs' and b != parts[1]:
                    edges.setdefault(parts[1], set()).add(b)
for a in sorted(edges):
    print(f"{a} -> {', '.join(sorted(edges[a]))}")
# cycle detection (Tarjan SCC)
idx = {}; low = {}; stack = []; on = set(); sccs = []; c = [0]
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
nodes = set(edges) | {b for s in edges.values() for b in s}
for v in sorted(nodes):
    if v not in idx: sc(v)
if sccs:
    for s in sccs:
        print("CYCLE among:", ' '.join(s))
        for a in s:
            for b in s:
                if (a, b) in where: print(f"  {a} -> {b} in: {', '.join(sorted(where[(a, b)]))}")
    sys.exit(1)
print("no cycles")
