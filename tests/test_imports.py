"""The import graph of dfcvae/, read with `ast`: no cycle, and nothing imports upward.

A module's layer is the sort position (in nbs/) of the notebook whose `#| default_exp NAME` exports it; a module may
import only modules of earlier notebooks, at module level or inside a function or class alike. Every form counts:
`import dfcvae.x`, `from dfcvae import x`, `from dfcvae.x import y`, `from . import x`, `from .x import y`, and
`importlib.import_module` with a constant name. `dfcvae/__init__.py`, `dfcvae/_modidx.py` and code under
`if __name__ == '__main__':` (the train module's `python -m` guard imports itself) are left out.
"""
from __future__ import annotations
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORED = {'__init__', '_modidx'}
DEFAULT_EXP = re.compile(r'^\s*#\s*\|\s*default_exp\s+(\S+)', re.M)


def modules(pkg_dir: Path, pkg: str) -> dict[str, Path]:
    "Dotted module name -> file, for every .py under `pkg_dir` (a sub-package's __init__ is the sub-package)."
    out = {}
    for f in sorted(pkg_dir.rglob('*.py')):
        parts = list(f.relative_to(pkg_dir).with_suffix('').parts)
        if parts[-1] == '__init__': parts = parts[:-1]
        out['.'.join([pkg, *parts])] = f
    return out


def _is_main_guard(node) -> bool:
    "`if __name__ == '__main__':` (either way round, possibly `and` more conditions)."
    if not isinstance(node, ast.If): return False
    tests = node.test.values if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And) else [node.test]
    def main(t):
        if not (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)): return False
        sides = [t.left, t.comparators[0]]
        return (any(isinstance(s, ast.Name) and s.id == '__name__' for s in sides)
                and any(isinstance(s, ast.Constant) and s.value == '__main__' for s in sides))
    return any(main(t) for t in tests)


def _walk(node):
    "Every node below `node`, not entering `if __name__ == '__main__':` blocks."
    for child in ast.iter_child_nodes(node):
        if _is_main_guard(child):
            for n in child.orelse: yield n; yield from _walk(n)
            continue
        yield child
        yield from _walk(child)


def _absolute(name: str | None, level: int, current: str, is_pkg: bool) -> str:
    "The absolute module a (possibly relative) `from` import names."
    if not level: return name or ''
    base = current.split('.') if is_pkg else current.split('.')[:-1]
    base = base[:len(base) - (level - 1)]
    return '.'.join(base + ([name] if name else []))


def imports_of(mod: str, path: Path, known: set[str], pkg: str) -> list[tuple[str, int]]:
    "The modules of the package that `mod` (its source at `path`) imports: (module, line), in order of appearance."
    tree, is_pkg = ast.parse(path.read_text(), filename=str(path)), path.name == '__init__.py'
    found = []
    def add(name: str, line: int):
        # importing a.b.c runs a, a.b and a.b.c: each known module on the way counts, but not the packages that hold
        # `mod` itself (loaded before it anyway; the top package's __init__ is not in `known`)
        parts = name.split('.')
        for i in range(2, len(parts) + 1):
            m = '.'.join(parts[:i])
            if m in known and not mod.startswith(m + '.'): found.append((m, line))
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split('.')[0] == pkg: add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, mod, is_pkg)
            if base.split('.')[0] != pkg: continue
            add(base, node.lineno)
            for a in node.names:                                   # `from . import x`: x may be a module
                if f'{base}.{a.name}' in known: add(f'{base}.{a.name}', node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ''
            if fname not in ('import_module', '__import__'): continue
            name = node.args[0].value
            if fname == 'import_module' and name.startswith('.'):
                anchor = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else ''
                level = len(name) - len(name.lstrip('.'))
                name = _absolute(name.lstrip('.') or None, level, anchor, True)
            if name.split('.')[0] == pkg: add(name, node.lineno)
    return found


def import_graph(pkg_dir: Path, pkg: str | None = None) -> dict[str, list[tuple[str, int]]]:
    "Module -> [(imported module, line)], over the package at `pkg_dir`, leaving out its __init__ and _modidx."
    pkg = pkg or pkg_dir.name
    mods = {m: f for m, f in modules(pkg_dir, pkg).items() if m != pkg and m.split('.')[-1] not in IGNORED}
    return {m: [(t, l) for t, l in imports_of(m, f, set(mods), pkg)] for m, f in mods.items()}


def cycles(graph: dict) -> list[list[str]]:
    "One cycle (as a closed path a -> ... -> a) for each strongly connected component that has one."
    index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]
    def strong(v):                                                 # Tarjan's algorithm
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w, _ in graph.get(v, []):
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            comps.append(set(comp))
    for v in sorted(graph):
        if v not in index: strong(v)
    out = []
    for comp in comps:
        start = min(comp)
        if len(comp) == 1 and start not in {t for t, _ in graph.get(start, [])}: continue
        # the shortest way back to `start` inside the component (breadth first)
        prev, todo = {start: None}, [start]
        while todo:
            v = todo.pop(0)
            nxt = [t for t, _ in graph.get(v, []) if t in comp]
            if start in nxt: break
            for t in nxt:
                if t not in prev: prev[t] = v; todo.append(t)
        path = [v]
        while prev[path[-1]] is not None: path.append(prev[path[-1]])
        out.append(path[::-1] + [start])
    return out


