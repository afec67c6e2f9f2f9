"""Generate story paraphrases with a local causal language model.

``bci-valence axis build --paraphraser MODEL`` replaces the shipped paraphrases by
ones sampled from MODEL (any causal LM transformers can load: a local folder, or a hub
id when a cache or network exists).  Sampling is seeded; instruction-tuned models with
a chat template get the request as a chat message, base models a plain prompt.
Generated texts that are empty, too short, or copies are dropped and resampled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bci_valence.device import resolve_device

from .encoder import resolve_model
from .settings import CLASS_NAMES, ModelNotFoundError, VAxisError
from .stories import parse_stories

log = logging.getLogger(__name__)


PROMPT = (
    "Rewrite the following short story in different words. Keep every event, the same "
    "people and the same feelings; change the wording and sentence structure. Answer with "
    "the rewritten story only.\n\nStory: {story}\n\nRewritten story:"
)


def load_causal_lm(spec: str, device: str | None = None) -> tuple[Any, Any, str]:
    """Load a tokenizer and a causal LM for generation.

    Raises
    ------
    ModelNotFoundError
        Naming the paraphraser model when it cannot be found or is not a causal LM.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name, location = resolve_model(spec)
    device = device or str(resolve_device("auto"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForCausalLM.from_pretrained(location)
    except (OSError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelNotFoundError(
            f"paraphraser model {name!r} could not be loaded as a causal language model "
            f"({type(err).__name__}: {first})"
        ) from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    tokenizer.padding_side = "left"
    model.eval()
    model.to(device)
    return tokenizer, model, name


def _prompt(tokenizer: Any, story: str) -> str:
    text = PROMPT.format(story=story)
    if getattr(tokenizer, "chat_template", None):
        try:
            return tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
        except Exception:  # noqa: BLE001 - fall back to the plain prompt
            pass
    return text


def _clean(text: str) -> str:
    text = text.strip()
    for stop in ("\n\n", "Story:", "Rewritten story:"):
        cut = text.find(stop)
        if cut > 0:
            text = text[:cut]
    return " ".join(text.split())


@dataclass(frozen=True)
class _Sampling:
    """How paraphrases are sampled and which are kept."""

    batch_size: int
    max_new_tokens: int
    temperature: float
    top_p: float
    min_chars: int
    max_rounds: int


def _sample(tokenizer: Any, lm: Any, prompt: str, k: int, sampling: _Sampling) -> list[str]:
    """``k`` sampled continuations of ``prompt``, cleaned by :func:`_clean`."""
    import torch

    enc = tokenizer([prompt] * k, return_tensors="pt", padding=True).to(next(lm.parameters()).device)
    with torch.inference_mode():
        gen = lm.generate(
            **enc,
            do_sample=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    texts = tokenizer.batch_decode(
        gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
    )
    return list(map(_clean, texts))


def _paraphrase_story(
    tokenizer: Any, lm: Any, story: str, n: int, sampling: _Sampling, bar: Any,
) -> list[str]:
    """Up to ``n`` distinct usable paraphrases of ``story``.

    A round samples batches until ``n`` are found or a batch adds nothing; at most
    ``sampling.max_rounds`` rounds.
    """
    prompt = _prompt(tokenizer, story)
    found: list[str] = []
    for _ in range(sampling.max_rounds):
        while len(found) < n:
            k = min(sampling.batch_size, n - len(found))
            new = [
                t for t in _sample(tokenizer, lm, prompt, k, sampling)
                if len(t) >= sampling.min_chars and t != story and t not in found
            ]
            added = new[: n - len(found)]
            found += added
            bar.update(len(added))
            if not new:
                break
        if len(found) >= n:
            break
    return found


def generate_paraphrases(
    model: str,
    stories: Mapping[str, Mapping[str, Any]],
    *,
    n: int = 50,
    seed: int = 0,
    batch_size: int = 8,
    max_new_tokens: int = 160,
    temperature: float = 0.9,
    top_p: float = 0.95,
    min_chars: int = 40,
    max_rounds: int = 5,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Sample ``n`` paraphrases of each class's story.

    Parameters
    ----------
    model : str
        Local folder or hub id of a causal LM.
    stories : mapping
        Parsed stories (only each class's ``story`` is used).
    n : int
        Paraphrases per class.
    seed : int
        Seed for ``torch.manual_seed`` (results are reproducible on one device).

    Returns
    -------
    dict
        A stories mapping with the generated paraphrases.

    Raises
    ------
    ModelNotFoundError
        If the model cannot be loaded.
    VAxisError
        If a class ends with no usable paraphrase after ``max_rounds`` rounds.
    """
    import torch
    from tqdm.auto import tqdm

    if n < 1:
        raise VAxisError(f"paraphrases per class must be >= 1, got {n}")
    stories = parse_stories(stories)
    tokenizer, lm, name = load_causal_lm(model, device=device)
    sampling = _Sampling(batch_size, max_new_tokens, temperature, top_p, min_chars, max_rounds)
    torch.manual_seed(seed)
    out: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=n * len(CLASS_NAMES), desc="paraphrasing", disable=not progress)
    for cls in CLASS_NAMES:
        story = stories[cls]["story"]
        found = _paraphrase_story(tokenizer, lm, story, n, sampling, bar)
        if not found:
            raise VAxisError(
                f"paraphraser {name!r} produced no usable paraphrase for class {cls!r}"
            )
        if len(found) < n:
            log.warning("class %s: only %d of %d paraphrases generated", cls, len(found), n)
        out[cls] = {"story": story, "paraphrases": found}
    bar.close()
    return out
