"""Two tiers. Plain `pytest` runs the fast tier: every test not marked `slow`, and every notebook cell not flagged
`#| slow`. `pytest --slow` (or DFCVAE_TEST_FLAGS=slow pytest) runs everything: the slow tests and the slow cells."""
import os
import pytest

SLOW_HOW = 'slow: run with `pytest --slow` (or DFCVAE_TEST_FLAGS=slow pytest)'


def pytest_addoption(parser):
    parser.addoption('--slow', action='store_true', default=False,
                     help='also run the tests marked slow and the notebook cells flagged #| slow (the full tier)')


def forced_flags(config) -> list:
    "The notebook flags to run although settings.ini's tst_flags skips them: DFCVAE_TEST_FLAGS's, plus `slow` with --slow."
    flags = os.environ.get('DFCVAE_TEST_FLAGS', '').split()
    if config.getoption('--slow') and 'slow' not in flags: flags.append('slow')
    return flags


@pytest.fixture(scope='session')
def test_flags(request) -> list:
    return forced_flags(request.config)


def pytest_collection_modifyitems(config, items):
    if 'slow' in forced_flags(config): return
    skip = pytest.mark.skip(reason=SLOW_HOW)
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)
