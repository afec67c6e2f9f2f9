"""``bci-valence train``, ``evaluate`` and ``report`` (entry points of the offline app).

Heavy imports (torch, sklearn, matplotlib, mne) happen inside the handlers, so that
``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: How ``--faced-root`` defaults (:func:`bci_valence.io.faced.default_faced_root`).
FACED_ROOT_HELP = ("FACED root (EEG_Features/DE, Data, Recording_info.csv); default: "
                   "$BCI_VALENCE_FACED, else $BCI_VALENCE_SHARED_DATA/faced, else "
                   "../shared/data/faced if it exists, else ./faced")


def _faced_root(args: argparse.Namespace) -> str:
    """``--faced-root``, else the default every command shares (resolved here, not at
    parser time, so that ``--help`` needs no numpy)."""
    if args.faced_root is not None:
        return str(args.faced_root)
    from bci_valence.io.faced import default_faced_root

    return str(default_faced_root())


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train``."""
    p = subparsers.add_parser(
        "train",
        help="train the projection and the classifier ensemble on FACED DE features",
        description=(
            "Train the EEG->V-axis projection (ridge) and the residual classifier ensemble "
            "on FACED DE features, print the stage ablation on validation subjects and "
            "write a model bundle (bundle.json + safetensors). With --protocol unseen-clips: "
            "train the evaluation protocols' fold models instead (one per clip fold, each "
            "without the fold's clips, plus one on every clip), measure both protocols on "
            "the validation subjects, refit the live projection with the alpha chosen under "
            "unseen-clips, and write --base's bundle with them to --out."
        ),
    )
    p.add_argument("--protocol", choices=("seen-clips", "unseen-clips"), default="seen-clips",
                   help="seen-clips (default): the whole recipe; unseen-clips: the protocol fold "
                        "models added to --base's bundle (a few minutes on one core)")
    p.add_argument("--base", default=None, metavar="BUNDLE",
                   help="--protocol unseen-clips: the bundle whose classifier ensemble is kept "
                        "(default: the shipped bundle)")
    p.add_argument("--folds", type=int, default=None,
                   help="--protocol unseen-clips: clip folds (default 3; each holds out one clip "
                        "of every class)")
    p.add_argument("--fold-epochs", type=int, default=None,
                   help="--protocol unseen-clips: epochs of each fold's classifier member (default 20)")
    p.add_argument("--faced-root", default=None, help=FACED_ROOT_HELP)
    p.add_argument("--train", default="0-79", help="training subjects, e.g. 0-79 (default)")
    p.add_argument("--val", default="80-99",
                   help="validation subjects for model selection and the ablation (default 80-99; "
                        "'none' to skip, then --ridge-alpha fixes the projection)")
    p.add_argument("--refit", default=None, metavar="SUBJECTS",
                   help="after selection, retrain the final bundle on these subjects (e.g. 0-99)")
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--axis", default=None, metavar="DIR",
                   help="V-axis folder from `bci-valence axis build` (default: the shipped axis)")
    p.add_argument("--stages", default="all",
                   help="classifier stages of the final model: 'all', a stage name (that stage and "
                        "every one before it), a comma list of baseline,augment,distill,deep,ensemble, "
                        "or 'auto' (the cumulative stage set with the best validation BACC in the "
                        "ablation; ties: the shorter; needs --val and the ablation)")
    p.add_argument("--no-ablation", action="store_true",
                   help="train only the final stage set (no per-stage table)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per member")
    p.add_argument("--members", type=int, default=None, help="ensemble size (ensemble stage)")
    p.add_argument("--ridge-alpha", type=float, default=None, help="fix the projection's ridge alpha")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--jobs", type=int, default=2,
                   help="processes training ensemble members in parallel (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)
    return p


def _run_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bci_valence.io.faced import parse_subjects

    from .training import TrainSettings, parse_stages, run_training

    auto = str(args.stages).strip().lower() == "auto"
    val = [] if str(args.val).lower() in ("none", "") else parse_subjects(args.val)
    if auto and (args.no_ablation or not val or args.protocol != "seen-clips"):
        print("error: --stages auto chooses on the ablation's validation scores: it needs --val "
              "subjects, no --no-ablation and --protocol seen-clips", file=sys.stderr)
        return 2
    settings = TrainSettings(
        stages=parse_stages("all" if auto else args.stages),
        ablation=not args.no_ablation,
        choose_stages=auto,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        jobs=args.jobs,
        progress=not args.no_progress,
        ridge_alpha=args.ridge_alpha,
    )
    if args.epochs is not None:
        settings = replace(settings, epochs=args.epochs)
    if args.members is not None:
        settings = replace(settings, n_ensemble=args.members)
    refit = parse_subjects(args.refit) if args.refit else None
    if args.protocol == "unseen-clips":
        return _run_train_protocols(args, settings, val, refit)
    try:
        summary = run_training(
            _faced_root(args), parse_subjects(args.train), val, args.out, settings,
            axis_dir=args.axis, refit_subjects=refit,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: summary[k] for k in ("bundle", "total_seconds")}))
    return 0


