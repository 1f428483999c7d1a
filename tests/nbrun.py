"""Run one notebook's cells as `nbdev_test` does, timing each cell, and when a cell fails say which and why.

What runs is nbdev's choice (nbdev.test.test_nb): code cells only; not a cell that calls `nbdev_export(`, not one
marked `#| eval: false`, not one carrying a flag of `skip_flags` that `force_flags` does not name; nothing at all when
the front matter says `skip_exec: true` or the notebook is not Python. Unlike `test_nb`, a failure comes back as a
message naming the notebook, the cell (index in the file and id), its first lines and the exception.

From the command line, `python tests/nbrun.py [--slow] [--top N] nbs/A.ipynb ...` runs the notebooks one at a time
and prints each one's total time and its slowest cells (set MPLBACKEND=Agg as the tests do).
"""
from __future__ import annotations
import os, sys, time, traceback
from dataclasses import dataclass, field
from pathlib import Path

SRC_LINES, TB_LINES = 6, 12   # how much of the failing cell's source and of the traceback a failure message shows


@dataclass
class CellTime:
    idx: int      # position of the cell in the notebook file (0-based)
    id: str       # the cell's id
    first: str    # the first line of its source that is not a `#|` directive
    secs: float
    cpu: float = 0.0  # CPU seconds of this process and its finished children (less sensitive to a busy machine)


@dataclass
class NbResult:
    path: Path
    ok: bool = True
    secs: float = 0.0
    message: str = ''                                  # why it failed ('' when it passed)
    cells: list[CellTime] = field(default_factory=list)  # every cell that ran, in order

    def slowest(self, n: int = 5) -> list[CellTime]: return sorted(self.cells, key=lambda c: -c.secs)[:n]


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _first_line(src: str) -> str:
    return next((l for l in src.splitlines() if l.strip() and not l.lstrip().startswith('#|')), '').strip()


def _skips(cell, flags: set) -> bool:
    "nbdev_test's `_no_eval`: True for a cell that does not run."
    if cell.cell_type != 'code': return True
    if 'nbdev_export' + '(' in cell.source: return True
    direc = getattr(cell, 'directives_', {}) or {}
    if direc.get('eval:', [''])[0].lower() == 'false': return True
    return bool(flags & direc.keys())


def _rel(p: Path) -> Path:
    try: return p.relative_to(Path.cwd())
    except ValueError: return p


def failure_message(path: Path, cell, exc: BaseException, shown_path: Path | None = None) -> str:
    "The notebook, the cell (index and id), its first source lines, and the exception with the end of its traceback."
    src = cell.source.splitlines()
    shown = '\n'.join('    | ' + l for l in src[:SRC_LINES]) + (f'\n    | ... ({len(src) - SRC_LINES} more lines)' if len(src) > SRC_LINES else '')
    tb = exc.__traceback__
    while tb is not None and 'IPython' in tb.tb_frame.f_code.co_filename: tb = tb.tb_next    # from the cell's own frame
    tb = ''.join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__)).rstrip().splitlines()
    if len(tb) > TB_LINES + 6: tb = tb[:5] + ['  ...'] + tb[-TB_LINES:]     # the cell's line, then the deepest frames
    msg = str(exc).strip() or '(no message)'
    return (f"{path.name}: cell {cell.idx_} (id {cell.get('id', '?')!r}) raised {type(exc).__name__}: {msg}\n"
            f"  the cell:\n{shown}\n"
            f"  the traceback:\n" + '\n'.join('    ' + l for l in tb) + '\n'
            f"  (rerun it alone: nbdev_test --path {shown_path or path}{' --flags slow' if 'slow' in getattr(cell, 'directives_', {}) else ''})")


def run_nb(path, skip_flags=(), force_flags=(), basepath=None, on_cell=None) -> NbResult:
    "Run the notebook at `path` in a fresh `CaptureShell`, as nbdev_test does; `on_cell(CellTime)` after each cell."
    from execnb.shell import CaptureShell
    from fastcore.basics import str2bool
    from fastcore.xtras import working_directory
    from nbdev.process import NBProcessor, nb_lang
    from nbdev.frontmatter import FrontmatterProc
    path = Path(path).resolve()
    shown_path = _rel(path)
    if basepath and str(basepath) not in sys.path: sys.path.insert(0, str(basepath))
    os.environ['IN_TEST'] = '1'
    flags = set(skip_flags) - set(force_flags)
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    res = NbResult(path)
    fm = getattr(nb, 'frontmatter_', {}) or {}
    if str2bool(fm.get('skip_exec', False)) or nb_lang(nb) != 'python': return res
    start = time.time()
    shell = CaptureShell(path)
    with working_directory(path.parent):
        for cell in nb.cells:
            if _skips(cell, flags): continue
            t0, c0 = time.time(), _cpu()
            shell.cell(cell)
            ct = CellTime(cell.idx_, cell.get('id', '?'), _first_line(cell.source), time.time() - t0, _cpu() - c0)
            res.cells.append(ct)
            if on_cell: on_cell(ct)
            if shell.exc is not None:
                res.ok, res.message = False, failure_message(path, cell, shell.exc, shown_path)
                break
    res.secs = time.time() - start
    return res


if __name__ == '__main__':
    import argparse
    p = argparse.ArgumentParser(description='Time notebooks cell by cell, one at a time, as the fast (or, with --slow, the full) test tier runs them.')
    p.add_argument('notebooks', nargs='+', type=Path)
    p.add_argument('--slow', action='store_true', help='run the cells flagged #| slow too')
    p.add_argument('--top', type=int, default=5, help='how many of the slowest cells to list per notebook')
    p.add_argument('--jsonl', type=Path, help='append one line per notebook (every cell timed) to this file')
    p.add_argument('--progress', action='store_true', help='print each cell as it finishes')
    a = p.parse_args()
    root = Path(__file__).resolve().parents[1]
    os.environ.setdefault('MPLBACKEND', 'Agg')
    for nb in a.notebooks:
        show = (lambda c: print(f"  .. {c.secs:7.1f}s ({c.cpu:6.1f}s cpu)  cell {c.idx} id={c.id}  {c.first[:90]}", flush=True)) if a.progress else None
        r = run_nb(nb, skip_flags=[] if a.slow else ['slow'], force_flags=['slow'] if a.slow else [], basepath=root, on_cell=show)
        print(f"{r.path.name}\t{r.secs:.1f}s wall\t{sum(c.cpu for c in r.cells):.1f}s cpu\t{'ok' if r.ok else 'FAILED'}", flush=True)
        for c in r.slowest(a.top): print(f"    {c.secs:7.1f}s ({c.cpu:6.1f}s cpu)  cell {c.idx} id={c.id}  {c.first[:90]}", flush=True)
        if not r.ok: print(r.message, flush=True)
        if a.jsonl:
            import json, dataclasses
            with open(a.jsonl, 'a') as f:
                f.write(json.dumps(dict(nb=r.path.name, secs=r.secs, ok=r.ok, cells=[dataclasses.asdict(c) for c in r.cells])) + '\n')
