"""Getting a runnable Python program out of a model reply, or a precise reason why not.

Handles what small local models really produce: prose with one or more fenced blocks, a block
cut off by the token limit, another language, bare code without fences, a reply far too long,
and (for completion models) a continuation of the prompt that runs on past the function.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass

MAX_REPLY_CHARS = 200_000
MAX_CODE_CHARS = 60_000

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n", re.M)
_PY_TAGS = {"", "python", "py", "python3", "py3"}
_OTHER_LANGS = {"cpp", "c++", "c", "java", "javascript", "js", "typescript", "ts", "go", "rust", "rs", "ruby",
                "kotlin", "swift", "csharp", "cs", "c#", "php", "scala", "haskell", "bash", "sh"}


@dataclass
class Extracted:
    code: str | None
    reasoning: str = ""
    error: str | None = None


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def _looks_like_python(text: str) -> bool:
    return bool(re.search(r"^\s*(def |class |import |from \w+ import |print\(|for |while |if )", text, re.M))


def extract_code(reply: str, entry_point: str | None = None) -> Extracted:
    """The program in a chat reply: the last complete Python block that parses (and defines
    `entry_point` when one is required); the text before it is kept as reasoning."""
    if len(reply) > MAX_REPLY_CHARS:
        reply = reply[:MAX_REPLY_CHARS]
    blocks = [(m.start(), m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(reply)]
    python_blocks = [(pos, body) for pos, lang, body in blocks if lang in _PY_TAGS]
    good = [(pos, body) for pos, body in python_blocks if body.strip() and parses(body)]
    if entry_point:
        defining = [(pos, body) for pos, body in good if _defines(body, entry_point)]
        if defining:
            good = defining
        elif good:
            return Extracted(None, reply[: good[-1][0]].strip(),
                             f"the code does not define `{entry_point}`")
    if good:
        pos, body = good[-1]
        return _checked(body, reply[:pos].strip(), entry_point)
    if python_blocks:
        pos, body = python_blocks[-1]
        if not body.strip():
            return Extracted(None, reply[:pos].strip(), "the code block is empty")
        return Extracted(None, reply[:pos].strip(), f"the code does not parse: {_syntax_error(body)}")
    other = [lang for _, lang, _ in blocks if lang in _OTHER_LANGS]
    if other:
        return Extracted(None, reply.strip()[:2000], f"the code is in {other[-1]}, not Python")
    # an opening fence with no closing one: the reply was cut off
    opened = list(_OPEN_FENCE.finditer(reply))
    if opened:
        last = opened[-1]
        lang = last.group(2).lower()
        if lang in _OTHER_LANGS:
            return Extracted(None, reply[: last.start()].strip(), f"the code is in {lang}, not Python")
        body = reply[last.end():]
        if body.strip() and parses(body) and (not entry_point or _defines(body, entry_point)):
            return _checked(body, reply[: last.start()].strip(), entry_point)
        return Extracted(None, reply[: last.start()].strip(),
                         "the code block is not closed: the reply was cut off (truncated code)")
    # no fences at all: accept bare code when the whole reply is a Python program
    stripped = reply.strip()
    if stripped and parses(stripped) and _looks_like_python(stripped):
        return _checked(stripped, "", entry_point)
    if not stripped:
        return Extracted(None, "", "the reply is empty")
    return Extracted(None, stripped[:2000], "the reply has no Python code block")


def _checked(code: str, reasoning: str, entry_point: str | None) -> Extracted:
    code = code.rstrip() + "\n"
    if len(code) > MAX_CODE_CHARS:
        return Extracted(None, reasoning, f"the code is too long ({len(code)} characters)")
    if entry_point and not _defines(code, entry_point):
        return Extracted(None, reasoning, f"the code does not define `{entry_point}`")
    return Extracted(code, reasoning)


def _syntax_error(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except ValueError as exc:
        return str(exc)
    return "unknown error"


_TOP_LEVEL_KEEP = re.compile(r"(def |async def |class |@|import |from \w[\w.]* import |[A-Z_][A-Z0-9_]* ?=)")


def complete_program(prefix: str, continuation: str, entry_point: str | None = None) -> Extracted:
    """A base model's continuation of a code prompt: prefix + continuation, cut back to the longest
    run of whole lines that parses (the model rambles on after the solution or stops mid-line).

    With an `entry_point` (function problems) the program also ends at the first top-level line that
    is not a definition, import or constant: base models go on with example calls and asserts that
    would run at import time."""
    continuation = continuation[:MAX_REPLY_CHARS]
    # a fence or a new top-level section ends the program
    cut = re.search(r"^(```|~~~|# ?-{3,}|if __name__ ==|#+ ?(Example|Test|Problem)\b)", continuation, re.M)
    if cut:
        continuation = continuation[: cut.start()]
    if entry_point:
        kept = []
        for line in continuation.splitlines(keepends=True):
            if line.strip() and not line[0].isspace() and not _TOP_LEVEL_KEEP.match(line) \
                    and not line.startswith((")", "]", "}")):
                break
            kept.append(line)
        continuation = "".join(kept)
    lines = continuation.splitlines(keepends=True)
    for end in range(len(lines), -1, -1):
        code = prefix + "".join(lines[:end])
        if parses(code) and (not entry_point or _defines(code, entry_point)):
            if end == 0 and not continuation.strip():
                break
            return _checked(code, "", entry_point)
    if not continuation.strip():
        return Extracted(None, "", "the model returned nothing")
    return Extracted(None, "", f"the completion does not form a program: {_syntax_error(prefix + continuation)}")


def normalized_hash(code: str, language: str = "python") -> str:
    """Identical programs up to comments, docstrings and formatting hash the same (Python: its AST;
    other languages: their tokens from tree-sitter, comments left out)."""
    if language not in ("python", "pypy"):
        from .codetext import grammar
        from .codetext import normalized_hash as token_hash
        name = grammar(language)
        if name is not None:
            return token_hash(code, name)
        return hashlib.sha256(" ".join(code.split()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return hashlib.sha256(code.encode()).hexdigest()[:16]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]


def strip_comments(code: str) -> str:
    """The code without comments (for size measures)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type != tokenize.COMMENT:
                out.append(tok)
        return tokenize.untokenize(out)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code


