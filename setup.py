"""Package metadata, read from settings.ini (nbdev 2's layout)."""
from configparser import ConfigParser
import setuptools, shlex

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

expected = 'version description keywords author author_email license min_python lib_name user'.split()
missing = [o for o in expected if o not in cfg]
if missing: raise SystemExit(f"settings.ini: missing keys {missing}")

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

lic = licenses[cfg['license'].lower()]
min_python = cfg['min_python']
requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
metrics_requirements = shlex.split(cfg.get('metrics_requirements', ''))
explorer_requirements = shlex.split(cfg.get('explorer_requirements', ''))
experiments_requirements = shlex.split(cfg.get('experiments_requirements', ''))
tensorboard_requirements = shlex.split(cfg.get('tensorboard_requirements', ''))
console_scripts = cfg.get('console_scripts', '').split()

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    license=lic[0],
    license_files=['LICENSE'],
    classifiers=['Development Status :: ' + statuses[int(cfg['status']) - 1],   # status = 3 is '3 - Alpha'
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title(),
                 'License :: ' + lic[1]]
                + ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['dfcvae', 'dfcvae.*']),
    include_package_data=True,
    package_data={cfg['lib_name']: ['reference/SHA256SUMS', 'reference/*/*.safetensors', 'reference/*/*.json', 'reference/*/*.md']},   # the shipped reference models and their digests
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'metrics': metrics_requirements, 'explorer': explorer_requirements,
                    'experiments': experiments_requirements, 'tensorboard': tensorboard_requirements},
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': console_scripts, 'nbdev': [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
)
