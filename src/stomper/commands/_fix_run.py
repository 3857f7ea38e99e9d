"""One ``stomper fix`` run: the files (resume, shard), the cache, the journal and the display
around :func:`stomper.engine.run_fix`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple, Protocol

from stomper.bundle import BundleCollector, bundle_json, parse_shard, select_shard
from stomper.cache import ResultCache, cache_dir
from stomper.cache_agent import CacheSession
from stomper.commands import _common
from stomper.engine import FixRun, RunEvents, run_fix
from stomper.fix_report import RunInfo
from stomper.git import common_dir
from stomper.loop import run_to_end
from stomper.plugins import Plugins
from stomper.resume import JournalWriter, journal_path, read_journal, still_done
from stomper.types import FileResult


class Display(Protocol):
    """What the command's display does (:mod:`stomper.progress`)."""

    def __enter__(self) -> object: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def stage(self, path: str, stage: str, detail: str) -> None: ...

    def file_done(self, result: FileResult) -> None: ...


class FixOutcome(NamedTuple):
    """What the run did and what the command needs to report it."""

    fix_run: FixRun
    info: RunInfo
    validated: dict[str, tuple[bytes, bytes]]
    bundle: str  # the fixes as a bundle (--patch-out), else ""
    display: Display


def make_display(args: argparse.Namespace) -> Display:
    """A live display on an interactive terminal; plain lines otherwise (pipes, CI, NO_COLOR)."""
    from stomper.progress import PlainDisplay

    interactive = sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    if interactive and not os.environ.get("NO_COLOR") and not args.quiet:
        from rich.console import Console

        from stomper.progress_live import LiveDisplay

        return LiveDisplay(Console(), quiet=args.quiet)
    return PlainDisplay(sys.stdout, quiet=args.quiet, verbose=args.verbose)


def wants_diffs(args: argparse.Namespace, plugins: Plugins) -> bool:
    """Whether anything will read the results' diffs: shown, reported, or seen by plugins."""
    return bool(args.show_diff or args.dry_run or args.report or plugins.take_results())


def fix_files(args: argparse.Namespace, project: _common.Project) -> FixOutcome:
    """Select, run, and keep the journal; the cache and the bundle collector ride along."""
    common = common_dir(project.root)
    files = _common.select_files(project, _common.selection(args))
    files, resumed, left = _resume(args, project.root, common, files)
    if args.shard:
        files = select_shard(files, *parse_shard(args.shard))
    display = make_display(args)
    journal = _journal(args, common, files)
    session = _cache_session(project, common, display)
    collector = BundleCollector()
    events = RunEvents(
        on_stage=display.stage,
        on_validated=collector,
        wrap_agent=session.wrap if session is not None else None,
    )

    def file_done(result: FileResult) -> None:
        display.file_done(result)
        if journal is not None:
            journal.record(project.root, result)

    started, complete, interrupted = time.monotonic(), False, False
    try:
        with display:
            fix_run = run_to_end(
                run_fix(
                    project.root,
                    project.config,
                    project.plugins,
                    files,
                    dry_run=args.dry_run or args.patch_out is not None,
                    on_file_done=file_done,
                    events=events,
                    diffs=wants_diffs(args, project.plugins),
                )
            )
        complete = True
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if journal is not None and not journal.close(complete=complete):
            _resume_hint(interrupted=interrupted)
    info = RunInfo(
        elapsed=time.monotonic() - started,
        shard=args.shard,
        patch_out=str(args.patch_out) if args.patch_out is not None else None,
        cache=session.cache.stats.as_dict() if session is not None else None,
        resumed=tuple(resumed),
        resumed_left=len(left),
    )
    bundle = ""
    if args.patch_out is not None:
        bundle = bundle_json(collector.fixes(fix_run.results), args.shard)
    return FixOutcome(fix_run, info, collector.validated, bundle, display)


def _resume_hint(*, interrupted: bool) -> None:
    """Say that ``--resume`` continues this run: in the interrupted run's one-line account,
    or on a line of its own after an error."""
    hint = "`stomper fix --resume` continues this run"
    if interrupted:
        from stomper.interrupts import add_to_account

        add_to_account(hint)
    else:
        print(f"stomper: {hint}.", file=sys.stderr)


def _resume(
    args: argparse.Namespace, root: Path, common: Path, files: list[str]
) -> tuple[list[str], list[str], set[str]]:
    """The files still to do, those an interrupted run finished (``--resume``), and those of
    them it left diagnostics in (they still count for the exit code)."""
    if not args.resume:
        return files, [], set()
    journal = read_journal(journal_path(common))
    if journal is None:
        print("stomper: no interrupted run to resume; fixing the selection.", file=sys.stderr)
        return files, [], set()
    chosen = _common.selection(args)
    if not (chosen.paths or chosen.staged or chosen.changed or chosen.since):
        files = [path for path in journal.files if (root / path).is_file()]
    done = still_done(journal, root) & set(files)
    return [path for path in files if path not in done], sorted(done), done & journal.left


def _journal(args: argparse.Namespace, common: Path, files: list[str]) -> JournalWriter | None:
    """The resume journal of a run that writes to the tree; None for dry runs and bundles."""
    if args.dry_run or args.patch_out is not None:
        return None
    location = journal_path(common)
    if args.resume and read_journal(location) is not None:
        return JournalWriter(location, None)
    return JournalWriter(location, files)


def _cache_session(project: _common.Project, common: Path, display: Display) -> CacheSession | None:
    """The run's result cache, unless ``cache = false`` / ``--no-cache``."""
    config = project.config
    if not config.cache:
        return None
    cache = ResultCache(cache_dir(project.root, common, config.cache_dir), config.deny)
    return CacheSession(cache, config, project.plugins, notify=display.stage)
