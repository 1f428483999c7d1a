"""The latent explorer in a real browser: JupyterLab serves a notebook that builds `explore()`, headless Chromium
(driven by Playwright) runs it, and the test moves the sliders, clicks faces, switches the model and saves, and watches
the decoded face change, the picked faces get their marks, the files appear, and no control's label gets cut off.

Skips, saying why, where Playwright or Chromium is missing (`pip install -e ".[dev]"` installs Playwright;
`apt-get install -y chromium` installs Chromium; `.ci/run` does both). Set DFCVAE_CHROMIUM to use another Chromium,
and DFCVAE_SCREENSHOT to a file name to keep a screenshot of the explorer (in 256 colours, as nbs/explorer.png is).
"""
import json, os, re, shutil, socket, subprocess, sys, time, urllib.request, uuid
from pathlib import Path
import pytest

pytestmark = pytest.mark.slow   # the full tier: `pytest --slow`

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']
FACE = '.widget-output img'                       # the first is the decoded face, the second the strip of the path
ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
SLOW = 240_000                                    # ms: a shared 2-core machine can take minutes to start a kernel
QUICK = 60_000                                    # ms: then an update takes well under a second; a control that does nothing fails sooner
TILE = '.dfcvae-face'                             # a clickable face: its picture in `.dfcvae-face-pic`, a caption below
A_RGB, B_RGB, NONE_RGB = 'rgb(214, 39, 40)', 'rgb(31, 119, 180)', 'rgba(0, 0, 0, 0)'   # face A's border, B's, the others'

CUT_OFF = """() => {
  const shown = e => e.offsetParent !== null, out = [];
  const clipped = e => {                          // the nearest ancestor that hides what overflows it, if e sticks out of it
    const r = e.getBoundingClientRect();
    for (let a = e.parentElement; a && !a.classList.contains('jp-OutputArea'); a = a.parentElement) {
      if (getComputedStyle(a).overflowX === 'visible') continue;
      const q = a.getBoundingClientRect();
      if (r.left < q.left - 1 || r.right > q.right + 1) return a;
    }
    return null;
  };
  for (const e of document.querySelectorAll('.jp-OutputArea .widget-label, .jp-OutputArea .widget-readout, .jp-OutputArea button')) {
    if (!shown(e) || !e.textContent.trim()) continue;
    if (e.scrollWidth > e.clientWidth) out.push(`'${e.textContent.trim()}' needs ${e.scrollWidth} px, has ${e.clientWidth}`);
    else if (clipped(e)) out.push(`'${e.textContent.trim()}' sticks out of a ${clipped(e).className}`);
  }
  const ctx = document.createElement('canvas').getContext('2d');
  for (const s of document.querySelectorAll('.jp-OutputArea select')) {
    if (!shown(s)) continue;
    const st = getComputedStyle(s); ctx.font = `${st.fontStyle} ${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
    for (const o of s.options) {
      const need = ctx.measureText(o.text).width + parseFloat(st.paddingLeft) + parseFloat(st.paddingRight);
      if (need > s.clientWidth) out.push(`option '${o.text}' needs ${Math.ceil(need)} px, has ${s.clientWidth}`);
    }
  }
  return out;
}"""                                               # every label, readout, button and dropdown option whose text does not fit


