"""``bci-valence study NAME``: the paper's analyses as resumable studies run on Ray.

Heavy imports (torch, ray, mne) happen inside the handlers, so that ``--help`` is
instant. Every study writes a results folder (``--out``): ``results.json`` (every
trial's figures), ``summary.md``, figures, and ``trials/`` (one JSON per finished
trial; running the same command again resumes an interrupted study).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bci_valence.commands import fail

#: Keys of each study's results.json printed at the end (the headline figures).
HEADLINE = {
    "probe": ("r_encoding_bacc", "p_value", "specificity", "spearman_encoding_bacc", "mean_encoding_percentile",
              "verdict", "n_trials"),
    "topography": ("regions", "region_p", "top", "top_p", "n_permutations", "arousal_split", "verdict"),
    "saturation": ("baseline_bacc", "n_strategies", "n_helped", "n_hurt", "n_hurt_uncorrected", "n_specific_harm",
                   "vaxis_minus_control", "worst", "max_abs_control_delta", "verdict", "n_trials"),
    "residual": ("mean_delta_abs_r_class_mean", "mean_delta_abs_r_residual", "delta_bacc_remove_task",
                 "delta_bacc_remove_kd", "checks", "ensemble", "ensemble_test", "verdict", "ensemble_verdict",
                 "n_trials"),
}


def _common(p: argparse.ArgumentParser, ray: bool = True) -> None:
    p.add_argument("--faced-root", default=None,
                   help="FACED root (EEG_Features/DE, Data, Recording_info.csv); default $BCI_VALENCE_FACED, "
                        "else $BCI_VALENCE_SHARED_DATA/faced, else ../shared/data/faced if it exists, else ./faced")
    p.add_argument("--out", required=True,
                   help="results folder (new, or the same study's folder to resume it)")
    p.add_argument("--axis", default=None, metavar="DIR",
                   help="V-axis folder from `bci-valence axis build` (default: the shipped axis)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    if not ray:
        return
    p.add_argument("--train", default=None, help="training subjects (default 0-39; 0-79 with --paper)")
    p.add_argument("--val", default="80-99", help="validation subjects (default 80-99)")
    p.add_argument("--paper", action="store_true", help="the paper-sized study (see above)")
    g = p.add_argument_group("Ray")
    g.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="an existing Ray cluster: the head's address as `ray start --head --port PORT` "
                        "prints it, 'auto' (the head on this machine) or ray://HOST:10001; a head on "
                        "another machine with token authentication needs RAY_AUTH_MODE=token and its "
                        "token in RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH. Default: a private local "
                        "instance (never RAY_ADDRESS or a cluster `ray start` left running)")
    g.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray instance (default: all of this machine's)")
    g.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs per trial (default 1)")
    g.add_argument("--gpus-per-trial", "--num-gpus", dest="gpus_per_trial", type=float, default=0.0,
                   help="GPUs per trial (default 0)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``study`` and its subcommands."""
    p = subparsers.add_parser(
        "study",
        help="the paper's analyses (encoding probe, topography, saturation, residual) on Ray",
        description=(
            "Run one of the paper's analyses as a study of independent trials on Ray (a local "
            "instance by default, --address for a cluster). Each writes --out/results.json, "
            "summary.md and figures; trials are saved as they finish, so the same command "
            "resumes an interrupted study. Defaults are sized for a 2-core CPU; --paper gives "
            "the paper's size."
        ),
    )
    sub = p.add_subparsers(dest="study", metavar="STUDY", required=True)

    _add_probe(sub)
    _add_topography(sub)
    _add_saturation(sub)
    _add_residual(sub)
    return p


