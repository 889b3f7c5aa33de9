"""The labelcli app: the commands, and main(), the one place where an exception becomes an exit code.

Exit codes (labelcli.errors.ExitCode): 0 success; 1 a quality gate tripped; 2 bad usage or bad
input (one `Error:` line on stderr); 3 an internal error (a bug: rerun with --debug for the
traceback). Importing this module stays cheap (no numpy): `labelcli --help` is instant.
"""
from __future__ import annotations

import sys

import typer

from labelcli.cli import bench, consensus, detect, review, review_page
from labelcli.errors import ExitCode, LabelError, OutputClosed, printable

app = typer.Typer(
    name="labelcli",
    help="Find mislabeled examples in classification datasets (confident learning, from files).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# In the order `labelcli --help` lists them: detection, then the review loop.


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("labelcli")
        except PackageNotFoundError:  # run from a source tree without installing
            from labelcli import __version__ as number
        print(f"labelcli {number}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _top_level(
    show_version: bool = typer.Option(False, "--version", help="Print the version and exit.",
                                      callback=_version, is_eager=True),
) -> None:
    """Find mislabeled examples in classification datasets (confident learning, from files)."""


app.command("crossval")(detect.crossval)
app.command("find-issues")(detect.find_issues)
app.command("score")(detect.score)
app.command("health")(detect.health)
app.command("report")(review.report_cmd)
app.command("fix")(review.fix_cmd)
app.command("evaluate")(review.evaluate_cmd)
app.command("review")(review_page.review_cmd)
app.command("benchmark")(bench.benchmark_cmd)
app.command("consensus")(consensus.consensus_cmd)


def as_flags(text: str) -> str:
    """Core and API messages name options in words ("the `normalize` option"); on the command
    line they are flags (--normalize)."""
    import re

    return re.sub(r"the `([a-z_]+)` option", lambda m: "--" + m.group(1).replace("_", "-"), text)


def _one_line(text: str) -> str:
    return printable(" ".join(str(text).split()))


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt: the open writers remove their temp files."""

    exit_code = 128 + 15


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def _handle_sigterm() -> None:
    import signal

    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread (tests), or no SIGTERM
        return None


def _restore_sigterm(previous) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _usage_error(e: Exception) -> bool:
    """Click's (or typer's vendored click's) usage errors: exit code 2 and a formatted message."""
    return getattr(e, "exit_code", None) == 2 and hasattr(e, "format_message")


def _say(line: str) -> None:
    """Write the one stderr line; with stderr closed (`2>&-`) the exit code must still be right."""
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - sys.stderr is None, EBADF, EPIPE: nothing left to tell
        pass


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app; turn every failure into an exit code and one line."""
    args = sys.argv[1:] if argv is None else argv
    previous = _handle_sigterm()
    try:
        code = app(args=args, prog_name="labelcli", standalone_mode=False)
    except LabelError as e:
        _say(f"Error: {_one_line(as_flags(str(e)))}\n")
        code = ExitCode.BAD_INPUT
    except (typer.Exit, typer.Abort, KeyboardInterrupt, Terminated) as e:
        code = getattr(e, "exit_code", 130)  # SIGINT 130, SIGTERM 143 (128 + the signal number)
    except (BrokenPipeError, OutputClosed):
        code = ExitCode.OK  # the reader of our stdout went away (e.g. `| head`): not an error
    except Exception as e:
        name = type(e).__name__
        if name == "NoArgsIsHelpError":
            code = ExitCode.OK
        elif _usage_error(e):
            ctx = getattr(e, "ctx", None)
            cmd = ctx.command_path if ctx is not None else "labelcli"
            _say(f"Error: {_one_line(e.format_message())} (see '{cmd} --help')\n")
            code = ExitCode.BAD_INPUT
        elif name in ("Exit", "Abort"):
            code = getattr(e, "exit_code", 1)
        elif "--debug" in args:  # the traceback, and still exit 3 (a bug is a bug either way)
            import traceback

            _say("".join(traceback.format_exception(e)))
            code = ExitCode.INTERNAL
        else:  # a bug: keep it to one line unless asked
            _say(f"Error: internal error ({name}: {_one_line(e)}); "
                 "this is a bug, rerun with --debug for the traceback\n")
            code = ExitCode.INTERNAL
    _restore_sigterm(previous)
    sys.exit(int(code) if isinstance(code, int) else int(ExitCode.OK))
