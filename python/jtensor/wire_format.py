"""The word format between Python and Julia, read from its one definition, julia/src/wire.txt.

This module uses the standard library only and imports nothing else from jtensor, so that
setup.py can load it by path (before jtensor is built) to generate the C fast path's header
(`c_header`). Python's encoders and decoders (wire.py), Julia (bridge.jl) and C (fastpath.c,
through the header) all take tags, layouts, device codes and limits from the table; `constants`
flattens it into the name -> value dict that the C extension reports back (`wire_constants()`),
so a stale build is caught (bridge.py, tests/test_wire_format.py).
"""
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
JULIA_DIR = os.path.join(_HERE, "julia")   # an installed package: setup.py copies julia/ here
if not os.path.isdir(JULIA_DIR):          # a source checkout: python/jtensor/../../julia
    JULIA_DIR = os.path.abspath(os.path.join(_HERE, "..", "..", "julia"))
TABLE_PATH = os.path.join(JULIA_DIR, "src", "wire.txt")


class Layout:
    """The words of one argument or result kind: `fields` in order (a run is `name[count]`),
    `offsets` the word offset of each field before the first run, `fixed` their number."""

    __slots__ = ("kind", "fields", "offsets", "fixed")

    def __init__(self, kind, fields):
        self.kind = kind
        self.fields = tuple(fields)
        self.offsets = {}
        for k, f in enumerate(self.fields):
            if "[" in f:
                break
            self.offsets[f] = k
        self.fixed = len(self.offsets)

    def __repr__(self):
        return f"Layout({self.kind}: {' '.join(self.fields)})"


class WireFormat:
    """The parsed table: `tags`, `devices`, `limits`, `map_kinds` (name -> code), `fn_kinds`
    (name -> (code, schema type)), `args` and `results` (kind -> Layout)."""

    def __init__(self):
        self.tags, self.devices, self.limits, self.map_kinds, self.fn_kinds = {}, {}, {}, {}, {}
        self.args, self.results = {}, {}


def parse(text, source="wire.txt"):
    """A WireFormat from the table's text; ValueError naming the line for anything malformed."""
    fmt = WireFormat()
    codes = {"tag": fmt.tags, "device": fmt.devices, "limit": fmt.limits, "mapkind": fmt.map_kinds}
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        what, rest = words[0], words[1:]
        try:
            if what in codes and len(rest) == 2:
                if rest[0] in codes[what]:
                    raise ValueError(f"{what} {rest[0]} defined twice")
                codes[what][rest[0]] = int(rest[1])
            elif what == "fnkind" and len(rest) == 3:
                fmt.fn_kinds[rest[0]] = (int(rest[1]), rest[2])
            elif what in ("arg", "result") and len(rest) >= 2:
                table = fmt.args if what == "arg" else fmt.results
                layout = Layout(rest[0], rest[1:])
                if layout.fields[0] != "tag" or rest[0] not in fmt.tags:
                    raise ValueError(f"{what} {rest[0]}: a layout starts with `tag` and names a defined tag")
                seen = set()
                for f in layout.fields:
                    if "[" in f:
                        count = f[f.index("[") + 1:-1]
                        if not f.endswith("]") or count not in seen:
                            raise ValueError(f"{what} {rest[0]}: run {f} must count by an earlier field")
                        f = f[:f.index("[")]
                    seen.add(f)
                table[rest[0]] = layout
            else:
                raise ValueError(f"cannot read {line.strip()!r}")
        except ValueError as e:
            raise ValueError(f"{source}:{n}: {e}") from None
    for kind, codes_ in (("tags", fmt.tags), ("devices", fmt.devices)):
        if len(set(codes_.values())) != len(codes_):
            raise ValueError(f"{source}: two {kind} share a code")
    return fmt


def load(path=TABLE_PATH):
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)


def constants(fmt):
    """Every number the table defines, as a flat name -> value dict (the C header's constants,
    named as there without the WIRE_ prefix): TAG_*, DEVICE_*, LIMIT_*, MAPKIND_*, FNKIND_*,
    ARG_<KIND>_<FIELD> and RESULT_<KIND>_<FIELD> (word offsets), ARG_<KIND>_FIXED, RESULT_<KIND>_FIXED."""
    out = {}
    for prefix, table in (("TAG", fmt.tags), ("DEVICE", fmt.devices), ("LIMIT", fmt.limits),
                          ("MAPKIND", fmt.map_kinds)):
        for name, code in table.items():
            out[f"{prefix}_{name.upper()}"] = code
    for name, (code, _) in fmt.fn_kinds.items():
        out[f"FNKIND_{name.upper()}"] = code
    for prefix, table in (("ARG", fmt.args), ("RESULT", fmt.results)):
        for kind, layout in table.items():
            for field, off in layout.offsets.items():
                out[f"{prefix}_{kind.upper()}_{field.upper()}"] = off
            out[f"{prefix}_{kind.upper()}_FIXED"] = layout.fixed
    return out


def c_header(fmt, source="julia/src/wire.txt"):
    """The C fast path's header: one #define per constant, and WIRE_CONSTANTS(X), an X-macro
    listing them all (fastpath.c `wire_constants()` returns them as a dict)."""
    consts = constants(fmt)
    lines = [f"/* Generated by setup.py from {source} (python/jtensor/wire_format.py c_header): do not edit. */",
             "#ifndef JTENSOR_WIRE_H", "#define JTENSOR_WIRE_H"]
    lines += [f"#define WIRE_{name} {value}" for name, value in consts.items()]
    lines.append("#define WIRE_CONSTANTS(X) \\")
    lines += [f"    X(\"{name}\", WIRE_{name}) \\" for name in consts]
    lines += ["", "#endif", ""]
    return "\n".join(lines)


FORMAT = load()