def _add_probe(sub: Any) -> None:
    """Add ``study probe``: V-axis encoding vs BACC across a population of classifiers."""
    q = sub.add_parser(
        "probe", help="V-axis encoding vs BACC across a population of classifiers",
        description=(
            "Train a population of classifiers on the emotion labels only (linear, MLP, the "
            "project's DE network, a transformer; several widths, depths, seeds, training "
            "lengths), measure each one's validation BACC and the V-axis encoding strength of its "
            "penultimate representation (cross-validated r of a linear probe onto the class's "
            "V-axis coordinate, and its percentile against 1000 random directions of the language "
            "model's space), and correlate the two across configurations (each the mean over its "
            "seeds) and across classifiers. Default: 27 classifiers (9 configurations of "
            "architecture and training length x 3 seeds, up to 10 epochs), sub 0-39, a few "
            "minutes on 2 CPU cores. --paper: 36 classifiers (12 configurations x 3 seeds), up to "
            "40 epochs on sub 0-79 (about 1.5 h on 2 cores; minutes on a GPU)."
        ),
    )
    _common(q)
    q.add_argument("--n", type=int, default=None,
                   help="classifiers, 3 seeds per configuration (default 27; 36 with --paper)")
    q.add_argument("--epochs", type=int, default=None, help="epochs of the longest-trained (default 10; 40)")
    q.add_argument("--n-random", type=int, default=1000, help="random directions (default 1000)")
    q.set_defaults(func=_run_probe)


def _add_topography(sub: Any) -> None:
    """Add ``study topography``: where on the scalp DE follows the V-axis."""
    t = sub.add_parser(
        "topography", help="where on the scalp stimulus-level DE follows the V-axis (no training)",
        description=(
            "Per channel x band: Pearson r across the 28 clips between the subjects' mean "
            "standardized DE of each clip and the V-axis coordinate of its class; region means "
            "of |r|, the strongest channel x band, its r on the 9 highest-arousal clips vs the 19 "
            "others, and topomaps per band; each region's mean |r| and the strongest channel x band "
            "against permutations of the classes' coordinates (max-statistic for the strongest), "
            "and a verdict that needs the paper's ordering beyond chance. No training, no Ray."
        ),
    )
    _common(t, ray=False)
    t.add_argument("--subjects", default="80-99", help="subjects to average (default 80-99)")
    t.add_argument("--arousal-subjects", default=None,
                   help="subjects whose ratings give the clips' mean arousal (default: all in the root)")
    t.add_argument("--permutations", type=int, default=None,
                   help="permutations of the class coordinates for the p-values (default 5000)")
    t.set_defaults(func=_run_topography)


def _add_saturation(sub: Any) -> None:
    """Add ``study saturation``: auxiliary V-axis losses vs the task-only baseline."""
    s = sub.add_parser(
        "saturation", help="auxiliary V-axis losses vs the task-only baseline (paired over seeds)",
        description=(
            "Compare a task-only baseline with auxiliary-loss strategies that push the V-axis "
            "into the classifier (knowledge distillation, representational similarity, "
            "supervised contrastive, low-rank adapters, curricula, ensembles, channel-targeted) "
            "and random-direction controls, on a weak (rank-16 linear) and a strong (DE network "
            "64x2) baseline, each over paired seeds; a forest plot of the BACC differences. "
            "Every strategy family has its matched random-direction control (the same loss on a "
            "random axis, same seeds); p-values are Holm-corrected. Default: 7 strategies + their "
            "7 controls + baseline x 2 baselines x 5 seeds = 150 trials, sub 0-39, 10 epochs (4 for "
            "the weak baseline). --paper: all strategies, 10 seeds, 30 epochs on sub 0-79 (hours on a CPU)."
        ),
    )
    _common(s)
    s.add_argument("--seeds", type=int, default=None, help="seeds per condition (default 5; 10)")
    s.add_argument("--epochs", type=int, default=None, help="epochs of the strong baseline (default 10; 30)")
    s.add_argument("--strategies", default=None,
                   help="comma list of strategies (default: one per family and one control; "
                        "'all' for every one)")
    s.add_argument("--baselines", default="weak,strong", help="weak,strong (default both)")
    s.set_defaults(func=_run_saturation)


def _add_residual(sub: Any) -> None:
    """Add ``study residual``: class-mean vs within-class residual, and its ensemble."""
    r = sub.add_parser(
        "residual", help="class-mean vs within-class residual, and a residual-diverse ensemble",
        description=(
            "Decompose the representation of a task-only and a distilled DE network along its "
            "V-axis direction into the class-mean component and the within-class residual, "
            "measure how the auxiliary loss moves each and the BACC cost of removing the "
            "direction at inference; compare a seed ensemble with members made diverse in the "
            "within-class residual, on the validation subjects and under the unseen-clips protocol "
            "(3 clip folds); the ensemble comparison is a paired test over seeds (5 or more for a "
            "verdict). Default: 5 seeds x (2 models + 2 ensembles of 3 + 2 x 3 fold "
            "ensembles), sub 0-39, 10 epochs. --paper: 10 seeds, 30 epochs, 5 members, sub 0-79."
        ),
    )
    _common(r)
    r.add_argument("--seeds", type=int, default=None, help="seeds (default 5; 10)")
    r.add_argument("--epochs", type=int, default=None, help="epochs (default 10; 30)")
    r.add_argument("--members", type=int, default=None, help="ensemble members (default 3; 5)")
    r.add_argument("--diversity", type=float, default=0.5, help="residual-diversity weight (default 0.5)")
    r.add_argument("--no-unseen-clips", action="store_true",
                   help="skip the ensembles' unseen-clips comparison (3 clip folds; about half the time)")
    r.set_defaults(func=_run_residual)