def chromium():
    for c in (os.environ.get('DFCVAE_CHROMIUM'), '/usr/lib/chromium/chromium', shutil.which('chromium'),
              shutil.which('chromium-browser'), shutil.which('google-chrome')):
        if c and Path(c).exists(): return c
    return None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on a free port, serving a notebook that builds the explorer; yields (url, token)."
    pytest.importorskip('playwright.sync_api', reason='Playwright is not installed (pip install -e ".[dev]")')
    pytest.importorskip('jupyterlab', reason='JupyterLab is not installed (pip install ".[explorer]")')
    if chromium() is None: pytest.skip('Chromium is not installed (apt-get install -y chromium, or set DFCVAE_CHROMIUM)')
    settings = tmp_path/'settings'
    for plugin, value in (('notebook-extension/tracker', {'windowingMode': 'none'}),    # every cell in the DOM
                          ('docmanager-extension/plugin', {'autosave': False}),
                          ('apputils-extension/notification', {'fetchNews': 'false', 'checkForUpdates': False})):
        f = settings/'@jupyterlab'/f'{plugin}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(value))
    cells = ["from dfcvae.explorer import explore", "ex = explore()\nex"]
    nb = dict(cells=[dict(cell_type='code', id=f'c{i}', metadata={}, source=s, outputs=[], execution_count=None)
                     for i, s in enumerate(cells)],
              metadata=dict(kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python')),
              nbformat=4, nbformat_minor=5)
    (tmp_path/'explorer.ipynb').write_text(json.dumps(nb))
    token, port = uuid.uuid4().hex, free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'),
               MPLBACKEND='Agg', OMP_NUM_THREADS='1')
    log = open(tmp_path/'lab.log', 'w')
    server = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', f'--port={port}',
                               '--ServerApp.ip=127.0.0.1', f'--ServerApp.token={token}', f'--ServerApp.root_dir={tmp_path}'],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(240):
            if server.poll() is not None: pytest.fail(f"JupyterLab exited: {(tmp_path/'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail("JupyterLab did not answer within 2 minutes")
        yield url, token
    finally:
        server.terminate()
        try: server.wait(20)
        except subprocess.TimeoutExpired: server.kill()
        log.close()


def test_explorer_in_chromium(lab, tmp_path):
    sync_api = pytest.importorskip('playwright.sync_api', reason='Playwright is not installed (pip install -e ".[dev]")')
    exe = chromium()
    if exe is None: pytest.skip('Chromium is not installed (apt-get install -y chromium, or set DFCVAE_CHROMIUM)')
    url, token = lab
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=dict(width=1400, height=1100))
        page.set_default_timeout(SLOW)
        page.goto(f'{url}/lab/tree/explorer.ipynb?token={token}')
        page.get_by_text('Python 3 (ipykernel) | Idle').wait_for()
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()

        face = page.locator(FACE).first
        face.wait_for()
        page.get_by_text('Python 3 (ipykernel) | Idle').wait_for()
        def no_errors(): assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        no_errors()
        page.set_default_timeout(QUICK)
        assert page.locator('.widget-slider').count() >= 10                    # 8 attributes, temperature, a
        assert page.locator(FACE).count() == 2                                  # the face and the path
        tiles = page.locator(TILE)
        assert tiles.count() == 13                                              # 12 held-out faces and 'prior'
        assert page.evaluate(CUT_OFF) == []
        def whole():
            "Each picture (the face, the path strip) whole inside the cell's output where it shows: none cut at an edge (nor in the screenshot)."
            area, panel = page.locator('.jp-Cell-outputArea').last.bounding_box(), page.locator('.jp-Notebook').first.bounding_box()
            right = min(area['x'] + area['width'], panel['x'] + panel['width'])
            for n, what in ((0, 'the face'), (1, 'the path strip')):
                box = page.locator(FACE).nth(n).bounding_box()
                assert area['x'] - 1 <= box['x'] and box['x'] + box['width'] <= right + 1, (what, box, area, panel)
        whole()

        def changes(action, what, n=0):
            "Do `action`, then wait until picture `n` (0: the face, 1: the path) is another."
            before = page.locator(FACE).nth(n).get_attribute('src')
            action()
            page.wait_for_function("([sel, n, old]) => { const i = document.querySelectorAll(sel)[n]; return i && i.src !== old; }",
                                   arg=[FACE, n, before])
            assert page.locator(FACE).nth(n).get_attribute('src') != before, what

        def slider(label): return page.locator('.widget-slider', has=page.locator('.widget-label', has_text=re.compile(f'^{label}$')))
        smiling = slider('Smiling').locator('.noUi-handle')
        def keys(handle, n=5):
            def press():
                handle.focus()
                for _ in range(n): page.keyboard.press('ArrowRight')
            return press
        changes(keys(smiling), 'the Smiling slider moved by keyboard')

        def drag():
            box = smiling.bounding_box()
            x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
            page.mouse.move(x, y); page.mouse.down()
            for dx in range(10, 90, 10): page.mouse.move(x + dx, y)
            page.mouse.up()
        changes(drag, 'the Smiling slider dragged')
        weight = slider('Smiling').locator('.widget-readout').inner_text()
        assert float(weight) > 0

        # faces A and B: a click on a tile, as the toggle says; the tile is marked
        def border(i): return tiles.nth(i).locator('.dfcvae-face-pic').evaluate('e => getComputedStyle(e).borderTopColor')
        def caption(i): return tiles.nth(i).locator('.widget-html').inner_text()
        assert (border(0), border(1), border(2)) == (A_RGB, B_RGB, NONE_RGB)
        note = page.locator('.widget-html', has_text='a click on a face makes it')
        assert 'face A (red border)' in note.inner_text()
        changes(tiles.nth(2).click, 'face 3 clicked as face A')
        page.wait_for_function("([sel, rgb]) => getComputedStyle(document.querySelectorAll(sel)[2]).borderTopColor === rgb",
                               arg=[f'{TILE} .dfcvae-face-pic', A_RGB])
        assert (border(0), border(1), border(2)) == (NONE_RGB, B_RGB, A_RGB)
        assert caption(2).split() == ['3', 'A'] and caption(0).split() == ['1']
        page.locator('.widget-toggle-button', has_text='face B').click()
        note.filter(has_text='face B (blue border)').wait_for()
        changes(tiles.nth(4).click, 'face 5 clicked as face B: the path ends there', n=1)
        page.wait_for_function("([sel, rgb]) => getComputedStyle(document.querySelectorAll(sel)[4]).borderTopColor === rgb",
                               arg=[f'{TILE} .dfcvae-face-pic', B_RGB])
        assert (border(1), border(2), border(4)) == (NONE_RGB, A_RGB, B_RGB) and caption(4).split() == ['5', 'B']
        assert slider('Smiling').locator('.widget-readout').inner_text() == weight      # the sliders keep their values
        changes(keys(slider('a \\(A to B\\)').locator('.noUi-handle'), 8), 'a moved towards B')
        no_errors()

        # the model selector: another model draws another face and shows its own faces
        model = page.locator('.widget-dropdown', has=page.locator('.widget-label', has_text=re.compile('^model$'))).locator('select')
        assert model.locator('option').all_inner_texts() == ['dfcvae-123', 'dfcvae-345', 'pvae']
        thumb = tiles.nth(0).locator('img').get_attribute('src')
        changes(lambda: model.select_option('pvae'), 'switched to pvae')
        page.wait_for_function("([sel, old]) => document.querySelector(sel).src !== old", arg=[f'{TILE} img', thumb])
        assert slider('Smiling').locator('.widget-readout').inner_text() == weight
        changes(lambda: model.select_option('dfcvae-123'), 'switched back to dfcvae-123')
        assert (border(2), border(4)) == (A_RGB, B_RGB)                          # the picks stay
        no_errors()
        whole()                                                                 # after the moves and the switches, as the screenshot shows it

        if os.environ.get('DFCVAE_SCREENSHOT'):
            from PIL import Image
            shot = os.environ['DFCVAE_SCREENSHOT']
            page.mouse.move(0, 0)
            page.locator('.jp-Cell-outputArea').last.screenshot(path=shot)
            Image.open(shot).convert('RGB').quantize(256).save(shot, optimize=True)     # 256 colours: a third of the bytes

        # save: two PNGs per press, under new names, in the kernel's folder (the notebook's), named in the label
        save = page.locator('.widget-button', has_text='save PNGs')
        for n in (1, 2):
            save.click()
            saved = page.locator('.widget-html', has_text=f'dfcvae-123-00{n}-face.png')
            saved.wait_for()
            for f in (f'dfcvae-123-00{n}-face.png', f'dfcvae-123-00{n}-path.png'):
                assert (tmp_path/f).stat().st_size > 1000 and f in saved.inner_text(), (f, saved.inner_text())
            assert str(tmp_path.resolve()) in saved.inner_text()
        assert (tmp_path/'dfcvae-123-001-face.png').read_bytes() == (tmp_path/'dfcvae-123-002-face.png').read_bytes()
        assert page.evaluate(CUT_OFF) == []                                     # after the switches and saves too
        no_errors()
        browser.close()