def describe_cycle(graph: dict, path: list[str]) -> str:
    "a -> b -> a, with the line of each import."
    hops = [f"{a} (line {min(l for t, l in graph[a] if t == b)}) -> {b}" for a, b in zip(path, path[1:])]
    return 'import cycle: ' + path[0] + ''.join(' -> ' + b for b in path[1:]) + '   [' + '; '.join(hops) + ']'


def layers(nbs_dir: Path, pkg: str) -> dict[str, tuple[int, str]]:
    "Module -> (sort position of the notebook that exports it, the notebook's name), from each `#| default_exp`."
    out = {}
    for i, nb in enumerate(sorted(nbs_dir.glob('*.ipynb'))):
        for c in json.loads(nb.read_text())['cells']:
            if c['cell_type'] != 'code': continue
            m = DEFAULT_EXP.search(c['source'] if isinstance(c['source'], str) else ''.join(c['source']))
            if m: out[f'{pkg}.{m.group(1)}'] = (i, nb.name); break
    return out


def upward(graph: dict, layer: dict) -> list[str]:
    "One line for each import of a module whose notebook is not earlier, and for each module without a notebook."
    bad = [f"{m}: no notebook in nbs/ exports it (`#| default_exp {m.split('.', 1)[1]}`), so it has no place in the order"
           for m in sorted(graph) if m not in layer]
    for m in sorted(graph):
        if m not in layer: continue
        for t, line in graph[m]:
            if t == m or t not in layer: continue                      # a self-import is a cycle, reported as one
            if layer[t][0] >= layer[m][0]:
                bad.append(f"{m} (from {layer[m][1]}) imports {t} (from {layer[t][1]}, not an earlier notebook) at line {line}")
    return bad


def test_no_import_cycle():
    g = import_graph(ROOT/'dfcvae')
    found = cycles(g)
    assert not found, '\n'.join(describe_cycle(g, c) for c in found)


def test_no_upward_import():
    bad = upward(import_graph(ROOT/'dfcvae'), layers(ROOT/'nbs', 'dfcvae'))
    assert not bad, 'a module imports upward (a module may import only modules of earlier notebooks):\n' + '\n'.join(bad)


