"""Finding the syntax error that stops JTensor's Julia sources from loading.

When `using JTensor` fails at import (after an edit to julia/src, the package loads from source,
often in a precompile subprocess whose own report only reaches stderr), `first_syntax_error`
asks the running Julia's parser for the first syntax error in the sources, so the Python error
names the file and the line, as Julia's "in expression starting at" does.
"""

# Julia code: for each .jl file under a folder (sorted), parse expression after expression and
# report the first that is an :error or :incomplete, with the line where that expression starts
# (blank and comment lines before it skipped). Prints "" when every file parses.
_FIND = r'''
let found = ""
    for (root, _, files) in walkdir(%s), f in sort(files)
        endswith(f, ".jl") || continue
        path = joinpath(root, f)
        text = read(path, String)
        pos = 1
        while pos <= ncodeunits(text)
            ex, next = Meta.parse(text, pos; raise = false)
            if ex isa Expr && ex.head in (:error, :incomplete)
                line = count(==('\n'), SubString(text, 1, prevind(text, pos))) + 1
                for l in split(SubString(text, pos), '\n')
                    s = strip(l)
                    (isempty(s) || startswith(s, "#")) || break
                    line += 1
                end
                found = string(path, ":", line, ": ", ex.args[1])
                break
            end
            ex === nothing && break
            pos = next
        end
        isempty(found) || break
    end
    found
end
'''


def first_syntax_error(eval_text, folder_literal):
    """`file:line: message` of the first syntax error in the .jl files under a folder (given as a
    Julia string literal), or None; `eval_text` evaluates Julia code and returns its text."""
    try:
        found = eval_text(_FIND % folder_literal)
    except Exception:
        return None
    return found or None
