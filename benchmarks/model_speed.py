"""Generation speed of a model backend: load time, prompt size, tokens/s per request.

Runs the same code-completion prompt with several seeds through `open_model(SPEC)` and prints
JSON. tokens/s is what the backend reports (decode rate, prompt evaluation excluded); requests
whose backend reports no token counts are listed with null. Exits 1 when a request fails or
produces no text.
Usage: python benchmarks/model_speed.py [--model SPEC] [--runs N] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models import GenerationOptions, Message, ModelError, open_model  # noqa: E402

PROMPT = '''def longest_increasing_subsequence(xs: list[int]) -> int:
    """Return the length of the longest strictly increasing subsequence of xs."""
'''


async def measure(spec: str, runs: int, max_tokens: int) -> dict:
    t0 = time.perf_counter()
    model = open_model(spec)
    load_s = time.perf_counter() - t0
    results = []
    try:
        for seed in range(runs):
            opts = GenerationOptions(temperature=0.8, seed=seed, max_tokens=max_tokens)
            if model.can_complete:
                c = await model.complete(PROMPT, opts)
            else:
                c = await model.chat([Message(role="user", content="Complete:\n" + PROMPT)], opts)
            results.append({"seed": seed, "prompt_tokens": c.prompt_tokens,
                            "completion_tokens": c.completion_tokens,
                            "tokens_per_s": round(c.tokens_per_s, 2) if c.tokens_per_s else None,
                            "elapsed_s": round(c.elapsed_s, 3), "finish_reason": c.finish_reason,
                            "chars": len(c.text)})
    finally:
        await model.aclose()
    rates = [r["tokens_per_s"] for r in results if r["tokens_per_s"]]
    return {"model": spec, "describe": model.describe(), "load_s": round(load_s, 3),
            "runs": results,
            "tokens_per_s_median": round(statistics.median(rates), 2) if rates else None,
            "tokens_per_s_min": min(rates) if rates else None,
            "tokens_per_s_max": max(rates) if rates else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded", help="model spec (default: embedded)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    try:
        report = asyncio.run(measure(args.model, args.runs, args.max_tokens))
    except ModelError as exc:
        print(json.dumps({"model": args.model, "error": str(exc)}))
        return 1
    print(json.dumps(report, indent=2))
    return 0 if all(r["chars"] > 0 for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