# --------------------------------------------------------------------------- other languages

def extract_program(reply: str, language: str = "python", entry_point: str | None = None) -> Extracted:
    """The program in a chat reply, in `language` (a key of the sandbox's language table): Python
    as `extract_code` reads it; another language from its fenced blocks (the table's fence names),
    the last one that parses with the language's tree-sitter grammar, else the last one (the
    compiler has the final word)."""
    if language in ("python", "pypy"):
        return extract_code(reply, entry_point)
    from sandbox.languages import language as lookup, languages

    from .codetext import grammar, syntax_ok
    lang = lookup(language)
    if len(reply) > MAX_REPLY_CHARS:
        reply = reply[:MAX_REPLY_CHARS]
    fences = set(lang.fences)
    blocks = [(m.start(), m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(reply)]
    ours = [(pos, body) for pos, tag, body in blocks if tag in fences and body.strip()]
    if not ours:  # untagged blocks that look like this language
        ours = [(pos, body) for pos, tag, body in blocks if not tag and body.strip() and _looks_like(body, lang.id)]
    name = grammar(lang.id)
    if ours:
        clean = [(pos, body) for pos, body in ours if name is None or syntax_ok(body, name)]
        pos, body = (clean or ours)[-1]
        return _checked_other(body, reply[:pos].strip())
    if any(tag in fences for _, tag, _ in blocks):
        return Extracted(None, reply.strip()[:2000], "the code block is empty")
    others = {tag for key, other in languages().items() if key != lang.id for tag in other.fences} | _OTHER_LANGS
    other = [tag for _, tag, _ in blocks if tag in others and tag not in fences]
    if other:
        return Extracted(None, reply.strip()[:2000], f"the code is in {other[-1]}, not {lang.name}")
    opened = list(_OPEN_FENCE.finditer(reply))
    if opened:
        last = opened[-1]
        body = reply[last.end():]
        tag = last.group(2).lower()
        if (tag in fences or not tag) and body.strip() and (name is None or syntax_ok(body, name)) \
                and _looks_like(body, lang.id):
            return _checked_other(body, reply[: last.start()].strip())
        return Extracted(None, reply[: last.start()].strip(),
                         "the code block is not closed: the reply was cut off (truncated code)")
    stripped = reply.strip()
    if stripped and _looks_like(stripped, lang.id) and (name is None or syntax_ok(stripped, name)):
        return _checked_other(stripped, "")
    if not stripped:
        return Extracted(None, "", "the reply is empty")
    return Extracted(None, stripped[:2000], f"the reply has no {lang.name} code block")


def _looks_like(code: str, language: str) -> bool:
    """C and C++ programs have a main function (and usually includes)."""
    if language in ("cpp", "c"):
        return bool(re.search(r"\bmain\s*\(", code))
    return True


def _checked_other(code: str, reasoning: str) -> Extracted:
    code = code.rstrip() + "\n"
    if len(code) > MAX_CODE_CHARS:
        return Extracted(None, reasoning, f"the code is too long ({len(code)} characters)")
    return Extracted(code, reasoning)


def complete_other(prefix: str, continuation: str, language: str) -> Extracted:
    """A base model's continuation of a C/C++ program prefix: cut at a fence, then back to the
    longest run of whole lines that parses with the language's grammar."""
    from .codetext import grammar, syntax_ok
    continuation = continuation[:MAX_REPLY_CHARS]
    cut = re.search(r"^(```|~~~|// ?-{3,}|//+ ?(Example|Test|Problem)\b)", continuation, re.M)
    if cut:
        continuation = continuation[: cut.start()]
    if not continuation.strip():
        return Extracted(None, "", "the model returned nothing")
    name = grammar(language)
    lines = continuation.splitlines(keepends=True)
    for end in range(len(lines), 0, -1):
        code = prefix + "".join(lines[:end])
        if name is None or syntax_ok(code, name):
            return _checked_other(code, "")
    return Extracted(None, "", "the completion does not form a program (it does not parse)")
