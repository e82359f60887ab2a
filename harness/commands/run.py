"""``gameday run [PROFILE]``, the certification run; ``gameday judge RUN_DIR``, the verdict again.

Exit codes (gameday.contract.exitcodes): 0 GO · 1 NO-GO · 2 INCONCLUSIVE · 3 aborted by the guard or interrupted ·
4 could not be completed (the harness or the target failed; results.json and the reports say what) · 64 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.analysis.errors import NotARun
from gameday.contract.exitcodes import ExitCode
from gameday.harness.app import app
from gameday.harness.errors import BadInput
from gameday.harness.redact import say_safely

DEFAULT_PROFILE = Path("profiles/sandbox.yaml")
SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a profile field: path.to.field=value")]


def _verdict(run_dir: Path) -> int:
    """Judge the directory and render it: results.json, report.md, junit.xml, report.html, figures/."""
    from gameday.analysis import results  # pandas, scipy, matplotlib: only when judging
    from gameday.analysis.judge import judge as judge_run
    from gameday.analysis.render import charts, html, junit, markdown
    from gameday.analysis.run import load_run

    run = load_run(run_dir)
    j = judge_run(run)
    status = results.run_status(run_dir)
    results.write(run_dir, j, status)
    markdown.write(run_dir / "report.md", run, j, status)
    junit.write(run_dir / "junit.xml", j, run_dir.name, status)
    html.write(run_dir, run, j, status, charts.render(run))
    for line in results.lines(j, status, run_dir):
        typer.echo(say_safely(line))
    return results.exit_code(j, status)


def _say(line: str) -> None:
    typer.echo(line, err=True)


@app.command()
def run(
    profile: Annotated[Path | None, typer.Argument(
        help="profile YAML (default profiles/sandbox.yaml here, else the installed one)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (default runs/<UTC>-<profile>)")] = None,
    set_: SetOption = None,
    keep_up: Annotated[bool, typer.Option(help="leave the sandbox running afterwards")] = False,
) -> None:
    """Certify: load, faults, evidence, verdict. Exit 0 GO, 1 NO-GO, 2 INCONCLUSIVE, 3 aborted, 64 bad input."""
    from gameday.harness import profile as profile_mod
    from gameday.harness.live import RunProgress
    from gameday.harness.notify import Notifier
    from gameday.harness.orchestrator import certify, preflight  # Chaos Toolkit, Locust, cloud clients
    from gameday.harness.rundir import new_run_dir
    from gameday.harness.shield import shielded

    if profile is None:
        from gameday.harness.starter import default_profile

        profile = default_profile()
    p = profile_mod.load(profile, set_ or [])
    preflight(p)
    notifier = Notifier.for_profile(p)  # its ${ENV_VAR}s resolved: bad input before anything starts
    run_dir = new_run_dir(p, out)
    typer.echo(f"run directory {run_dir}")
    with notifier.started(run_dir, _say):  # never fails the run; flushed within notify.flush_s
        failed: Exception | None = None
        try:
            with RunProgress(p, run_dir) as live:  # a Rich panel on a terminal, a line every 10 s elsewhere
                outcome = certify(p, run_dir, live.say, keep_up=keep_up,
                                  listeners=[notifier.on_event, live.on_event], on_guard=live.watch)
        except BadInput:
            raise  # refused before anything ran (a fault outside the allow-list): exit 64
        except Exception as exc:  # the harness or the target failed: judged and reported all the same
            failed = exc
        with shielded(_say):  # a partial run is judged and rendered whatever the signals
            code = _verdict(run_dir)
        notifier.verdict()
    if failed is not None:
        typer.echo(f"run could not be completed: {failed}; results {run_dir / 'results.json'}")
        raise typer.Exit(ExitCode.NOT_COMPLETED)
    typer.echo(f"{outcome.status} in {outcome.ended - outcome.started:.0f} s; results {run_dir / 'results.json'}")
    raise typer.Exit(code)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run directory")]) -> None:
    """Re-render a run directory's report offline (the same as judge): results.json, report.md,
    junit.xml, report.html and figures/. Exit codes as for run."""
    judge(run_dir)


@app.command()
def judge(run_dir: Annotated[Path, typer.Argument(help="a run directory")]) -> None:
    """Judge a run directory again, from its files alone (offline); rewrites results.json,
    report.md and junit.xml. Exit codes as for run."""
    from gameday.analysis.run import require_run

    try:
        require_run(run_dir)
    except NotARun as exc:
        raise BadInput(str(exc)) from None
    raise typer.Exit(_verdict(run_dir))