def _run_train_protocols(args: argparse.Namespace, settings: Any, val: list[int],
                         refit: list[int] | None) -> int:
    from dataclasses import replace

    from bci_valence.io.faced import parse_subjects
    from bci_valence.model.bundle import BundleError

    from .training import run_protocol_training

    try:
        folds = settings.folds
        if args.folds is not None:
            folds = replace(folds, n_folds=args.folds)
        if args.fold_epochs is not None:
            folds = replace(folds, epochs=args.fold_epochs)
        settings = replace(settings, folds=folds)
        summary = run_protocol_training(
            _faced_root(args), parse_subjects(args.train), val, args.out, settings,
            base_bundle=args.base, refit_subjects=refit,
        )
    except (FileNotFoundError, BundleError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: summary[k] for k in ("bundle", "readout", "seconds", "total_seconds")}))
    return 0


def _add_evaluation_arguments(p: argparse.ArgumentParser) -> None:
    """The FACED root, subjects and bundle that ``evaluate`` and ``report`` share."""
    p.add_argument("--faced-root", default=None, help=FACED_ROOT_HELP)
    p.add_argument("--subjects", default="80-99", help="subjects to evaluate (default 80-99)")
    p.add_argument("--bundle", default=None, help="bundle folder (default: the shipped bundle)")


def add_evaluate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``evaluate``."""
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a model bundle on FACED subjects; prints one JSON object",
        description=(
            "Evaluate a bundle on any FACED root and subject range (e.g. the test subjects "
            "100-122): BACC, kappa, weighted F1 over 10-s windows, per-stimulus r of the "
            "projection against the V-axis and the subjects' ratings, sample r. With "
            "--protocol: the protocol figures (keys protocol, bacc, kappa, valence_auc_window, "
            "valence_auc_subject_clip, clip_r_axis, clip_r_ratings, clip_r_ratings_p, "
            "subject_r_ratings, ci95 with ci95_over (subjects and clips resampled together), "
            "baseline_fai (frontal alpha asymmetry on the same subjects and clips), n_folds, "
            "subjects; aggregation with --aggregation) of the bundle's seen-clips model "
            "(new people, the training clips) or unseen-clips fold models (every clip "
            "predicted by a model that never saw it); 'both' prints them side by side."
        ),
    )
    _add_evaluation_arguments(p)
    p.add_argument("--protocol", choices=("seen-clips", "unseen-clips", "both"), default=None,
                   help="evaluation protocol (default: the main models' figures without protocol)")
    p.add_argument("--permutations", type=int, default=10000,
                   help="permutations for clip_r_ratings_p (default 10000)")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="resamples of subjects and clips for ci95 (default 1000)")
    p.add_argument("--aggregation", action="store_true",
                   help="with --protocol: add 'aggregation', the valence AUC by seconds per stimulus "
                        "(10, 20, 30) and people per group (1, 2, 5, 10, 20; resampled)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_evaluate)
    return p


def _run_evaluate(args: argparse.Namespace) -> int:
    import torch

    from bci_valence.model.bundle import BundleError, ModelBundle
    from bci_valence.io.faced import parse_subjects

    from .training import PROTOCOLS, evaluate_bundle, evaluate_protocol

    torch.set_num_threads(1)
    root = _faced_root(args)
    if args.aggregation and args.protocol is None:
        print("error: --aggregation needs --protocol (unseen-clips: content the model never saw)", file=sys.stderr)
        return 2
    try:
        bundle = ModelBundle.load(args.bundle, device=args.device)
        subjects = parse_subjects(args.subjects)
        if args.protocol is None:
            result = evaluate_bundle(bundle, root, subjects, progress=not args.no_progress)
        else:
            names = PROTOCOLS if args.protocol == "both" else (args.protocol,)
            results = {
                name: evaluate_protocol(bundle, root, subjects, name,
                                        n_permutations=args.permutations, n_bootstrap=args.bootstrap,
                                        progress=not args.no_progress, aggregation=args.aggregation)
                for name in names
            }
            result = results[args.protocol] if args.protocol != "both" else {
                "protocols": list(names), **results}
    except (FileNotFoundError, BundleError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``report``."""
    p = subparsers.add_parser(
        "report",
        help="write a Markdown report with figures for a bundle",
        description=(
            "Evaluate a bundle on FACED subjects and write report.md with a confusion matrix, "
            "the per-clip projection against the V-axis coordinate and the ratings, and "
            "scalp topomaps of the projection weights per band."
        ),
    )
    _add_evaluation_arguments(p)
    p.add_argument("--out", default="report", help="output folder (default ./report)")
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_report)
    return p


def _run_report(args: argparse.Namespace) -> int:
    from bci_valence.model.bundle import BundleError
    from bci_valence.io.faced import parse_subjects

    from .report import write_report

    try:
        path = write_report(args.out, bundle_path=args.bundle, faced_root=_faced_root(args),
                            subjects=parse_subjects(args.subjects), device=args.device,
                            progress=not args.no_progress)
    except (FileNotFoundError, BundleError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(str(path))
    return 0