def _fake(tmp_path: Path, files: dict[str, str], nbs: dict[str, str]):
    "A package `fakepkg` with these modules and an nbs/ folder with these notebooks (name -> default_exp)."
    pkg = tmp_path/'fakepkg'
    for name, src in {'__init__': 'from .top import *\n', '_modidx': 'd = {}\n', **files}.items():
        (pkg/f'{name.replace(".", "/")}.py').parent.mkdir(parents=True, exist_ok=True)
        (pkg/f'{name.replace(".", "/")}.py').write_text(src)
    (tmp_path/'nbs').mkdir()
    for nb, exp in nbs.items():
        cells = [dict(cell_type='code', id='a', metadata={}, outputs=[], execution_count=None, source=f'#| default_exp {exp}')]
        (tmp_path/'nbs'/nb).write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    return pkg


def test_the_checker_catches_a_planted_cycle_and_upward_import(tmp_path):
    pkg = _fake(tmp_path, {
        'core': 'import os\nfrom pathlib import Path\n',
        'model': 'from .core import Path\n',
        'train': 'import fakepkg.model\ndef f():\n    from . import evaluate\n    return evaluate\n'
                 "if __name__ == '__main__' and True:\n    from fakepkg.train import f\n",   # the guard's self-import: left out
        'evaluate': 'from fakepkg.train import f\n',                                   # a cycle, and upward
        'top': 'class A:\n    def m(self):\n        from .core import os\n',            # fine: core is earlier
        'sub.__init__': '', 'sub.inner': 'from ..top import A\n', 'sub.low': 'from ..core import os\nfrom . import inner\n',
        'late': 'import importlib\ndef g(): return importlib.import_module("fakepkg.top")\n'},
        {'00_core.ipynb': 'core', '01_model.ipynb': 'model', '02_evaluate.ipynb': 'evaluate', '03_train.ipynb': 'train',
         '04_top.ipynb': 'top', '05_sub.ipynb': 'sub', '05a_inner.ipynb': 'sub.inner', '00b_low.ipynb': 'sub.low',
         '00a_late.ipynb': 'late'})
    g = import_graph(pkg)
    assert sorted(g) == ['fakepkg.core', 'fakepkg.evaluate', 'fakepkg.late', 'fakepkg.model', 'fakepkg.sub',
                         'fakepkg.sub.inner', 'fakepkg.sub.low', 'fakepkg.top', 'fakepkg.train']
    assert ('fakepkg.evaluate', 3) in g['fakepkg.train'] and ('fakepkg.model', 1) in g['fakepkg.train']
    assert 'fakepkg.train' not in [t for t, _ in g['fakepkg.train']]
    assert g['fakepkg.sub.inner'] == [('fakepkg.top', 1)] and g['fakepkg.sub.low'] == [('fakepkg.core', 1), ('fakepkg.sub.inner', 2)]
    found = cycles(g)
    assert found == [['fakepkg.evaluate', 'fakepkg.train', 'fakepkg.evaluate']], found
    assert describe_cycle(g, found[0]) == ('import cycle: fakepkg.evaluate -> fakepkg.train -> fakepkg.evaluate   '
                                           '[fakepkg.evaluate (line 1) -> fakepkg.train; fakepkg.train (line 3) -> fakepkg.evaluate]')
    bad = upward(g, layers(tmp_path/'nbs', 'fakepkg'))
    assert bad == ['fakepkg.evaluate (from 02_evaluate.ipynb) imports fakepkg.train (from 03_train.ipynb, not an earlier notebook) at line 1',
                   'fakepkg.late (from 00a_late.ipynb) imports fakepkg.top (from 04_top.ipynb, not an earlier notebook) at line 2',
                   'fakepkg.sub.low (from 00b_low.ipynb) imports fakepkg.sub.inner (from 05a_inner.ipynb, not an earlier notebook) at line 2'], bad


def test_a_module_without_a_notebook_is_named(tmp_path):
    pkg = _fake(tmp_path, {'core': '', 'stray': 'from .core import *\n'}, {'00_core.ipynb': 'core'})
    g = import_graph(pkg)
    assert not cycles(g)
    assert upward(g, layers(tmp_path/'nbs', 'fakepkg')) == [
        'fakepkg.stray: no notebook in nbs/ exports it (`#| default_exp stray`), so it has no place in the order']