def _joins_ray(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Check ``--address`` before the study loads its data; a cluster that cannot be
    joined ends the command with one line (exit 2) that says what to set."""

    @functools.wraps(run)
    def checked(args: argparse.Namespace) -> int:
        from .studies.runner import RayConnectionError, check_address

        try:
            if args.address is not None:
                args.address = check_address(args.address)
            return run(args)
        except RayConnectionError as err:
            return fail(str(err))

    return checked


def _options(args: argparse.Namespace) -> Any:
    from .studies.runner import RayOptions

    return RayOptions(address=args.address, num_cpus=args.num_cpus,
                      cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial)


def _faced_root(args: argparse.Namespace) -> str:
    """``--faced-root``, else the one default every command shares."""
    from bci_valence.io.faced import default_faced_root

    return str(args.faced_root or default_faced_root())


def _given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """Settings fields from the options the user gave (``field=option name``)."""
    return {field: getattr(args, opt) for field, opt in names.items() if getattr(args, opt) is not None}


def _print(name: str, result: dict[str, Any], out: str) -> int:
    head = {k: result[k] for k in HEADLINE[name] if k in result}
    head["out"] = str(out)
    print(json.dumps(head, indent=1))
    if result.get("n_trials", 0) < result.get("n_planned", 0):
        print(f"{result['n_planned'] - result['n_trials']} trial(s) unfinished: run the same "
              "command again to resume", file=sys.stderr)
        return 1
    return 0


def _settings(cls: Any, args: argparse.Namespace, fields: dict[str, Any]) -> Any:
    root = _faced_root(args)
    base = cls.paper(root) if args.paper else cls(root)
    if args.train is not None:
        fields["train"] = args.train
    return replace(base, val=args.val, axis=args.axis, **fields)


@_joins_ray
def _run_probe(args: argparse.Namespace) -> int:
    from .studies.probe import ProbeSettings, run_probe

    settings = _settings(ProbeSettings, args, {**_given(args, n="n", epochs="epochs"),
                                               "n_random": args.n_random})
    return _print("probe", run_probe(settings, args.out, _options(args), not args.no_progress), args.out)


def _run_topography(args: argparse.Namespace) -> int:
    from .studies.topography import TopographySettings, run_topography

    settings = TopographySettings(_faced_root(args), args.subjects, args.arousal_subjects, args.axis,
                                  **_given(args, n_permutations="permutations"))
    return _print("topography", run_topography(settings, args.out, not args.no_progress), args.out)


@_joins_ray
def _run_saturation(args: argparse.Namespace) -> int:
    from .studies.saturation import STRATEGIES, SaturationSettings, run_saturation

    fields = _given(args, seeds="seeds", epochs="epochs")
    if args.strategies is not None:
        fields["strategies"] = (tuple(STRATEGIES) if args.strategies.strip() == "all" else
                                tuple(x.strip() for x in args.strategies.split(",") if x.strip()))
    fields["baselines"] = tuple(x.strip() for x in args.baselines.split(",") if x.strip())
    settings = _settings(SaturationSettings, args, fields)
    return _print("saturation", run_saturation(settings, args.out, _options(args), not args.no_progress),
                  args.out)


@_joins_ray
def _run_residual(args: argparse.Namespace) -> int:
    from .studies.residual import ResidualSettings, run_residual

    fields = {**_given(args, seeds="seeds", epochs="epochs", members="members"),
              "diversity": args.diversity, "unseen_clips": not args.no_unseen_clips}
    settings = _settings(ResidualSettings, args, fields)
    return _print("residual", run_residual(settings, args.out, _options(args), not args.no_progress),
                  args.out)
