__version__ = "0.1.0"
from . import baselines  # registers the 'gan' model (DCGAN) with dfcvae.train's registry
from .pretrained import load_pretrained  # dfcvae.load_pretrained(name): the shipped reference models
