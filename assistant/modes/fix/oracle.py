"""Known-fix answers, to measure the `orps fix` pipeline itself rather than a model.

Given a repair record (buggy files and the files of the known fix), `known_fix_reply` writes the fix
as search/replace blocks (difflib hunks with enough context to match one place), the way a model
answers; `oracle_model` answers the search's programmer prompts with it and with two decoys (the
same fix plus an extra line, and a function that raises), so that finding, ranking and applying
the known fix are all exercised. Used by `benchmarks/fix_repairs.py --oracle`.
"""

from __future__ import annotations

import difflib
import json

from ...models.scripted import ScriptedModel
from .edits import EditError, _find_unique
from .localize import definitions


def _blocks(path: str, old: str, new: str, context: int) -> list[tuple[str, str]]:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        out.append(("".join(a[i1:i2]), "".join(b[j1:j2])))
    return out


def _applies(old: str, new: str, blocks: list[tuple[str, str]]) -> bool:
    text = old
    for search, replace in blocks:
        if not search.strip():
            return False
        try:
            span = _find_unique(text, search)
        except EditError:
            return False
        if span is None:
            return False
        text = text[:span[0]] + replace + text[span[1]:]
    return text == new


def search_replace(path: str, old: str, new: str) -> str:
    """SEARCH/REPLACE blocks that turn `old` into exactly `new` (context grows until each matches once)."""
    if old == new:
        return ""
    n_lines = max(len(old.splitlines()), 1)
    for context in (3, 5, 8, 13, 21, n_lines):
        blocks = _blocks(path, old, new, context)
        if _applies(old, new, blocks):
            break
    else:
        blocks = [(old, new)]
    parts = []
    for search, replace in blocks:
        parts.append(f"{path}\n<<<<<<< SEARCH\n{_nl(search)}=======\n{_nl(replace)}>>>>>>> REPLACE\n")
    return "\n".join(parts)


def _nl(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def known_fix_reply(record: dict) -> str:
    edits = [search_replace(p, record["files"][p], new) for p, new in sorted(record["fixed_files"].items())
             if record["files"].get(p) != new]
    return "The known fix.\n" + "\n".join(e for e in edits if e)


def decoy_replies(record: dict) -> list[str]:
    """The known fix with a comment line on top (a bigger diff), and the program's function raising."""
    program = record["program"]
    fixed = record["fixed_files"].get(program, record["files"][program])
    bigger = "# reviewed\n" + fixed  # a hunk of its own: exactly one line more than the known fix
    buggy = record["files"][program]
    name = record.get("entry_point") or program.rsplit("/", 1)[-1][:-3]
    defs = [d for d in definitions(buggy, program) if d.qualname == name and d.kind == "function"]
    out = ["The known fix, commented.\n" + search_replace(program, buggy, bigger)]
    if defs:
        d = defs[-1]
        signature = buggy.splitlines()[d.def_line - 1].strip()
        out.append(f"Start over.\n{program}\n```python\n{signature}\n    raise NotImplementedError\n```\n")
    return out


def oracle_model(record: dict) -> ScriptedModel:
    """A chat model whose round-0 answers are the decoys then the known fix (in that order, so the
    known fix does not win by being first), and whose critic is neutral."""
    from .search import fix_strategy

    answers = decoy_replies(record) + [known_fix_reply(record)]

    def handler(req):
        if "strict reviewer of bug fixes" in req.messages[0].content:
            return json.dumps({"analysis": "see the execution report", "suggestion": "", "score": 3, "done": False})
        last = req.messages[-1].content
        for i, text in enumerate(answers):
            if f"For this attempt: {fix_strategy(i)}" in last:
                return text
        return answers[-1]

    return ScriptedModel(handler=handler, name="oracle")
