"""Exceptions raised by jtensor, and the mapping from Julia exception types to Python ones.

Each Julia error becomes an instance of a class that derives from both `JuliaError` and the
matching built-in (`ValueError`, `IndexError`, ...), so ``except ValueError`` works and the Julia
type, message and backtrace stay available as attributes.
"""


class JuliaError(RuntimeError):
    """An exception raised inside Julia.

    Attributes: ``julia_type`` (the Julia exception type name), ``julia_message``,
    ``julia_backtrace`` (Julia frames up to the entry point, as text) and ``julia_location``
    (``file:line`` of the innermost frame outside Julia's own code, also shown in the message).
    """

    def __init__(self, message, julia_type="", julia_message="", julia_backtrace=""):
        super().__init__(message)
        self.julia_type = julia_type
        self.julia_message = julia_message
        self.julia_backtrace = julia_backtrace
        self.julia_location = ""


def _sub(name, base):
    return type(name, (JuliaError, base), {"__module__": __name__})


JuliaValueError = _sub("JuliaValueError", ValueError)
JuliaIndexError = _sub("JuliaIndexError", IndexError)
JuliaTypeError = _sub("JuliaTypeError", TypeError)
JuliaMemoryError = _sub("JuliaMemoryError", MemoryError)
JuliaZeroDivisionError = _sub("JuliaZeroDivisionError", ZeroDivisionError)
JuliaNotImplementedError = _sub("JuliaNotImplementedError", NotImplementedError)
class JuliaInterrupt(KeyboardInterrupt):
    """Julia's InterruptException: a KeyboardInterrupt (so ``except Exception`` does not swallow
    it), with the same ``julia_*`` attributes as JuliaError."""

    def __init__(self, message, julia_type="", julia_message="", julia_backtrace=""):
        super().__init__(message)
        self.julia_type = julia_type
        self.julia_message = julia_message
        self.julia_backtrace = julia_backtrace
        self.julia_location = ""
LinAlgError = _sub("LinAlgError", RuntimeError)  # published as jtensor.linalg.LinAlgError, like torch's

_BY_JULIA_TYPE = {
    "DimensionMismatch": JuliaValueError,
    "ArgumentError": JuliaValueError,
    "DomainError": JuliaValueError,
    "InexactError": JuliaValueError,
    "OverflowError": JuliaValueError,
    "BoundsError": JuliaIndexError,
    "MethodError": JuliaTypeError,
    "DTypeError": JuliaTypeError,
    "DeviceNotImplemented": JuliaNotImplementedError,
    "LinAlgError": LinAlgError,
    "SingularException": LinAlgError,
    "PosDefException": LinAlgError,
    "LAPACKException": LinAlgError,
    "OutOfMemoryError": JuliaMemoryError,
    "DivideError": JuliaZeroDivisionError,
    "InterruptException": JuliaInterrupt,
}


def from_julia(julia_type, message, backtrace, context, location=""):
    """Build the Python exception for a Julia error; `context` names the op and its arguments,
    `location` is the `file:line` of the innermost Julia frame outside Julia's own code (the
    kernel's line, or the `defop` call of a refused definition), added to the message."""
    cls = _BY_JULIA_TYPE.get(julia_type, JuliaError)
    lines = message.strip().splitlines() or [""]
    short = lines[0] if julia_type == "MethodError" else "\n".join(lines[:20])
    if julia_type and not short.startswith(julia_type):
        short = f"{julia_type}: {short}"
    text = f"{context}: {short}" if context else short
    if location:
        text += f" (at {location})"
    err = cls(text, julia_type, message, backtrace)
    err.julia_location = location
    return err


class TypeInstabilityWarning(UserWarning):
    """Warned when an op is defined whose map kernel's inferred result type is not concrete for
    Float32 or Float64 arguments (Julia's registry.jl `_stability_warning`): every element would be
    boxed, typically tens of times slower."""
