__version__ = "0.1.0"

def __getattr__(name):
    "Lazy: `import dfcvae` imports no submodule, so `python -m dfcvae.train` (and torchrun) runs the module once."
    if name == 'load_pretrained':   # dfcvae.load_pretrained(name): the shipped reference models
        from .pretrained import load_pretrained
        return load_pretrained
    raise AttributeError(f"module 'dfcvae' has no attribute {name!r}")
