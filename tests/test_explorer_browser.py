"""The latent explorer in a real browser: JupyterLab serves a notebook that builds `explore()`, headless Chromium
(driven by Playwright) runs it, and the test moves the controls and watches the decoded face change.

Skips, saying why, where Playwright or Chromium is missing (`pip install -e ".[dev]"` installs Playwright;
`apt-get install -y chromium` installs Chromium; `.ci/run` does both). Set DFCVAE_CHROMIUM to use another Chromium,
and DFCVAE_SCREENSHOT to a file name to keep a screenshot of the explorer.
"""
import json, os, shutil, socket, subprocess, sys, time, urllib.request, uuid
from pathlib import Path
import pytest

pytestmark = pytest.mark.slow   # the full tier: `pytest --slow`

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']
FACE = '.widget-output img'                       # the first is the decoded face, the second the strip of the path
ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
SLOW = 240_000                                    # ms: a shared 2-core machine can take minutes to start a kernel


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


def test_explorer_in_chromium(lab):
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
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        assert page.locator('.widget-slider').count() >= 10                    # 8 attributes, temperature, a
        assert page.locator('.widget-toggle-buttons').count() == 2              # face A and face B
        assert page.locator(FACE).count() == 2                                  # the face and the path

        def changes(action, what):
            before = face.get_attribute('src')
            action()
            page.wait_for_function("([sel, old]) => { const i = document.querySelector(sel); return i && i.src !== old; }",
                                   arg=[FACE, before])
            assert face.get_attribute('src') != before, what

        smiling = page.locator('.widget-slider', has=page.locator('.widget-label', has_text='Smiling')).locator('.noUi-handle')
        def keys():
            smiling.focus()
            for _ in range(5): page.keyboard.press('ArrowRight')
        changes(keys, 'the Smiling slider moved by keyboard')

        def drag():
            box = smiling.bounding_box()
            x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
            page.mouse.move(x, y); page.mouse.down()
            for dx in range(10, 90, 10): page.mouse.move(x + dx, y)
            page.mouse.up()
        changes(drag, 'the Smiling slider dragged')

        pick = page.locator('.widget-toggle-buttons').first.locator('button').nth(2)      # face 3 as face A
        changes(pick.click, 'another face picked')
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        if os.environ.get('DFCVAE_SCREENSHOT'):
            page.locator('.jp-Cell-outputArea').last.screenshot(path=os.environ['DFCVAE_SCREENSHOT'])
        browser.close()
