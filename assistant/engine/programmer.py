"""Prompts for the programmer role: chat messages for instruct models, code prefixes for base models.

Every chat prompt of a run starts with the same system message and problem statement, so the
long prefix is shared and a server's prompt cache reuses it; the varying part comes last.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from ..models.base import Message
from ..problems.model import Problem
from .critic import critique_note, format_report
from .extract import Extracted, complete_other, complete_program, extract_program
from .node import Node
from .prompting import render, render_for

MAX_EXAMPLES = 6


@functools.cache
def strategies() -> list[str]:
    text = resources.files("prompts").joinpath("strategies.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def strategy(i: int) -> str:
    s = strategies()
    return s[i % len(s)]


def examples_text(problem: Problem) -> str:
    """Visible tests as the model sees them (never hidden tests)."""
    tests = problem.visible_tests[:MAX_EXAMPLES]
    if not tests:
        return ""
    if problem.kind == "function":
        body = "\n".join(t.code.strip() for t in tests if t.code)
        return f"\n# Examples (these tests will be run)\n```python\n{body}\n```\n"
    parts = []
    for i, t in enumerate(tests, 1):
        parts.append(f"Example {i} input:\n```\n{(t.input or '').rstrip()}\n```\n"
                     f"Example {i} output:\n```\n{(t.output or '').rstrip()}\n```")
    return "\n# Examples\n" + "\n".join(parts) + "\n"


def starter_text(problem: Problem) -> str:
    if problem.starter_code:
        return f"\n# Starter code\n```python\n{problem.starter_code.rstrip()}\n```\n"
    if problem.kind == "function" and problem.entry_point:
        return f"\nThe function to write is `{problem.entry_point}`.\n"
    return ""


def system_message(problem: Problem) -> Message:
    rules = render("io_function", entry_point=problem.entry_point or "the function") \
        if problem.kind == "function" else render("io_stdio")
    return Message(role="system", content=render_for("programmer_system", problem.language, io_rules=rules.strip()))


def fenced(problem: Problem, code: str) -> str:
    """A program as the model wrote it: in a code block of its language."""
    from ..languages import fence
    return f"```{fence(problem.language)}\n{code.rstrip()}\n```"


def task_message(problem: Problem, strategy_text: str, template: str = "programmer_task") -> Message:
    return Message(role="user", content=render(template, statement=problem.statement.strip(),
                                               starter=starter_text(problem), examples=examples_text(problem),
                                               strategy=strategy_text))


def first_messages(problem: Problem, strategy_text: str) -> list[Message]:
    return [system_message(problem), task_message(problem, strategy_text)]


def refine_messages(problem: Problem, lineage: list[Node], strategy_text: str, suspect: set[str]) -> list[Message]:
    """The whole history of a branch: each ancestor's reply, its real report and its critique."""
    messages = [system_message(problem), task_message(problem, lineage[0].strategy)]
    for i, node in enumerate(lineage):
        reply = (node.reasoning + "\n\n" if node.reasoning else "") + fenced(problem, node.code)
        messages.append(Message(role="assistant", content=reply))
        critique = critique_note(node.critique)
        next_strategy = strategy_text if i == len(lineage) - 1 else lineage[i + 1].strategy
        messages.append(Message(role="user", content=render_for(
            "refine", problem.language, report=format_report(node.execution, suspect) if node.execution else "(not run)",
            critique=critique, strategy=next_strategy)))
    return messages


def parse_chat_reply(problem: Problem, text: str) -> Extracted:
    entry = problem.entry_point if problem.kind == "function" else None
    return extract_program(text, problem.language, entry)


# --------------------------------------------------------------------------- completion models

def _signature_prefix(problem: Problem) -> str:
    """For a function problem: the starter code (a HumanEval prompt, an LBPP signature), else
    `def name(` with the name the tests call."""
    if problem.starter_code:
        return problem.starter_code.rstrip() + "\n"
    return f"def {problem.entry_point or 'solve'}("


def _as_comment(text: str, width: int = 3000, marker: str = "#") -> str:
    text = text.strip()[:width]
    return "\n".join(f"{marker} {ln}".rstrip() for ln in text.splitlines())


def _compiled(problem: Problem) -> bool:
    return problem.language not in ("python", "pypy")


def completion_prompt(problem: Problem, strategy_text: str) -> tuple[str, str]:
    """(prompt, program prefix): what a base model continues, and the code the program starts with."""
    if problem.kind == "function":
        prefix = _signature_prefix(problem)
        header = ""
        starter_has_doc = bool(problem.starter_code and '"""' in problem.starter_code)
        if not starter_has_doc:
            header += _as_comment(problem.statement) + "\n"
            tests = [t.code.strip() for t in problem.visible_tests[:3] if t.code]
            if tests:
                header += "# Examples:\n" + "\n".join(f"#   {line}" for t in tests for line in t.splitlines()) + "\n"
        header += f"# Approach: {strategy_text}\n\n"
        prompt = render("completion_function", header=header, code_prefix=prefix)
        # the program keeps the imports of a starter prompt (HumanEval) but not the comment header
        return prompt, prefix
    if _compiled(problem):  # the program starts at its first #include
        prompt = render_for("completion_stdio", problem.language,
                            statement_comment=_as_comment(problem.statement, marker="//"), strategy=strategy_text)
        return prompt, prompt[prompt.index("\n#include") + 1:]
    prompt = render("completion_stdio", statement_comment=_as_comment(problem.statement), strategy=strategy_text)
    code_prefix = prompt[prompt.index("import sys"):]
    return prompt, code_prefix


def parse_completion(problem: Problem, program_prefix: str, continuation: str) -> Extracted:
    if problem.kind == "function":
        return complete_program(program_prefix, continuation, problem.entry_point)
    if _compiled(problem):
        return complete_other(program_prefix, continuation, problem.language)
    got = complete_program(program_prefix, continuation, "main")
    if got.code is not None:
        code = got.code.rstrip() + "\n\n\nmain()\n"
        return Extracted(code, got.reasoning)
    return got


# Two blank lines end a top-level function in PEP 8 code: where a base model's solution usually
# stops and its rambling (tests, prints, another problem) starts.
COMPLETION_STOPS = {"function": ["\n\n\n", "\nif __name__", "\n```", "\n# Test", "\n# Example", "\nassert "],
                    "stdio": ["\n\n\n", "\nif __name__", "\n```", "\n# Problem", "\nmain()"]}


COMPILED_STOPS = ["\n```", "\n// Problem", "\n// Example", "\nint main"]


def completion_stops(problem: Problem) -> list[str]:
    if _compiled(problem):
        return list(COMPILED_STOPS)
    return list(COMPLETION_STOPS[problem.kind])


def lineage(nodes: dict[str, Node], node: Node) -> list[Node]:
    chain = [node]
    while chain[-1].parent_id is not None and chain[-1].parent_id in nodes:
        chain.append(nodes[chain[-1].parent_id])
    return list(reversed(chain))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "problem"
