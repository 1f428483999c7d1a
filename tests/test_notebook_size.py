"""Lean notebooks: the committed notebooks stay small enough to clone, diff and review.

All of nbs/*.ipynb together at most 6 MB (file sizes, 1 MB = 10^6 bytes), and no output image (any image/* type,
decoded) over 500 KB (10^3 bytes). A figure that is too big: draw it smaller, or as JPEG (00_core's hidden cell makes
executions write JPEG figures).
"""
import base64, json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/'nbs').glob('*.ipynb'))
MAX_TOTAL, MAX_IMAGE = 6_000_000, 500_000


def output_images(nb: Path):
    "(cell index, cell id, mime type, decoded bytes) of every image in the notebook's outputs."
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        for o in c.get('outputs', []):
            for mime, v in o.get('data', {}).items():
                if not mime.startswith('image/'): continue
                v = ''.join(v) if isinstance(v, list) else v
                n = len(v.encode()) if mime == 'image/svg+xml' else len(base64.b64decode(v))
                yield i, c.get('id', '?'), mime, n


def test_notebooks_total_at_most_6_mb():
    sizes = {nb.name: nb.stat().st_size for nb in NBS}
    total = sum(sizes.values())
    biggest = ', '.join(f'{k} {v / 1e6:.2f} MB' for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:5])
    assert total <= MAX_TOTAL, f"nbs/*.ipynb total {total / 1e6:.2f} MB, over {MAX_TOTAL / 1e6:.0f} MB; the biggest: {biggest}"


def test_no_output_image_over_500_kb():
    big = [f"{nb.name}: cell {i} (id {cid!r}) shows a {mime} of {n / 1e3:.0f} KB"
           for nb in NBS for i, cid, mime, n in output_images(nb) if n > MAX_IMAGE]
    assert not big, f"output images over {MAX_IMAGE / 1e3:.0f} KB (draw them smaller, or as JPEG):\n" + '\n'.join(big)


def test_the_image_check_decodes_and_names_the_offender(tmp_path):
    nb = tmp_path/'big.ipynb'
    png = base64.b64encode(b'\x89PNG' + bytes(600_000)).decode()
    cells = [dict(cell_type='code', id='small', metadata={}, source='', execution_count=1,
                  outputs=[dict(output_type='display_data', metadata={}, data={'image/jpeg': base64.b64encode(b'x' * 10).decode()})]),
             dict(cell_type='code', id='huge', metadata={}, source='', execution_count=2,
                  outputs=[dict(output_type='execute_result', metadata={}, execution_count=2,
                                data={'text/plain': ['<Figure>'], 'image/png': [png[:1000] + '\n', png[1000:]]})])]
    nb.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    assert list(output_images(nb)) == [(0, 'small', 'image/jpeg', 10), (1, 'huge', 'image/png', 600_004)]
