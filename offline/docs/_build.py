"""Building the pages and recording a command's JSON (:mod:`offline.docs`)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bci_valence.provenance import portable_paths, provenance

from ._base import COMMAND, DATA_DIR, DOCS_DIR, NAME_RE, README, REPO, DocsError, load_records
from ._headline import update_readme
from ._pages import render_benchmarks, render_results


def _study_tables(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Studies' title, description and tables computed from their records now
    (``offline.studies.claims.docs_record``), so that every derived figure (corrections,
    verdicts) follows the current rules; other records, and every record when that
    module is absent, are left as they are."""
    try:
        from offline.studies.claims import STUDIES, docs_record  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name and (err.name == "offline.studies" or err.name.startswith("offline.studies.claims")):
            return records
        raise
    return {k: (docs_record(v) if v.get("study") in STUDIES else v) for k, v in records.items()}


def _write_paper_claims(data_dir: Path, out_path: Path) -> bool:
    """Call ``offline.studies.claims.write_paper_claims`` when that module exists."""
    try:
        from offline.studies.claims import write_paper_claims  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name and (err.name == "offline.studies" or err.name.startswith("offline.studies.claims")):
            return False
        raise
    write_paper_claims(data_dir, out_path)
    return True


def build(
    data_dir: str | Path = DATA_DIR,
    out_dir: str | Path = DOCS_DIR,
    readme: str | Path | None = README,
    claims: bool = True,
) -> list[Path]:
    """Regenerate the pages from the JSON files.

    Parameters
    ----------
    data_dir : str | Path
        The folder of measured-figure JSON files.
    out_dir : str | Path
        Where ``results.md``, ``benchmarks.md`` and ``paper-claims.md`` go.
    readme : str | Path | None
        A README whose text between the figures markers gets the headline table;
        None leaves it alone.
    claims : bool
        Also write ``paper-claims.md`` through ``offline.studies.claims`` when that
        module exists.

    Returns
    -------
    list of Path
        The files written.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    # The pages name no folder of the machine that measured: paths inside the
    # repository are shown relative to it.
    records = _study_tables({k: portable_paths(v, REPO) for k, v in load_records(data_dir).items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, text in (("results.md", render_results(records)), ("benchmarks.md", render_benchmarks(records))):
        path = out_dir / fname
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if claims and _write_paper_claims(data_dir, out_dir / "paper-claims.md"):
        written.append(out_dir / "paper-claims.md")
    if readme is not None and Path(readme).exists() and update_readme(readme, records):
        written.append(Path(readme))
    return written


def parse_json_output(text: str) -> dict[str, Any]:
    """The JSON object a command printed: the whole output, or the last object in it."""
    text = text.strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = None
        decoder = json.JSONDecoder()
        starts = [m.start() for m in re.finditer(r"(?m)^\{", text)]
        for start in reversed(starts):
            try:
                obj, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            if not text[end:].strip():
                break
            obj = None
    if not isinstance(obj, dict):
        raise DocsError("the command printed no JSON object on stdout" + (f" (it printed: {text[-300:]!r})" if text else ""))
    return obj


def _typed_command(cmd: Sequence[str], cwd: Path) -> str:
    """A command as a user would type it: ``python`` for an interpreter, relative paths."""
    out = []
    for i, arg in enumerate(cmd):
        path = Path(arg)
        if i == 0 and path.name.startswith("python"):
            out.append("python")
        elif i == 0 and path.parent.name == "bin":
            out.append(path.name)
        elif path.is_absolute():
            try:
                out.append(str(path.relative_to(cwd)))
            except ValueError:
                out.append(arg)
        else:
            out.append(arg)
    return shlex.join(out)


def record(
    name: str,
    cmd: Sequence[str],
    data_dir: str | Path = DATA_DIR,
    overwrite: bool = False,
    cwd: str | Path = REPO,
) -> Path:
    """Run a command that prints one JSON object and keep it as ``data_dir/NAME.json``.

    Parameters
    ----------
    name : str
        The file stem (letters, digits, ``_``, ``-``, ``.``).
    cmd : sequence of str
        The command and its arguments.
    data_dir : str | Path
        Where the JSON goes.
    overwrite : bool
        Replace an existing ``NAME.json``; without it an existing file is refused.
    cwd : str | Path
        The folder the command runs in (the repository by default); absolute
        paths under it, and under its parent, are written relative in the record.

    Returns
    -------
    Path
        The file written. The object is the command's, with ``"provenance"``
        added when the command gave none, and ``"exit_code"`` when it exited
        non-zero (its JSON is kept: a failed check is a result too).

    Raises
    ------
    DocsError
        When the name is malformed, the file exists without ``overwrite``, the
        command cannot be started, or it printed no JSON object.
    """
    if not NAME_RE.match(name):
        raise DocsError(f"record name {name!r} is not a plain file stem (letters, digits, '_', '-', '.')")
    if not cmd:
        raise DocsError("no command given: use `record NAME -- CMD ...`")
    data_dir, cwd = Path(data_dir), Path(cwd).resolve()
    out = data_dir / f"{name}.json"
    if out.exists() and not overwrite:
        raise DocsError(f"{out} exists; pass --overwrite to replace it")
    typed = _typed_command(cmd, cwd)
    print(f"recording {out.name}: {typed}", file=sys.stderr)
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, stdout=subprocess.PIPE, text=True, check=False)
    except OSError as err:
        raise DocsError(f"cannot run {cmd[0]!r}: {err}") from err
    obj = parse_json_output(proc.stdout)
    if "provenance" not in obj:
        obj["provenance"] = provenance(typed)
    if proc.returncode:
        obj["exit_code"] = proc.returncode
    obj = portable_paths(obj, cwd)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m offline.docs [build|record ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Regenerate docs/results.md, docs/benchmarks.md, docs/paper-claims.md and the "
        "README's headline table from docs/data/*.json (default), or record a command's JSON output.",
    )
    sub = parser.add_subparsers(dest="action")
    b = sub.add_parser("build", help="regenerate the pages (the default)")
    r = sub.add_parser(
        "record", help="run a command, add provenance, write docs/data/NAME.json",
        usage=f"{COMMAND} record [--data-dir DIR] [--overwrite] NAME -- CMD ...",
    )  # fmt: skip
    for p in (parser, b):
        p.add_argument("--data-dir", default=str(DATA_DIR), help="folder of JSON files (default docs/data)")
        p.add_argument("--out-dir", default=str(DOCS_DIR), help="where the pages go (default docs)")
        p.add_argument("--readme", default=str(README), help="README with figures markers (default README.md)")
        p.add_argument("--no-readme", action="store_true", help="leave the README alone")
    r.add_argument("--data-dir", default=str(DATA_DIR), help="folder of JSON files (default docs/data)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing NAME.json")
    r.add_argument("name", help="file stem in the data folder, e.g. bench_online")
    r.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    try:
        if args.action == "record":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            path = record(args.name, cmd, args.data_dir, overwrite=args.overwrite)
            code = json.loads(path.read_text(encoding="utf-8")).get("exit_code", 0)
            print(f"wrote {path}" + (f" (the command exited with status {code})" if code else ""),
                  file=sys.stderr)  # fmt: skip
            return 0
        written = build(args.data_dir, args.out_dir, None if args.no_readme else args.readme)
    except DocsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
