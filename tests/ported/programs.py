"""Loading the ported programs of this folder, as written (jtensor) or with PyTorch's imports."""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = ("mnist_cnn", "char_transformer", "linear_regression")


def source(name):
    with open(os.path.join(HERE, name + ".py")) as f:
        return f.read()


def load(name, library):
    """Program `name` as a fresh module whose imports name `library`: "jtensor" (as written) or
    "torch" (the oracle: the same program with PyTorch's imports put back)."""
    path = os.path.join(HERE, name + ".py")
    src = source(name)
    if library == "torch":
        src = src.replace("jtensor", "torch")
    mod_name = f"ported_{name}_{library}"
    spec = importlib.util.spec_from_loader(mod_name, loader=None, origin=path)
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = path
    sys.modules[mod_name] = mod
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod
