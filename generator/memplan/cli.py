"""memplan's command line: generate, check, report, name, mbedtls, stack, check-elf, diff, init, fit, schema.

Exit codes: 0 ok, 1 profile, budget or image errors, 2 usage errors (bad
arguments, and input files that cannot be read as an image or a report).
This module alone prints and chooses exit codes; the commands' modules return
results or raise their own errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, NoReturn, Optional, Sequence, Tuple

from memplan import __version__
from memplan.diagnostics import ProfileError
from memplan.model import Profile
from memplan.planner import Plan, plan, summary

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Printed as `WHERE: error: MESSAGE` (WHERE is memplan, or the file at fault) with exit code 2."""

    def __init__(self, message: str, where: str = "memplan") -> None:
        super().__init__(message)
        self.where = where


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _load_and_plan(paths: Sequence[str]) -> Tuple[List[Tuple[Plan, bytes]], List[str]]:
    """Plans every profile; returns the plans and every diagnostic (all files, all errors)."""
    from memplan.validator import load_profile

    plans: List[Tuple[Plan, bytes]] = []
    errors: List[str] = []
    for path in paths:
        try:
            profile, data = load_profile(path)
            plans.append((plan(profile), data))
        except ProfileError as exc:
            errors.extend(str(d) for d in exc.diagnostics)
        except OSError as exc:
            raise UsageError(f"cannot read profile {path}: {exc.strerror}") from None
    return plans, errors


def _unique_names(plans: List[Tuple[Plan, bytes]]) -> List[str]:
    seen: Dict[str, Profile] = {}
    errors = []
    for result, _ in plans:
        p = result.profile
        if p.name in seen:
            pos = p.positions.get("name")
            where = f"{p.path}:{pos.line}:{pos.column}" if pos else p.path
            errors.append(f"{where}: error: name: profile name '{p.name}' is also used by {seen[p.name].path}")
        else:
            seen[p.name] = p
    return errors


def _cmd_generate(args: argparse.Namespace) -> int:
    from memplan.output import write_outputs
    from memplan.render import render

    plans, errors = _load_and_plan(args.profiles)
    errors += _unique_names(plans)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    outputs = {result.profile.name: render(result, data) for result, data in plans}
    try:
        written = write_outputs(args.out, outputs)
    except OSError as exc:  # --out names a file, or a directory we may not write
        raise UsageError(f"cannot write {exc.filename or args.out}: {exc.strerror}") from None
    if args.verbose:
        for path in written:
            print(f"memplan: wrote {path}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    plans, errors = _load_and_plan(args.profiles)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    for result, _ in plans:
        regions = ", ".join(f"{name} {used}/{budget} B" for name, (used, budget) in summary(result).items())
        print(f"{result.profile.path}: ok: {regions}")
    return EXIT_OK


def _cmd_name(args: argparse.Namespace) -> int:
    """The profile's name, for build systems (memplan_add_layout): never parse the YAML elsewhere.
    With --outputs, then the files `generate` writes for it, one per line, relative to --out."""
    from memplan.names import OUTPUT_FILES
    from memplan.validator import load_profile_name

    try:
        name = load_profile_name(args.profile)
    except ProfileError as exc:
        print("\n".join(str(d) for d in exc.diagnostics), file=sys.stderr)
        return EXIT_ERRORS
    except OSError as exc:
        raise UsageError(f"cannot read profile {args.profile}: {exc.strerror}") from None
    print(name)
    if args.outputs:
        for file_name in OUTPUT_FILES:
            print(f"{name}/{file_name}")
    return EXIT_OK


def _cmd_mbedtls(args: argparse.Namespace) -> int:
    """The macros of the one mbedTLS build the profiles share, one per line (for memplan's CMake
    functions); the defaults without profiles; exit 1 naming each profile that disagrees.
    With --ignore-invalid, a profile that does not validate is left out (the build's generate
    step reports its errors, where a bad profile's errors belong)."""
    from memplan.mbedtls_build import build_options
    from memplan.validator import load_profile

    profiles: List[Profile] = []
    errors: List[str] = []
    for path in args.profiles:
        try:
            profiles.append(load_profile(path)[0])
        except ProfileError as exc:
            if not args.ignore_invalid:
                errors.extend(str(d) for d in exc.diagnostics)
        except OSError as exc:
            raise UsageError(f"cannot read profile {path}: {exc.strerror}") from None
    if not errors:
        try:
            options = build_options(profiles)
        except ProfileError as exc:
            errors = [str(d) for d in exc.diagnostics]
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    for macro in options.macros:
        print(macro)
    return EXIT_OK


def _pairs(values: Sequence[str], option: str, separator: str) -> List[Tuple[str, str]]:
    pairs = []
    for value in values:
        name, found, rest = value.partition(separator)
        if not found or not name or not rest:
            raise UsageError(f"{option} takes NAME{separator}VALUE (got {value!r})")
        pairs.append((name, rest))
    return pairs


def _number(text: str, option: str) -> int:
    if not text.isdigit() or len(text) > 10:
        raise UsageError(f"{option} takes a number of bytes or times (got {text!r})")
    return int(text)


def _cmd_stack(args: argparse.Namespace) -> int:
    """The worst-case stack of each entry point of a linked Cortex-M image, from GCC's call-graph files."""
    from memplan.callgraph_files import CallGraphError, read_all, resolve
    from memplan.elfimage import EM_ARM, ImageError, read_image
    from memplan.stack_bound import EXCEPTION_FRAME, Annotations, EntryPoint, StackGraph
    from memplan.stack_report import render

    if args.core not in EXCEPTION_FRAME:
        raise UsageError(f"--core must be one of {', '.join(EXCEPTION_FRAME)} (got {args.core!r})")
    entries = [EntryPoint(name) for name in args.entry]
    entries += [EntryPoint(name, "interrupt", _number(p, "--interrupt")) for name, p in _pairs(args.interrupt, "--interrupt", ":")]
    entries += [EntryPoint(name, "thread", 0, _number(size, "--thread")) for name, size in _pairs(args.thread, "--thread", ":")]
    if not entries:
        raise UsageError("name at least one entry point (--entry, --interrupt or --thread)")
    annotations = Annotations(
        calls={caller: targets.split(",") for caller, targets in _pairs(args.calls, "--calls", "=")},
        recursion={name: _number(n, "--recursion") for name, n in _pairs(args.recursion, "--recursion", "=")},
        frames={name: _number(n, "--frame") for name, n in _pairs(args.frame, "--frame", "=")})
    try:
        image = read_image(args.elf)
        callgraph = read_all(resolve(args.callgraph))
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except ImageError as exc:
        raise UsageError(f"not an ELF image the stack analysis can read: {exc}", args.elf) from None
    except CallGraphError as exc:
        raise UsageError(str(exc)) from None
    if image.machine != EM_ARM:
        raise UsageError("the stack analysis reads Cortex-M (ARM) images only", args.elf)
    report = StackGraph(image, callgraph, annotations).bound(entries, args.core)
    over = [message for _, message in report.shortfalls(args.stack_size)]
    sys.stdout.write(render(report, args.format, args.stack_size))
    for message in report.errors + over:
        print(f"{args.elf}: error: stack: {message}", file=sys.stderr)
    return EXIT_ERRORS if report.errors or over else EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from memplan.render import render_report

    plans, errors = _load_and_plan([args.profile])
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    result, data = plans[0]
    sys.stdout.write(render_report(result, data, args.format))
    return EXIT_OK


def _write_report(path: str, text: str) -> None:
    """The report file, written whole or not at all; a missing folder or a read-only one is a usage error."""
    from memplan.output import write_atomically

    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write report {path}: {exc.strerror}") from None


def _cmd_check_elf(args: argparse.Namespace) -> int:
    from memplan.callgraph_files import CallGraphError, read_all, resolve
    from memplan.elfcheck import MismatchError, check_image
    from memplan.elfimage import ImageError, read_image
    from memplan.elfreport import error_lines, render
    from memplan.linker_map import MapError, read_map

    plans, errors = _load_and_plan([args.profile])
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    measured = _measured_stacks(args.stack_measured, plans[0][0].profile)
    try:
        image = read_image(args.elf)
        callgraph = read_all(resolve(args.callgraph)) if args.callgraph is not None else None
        linker_map = read_map(args.map) if args.map is not None else None
        result = check_image(image, plans[0][0], callgraph, linker_map, measured)
    except OSError as exc:
        what = {None: "image", args.elf: "image", args.map: "linker map"}.get(exc.filename, "call-graph file")
        raise UsageError(f"cannot read {what} {exc.filename or args.elf}: {exc.strerror}") from None
    except MapError as exc:
        raise UsageError(f"linker map: {exc}") from None
    except ImageError as exc:
        raise UsageError(f"not an ELF image check-elf can read: {exc}", args.elf) from None
    except MismatchError as exc:
        raise UsageError(str(exc)) from None
    except CallGraphError as exc:
        raise UsageError(str(exc)) from None
    text = render(result, args.format)
    if args.output:
        _write_report(args.output, text)
    if args.picture:
        from memplan import picture
        from memplan.render import render_picture
        comment = f"Measured by memplan {__version__} from {os.path.basename(args.elf)} and profile {os.path.basename(args.profile)}"
        _write_report(args.picture, render_picture(picture.measured(result, comment)))
    sys.stdout.write(text)
    if result.findings and args.format != "text":
        print("\n".join(error_lines(result)), file=sys.stderr)
    return EXIT_ERRORS if result.findings else EXIT_OK


def _measured_stacks(given: List[str], profile: Profile) -> Dict[str, int]:
    """--stack-measured main=1432: each a stack of the profile (main, or a thread's entry), once."""
    stacks = ["main", *(t.function for t in profile.stack.threads)] if profile.stack else []
    measured: Dict[str, int] = {}
    for item in given:
        name, _, value = item.partition("=")
        if not name or not value.isdigit() or len(value) > 10:
            raise UsageError(f"--stack-measured {item!r}: expected STACK=BYTES (main, or a thread's entry function)")
        if name not in stacks:
            known = ", ".join(stacks) or "none: the profile has no stack section"
            raise UsageError(f"--stack-measured {item!r}: profile {profile.name} has no stack {name!r} (its stacks: {known})")
        if name in measured:
            raise UsageError(f"--stack-measured: stack {name!r} is given twice")
        measured[name] = int(value)
    return measured


def _cmd_init(args: argparse.Namespace) -> int:
    """A product that builds and runs as written: profile, CMake, linker script, startup, main, presets."""
    from memplan.product_init import InitError, checkout_dir, render_product, write_product

    memplan_dir = os.path.abspath(args.memplan) if args.memplan else checkout_dir()
    if args.memplan and not os.path.isfile(os.path.join(memplan_dir, "cmake", "Memplan.cmake")):
        raise UsageError(f"--memplan {args.memplan}: not a memplan checkout (no cmake/Memplan.cmake)")
    try:
        files = render_product(args.dir, args.core, args.profile, args.name, memplan_dir)
        write_product(args.dir, files)
    except InitError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.dir}: {exc.strerror}") from None
    print(f"{args.dir}: {', '.join(sorted(files))}")
    print(f"  cd {args.dir} && cmake --preset {args.core} && cmake --build --preset {args.core} && ctest --preset {args.core}")
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from memplan.diff import ReportError, compare, compare_stacks, grown_over, load_reports, render

    if args.fail_over is not None and args.fail_over < 0:
        raise UsageError(f"--fail-over takes a number of bytes >= 0 (got {args.fail_over})")
    try:
        old, new = load_reports(args.old), load_reports(args.new)
    except ReportError as exc:
        raise UsageError(str(exc), exc.where) from None
    changes = compare(old, new)
    sys.stdout.write(render(changes, args.format, compare_stacks(old, new)))
    if args.fail_over is None:
        return EXIT_OK
    over = grown_over(changes, args.fail_over)
    for c in over:
        print(f"memplan: error: {c.product} region {c.name} grew by {c.delta} B, more than --fail-over {args.fail_over} B", file=sys.stderr)
    return EXIT_ERRORS if over else EXIT_OK


def _cmd_fit(args: argparse.Namespace) -> int:
    """Counts and block sizes that would have served the dumps' peaks, as a profile diff."""
    from memplan.fit import MAX_MARGIN_PERCENT, FitError, fit
    from memplan.fit_report import render
    from memplan.statistics_dump import DumpError, read_dumps

    if not 0 <= args.margin <= MAX_MARGIN_PERCENT:
        raise UsageError(f"--margin takes a percentage from 0 to {MAX_MARGIN_PERCENT} (got {args.margin})")
    plans, errors = _load_and_plan([args.profile])
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return EXIT_ERRORS
    result_plan, data = plans[0]
    dumps = []
    for path in args.dumps:
        try:
            dumps.extend(read_dumps(path))
        except OSError as exc:
            raise UsageError(f"cannot read dump {path}: {exc.strerror}") from None
        except DumpError as exc:
            raise UsageError(str(exc), exc.where) from None
    text = data.decode("utf-8")  # the loader has read it as UTF-8 already
    try:
        result = fit(result_plan.profile, text, dumps, args.margin, set(args.keep_block_size), args.keep_block_sizes)
    except FitError as exc:
        raise UsageError(str(exc), exc.where) from None
    shown = os.path.normpath(args.profile)
    relative = os.path.relpath(shown)
    sys.stdout.write(render(result, text, relative if not relative.startswith("..") else shown.lstrip("/")))
    if result.problems:
        for problem in result.problems:
            print(f"{args.profile}: error: the proposal is not a valid profile: {problem}", file=sys.stderr)
        return EXIT_ERRORS
    if args.output:
        _write_report(args.output, result.text)
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    """The JSON Schema rendered from the validator's rules (profiles/profile.schema.json is this output)."""
    from memplan.schema import text

    sys.stdout.write(text())
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="memplan", description="Static memory layouts for embedded cryptography.")
    parser.add_argument("--version", action="version", version=f"memplan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    table: List[Tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = [
        ("generate", "write layout.hpp, layout.ld and budget reports per profile", _args_generate, _cmd_generate),
        ("check", "validate profiles and their budgets; write nothing", _args_check, _cmd_check),
        ("report", "print a profile's RAM budget report", _args_report, _cmd_report),
        ("name", "print a profile's name (for build systems)", _args_name, _cmd_name),
        ("mbedtls", "print the mbedTLS macros the profiles' shared build needs", _args_mbedtls, _cmd_mbedtls),
        ("stack", "the worst-case stack of a Cortex-M image's entry points", _args_stack, _cmd_stack),
        ("check-elf", "check a linked image against its profile", _args_check_elf, _cmd_check_elf),
        ("diff", "compare two budget.json reports", _args_diff, _cmd_diff),
        ("init", "write a product that builds and runs as written (a folder of its own)", _args_init, _cmd_init),
        ("fit", "propose pool counts, block sizes, sessions and key slots from runs' statistics", _args_fit, _cmd_fit),
        ("schema", "print the JSON Schema of a profile (for editors)", _args_none, _cmd_schema),
    ]
    for name, help_text, add_arguments, handler in table:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


def _args_none(p: argparse.ArgumentParser) -> None:
    del p  # the command takes no arguments


def _args_generate(p: argparse.ArgumentParser) -> None:
    p.add_argument("profiles", nargs="+", metavar="PROFILE")
    p.add_argument("--out", required=True, metavar="DIR", help="writes DIR/<name>/{layout.hpp,layout.ld,budget.*}")
    p.add_argument("-v", "--verbose", action="store_true", help="name each file rewritten")


def _args_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("profiles", nargs="+", metavar="PROFILE")


def _args_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("--format", choices=("text", "md", "json"), default="text")


def _args_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("--outputs", action="store_true", help="also print the files generate writes, relative to --out")


def _args_mbedtls(p: argparse.ArgumentParser) -> None:
    p.add_argument("profiles", nargs="*", metavar="PROFILE", help="every profile linked against the build (none: defaults)")
    p.add_argument("--ignore-invalid", action="store_true", help="leave out profiles that do not validate")


def _args_stack(p: argparse.ArgumentParser) -> None:
    p.add_argument("elf", metavar="ELF")
    p.add_argument("--callgraph", nargs="+", required=True, metavar="PATH",
                   help="the build's call graph: .ci files, folders holding them, or object files with a .ci beside them")
    p.add_argument("--core", required=True, metavar="CORE", help="the core, for its exception frame")
    p.add_argument("--entry", action="append", default=[], metavar="FUNCTION", help="a thread-mode entry on the main stack (reset)")
    p.add_argument("--interrupt", action="append", default=[], metavar="FUNCTION:PRIORITY", help="a handler and its preemption priority")
    p.add_argument("--thread", action="append", default=[], metavar="FUNCTION:BYTES", help="a thread entry and its own stack's size")
    p.add_argument("--calls", action="append", default=[], metavar="CALLER=T1,T2", help="the targets of a function's indirect calls")
    p.add_argument("--recursion", action="append", default=[], metavar="FUNCTION=N", help="how many times a recursion repeats")
    p.add_argument("--frame", action="append", default=[], metavar="FUNCTION=BYTES", help="a frame the analysis cannot read")
    p.add_argument("--stack-size", type=int, metavar="BYTES", help="the main stack's size: exit 1 when the bound exceeds it")
    p.add_argument("--format", choices=("text", "json"), default="text")


def _args_check_elf(p: argparse.ArgumentParser) -> None:
    p.add_argument("elf", metavar="ELF")
    p.add_argument("--profile", required=True, metavar="PROFILE")
    p.add_argument("--format", choices=("text", "md", "json"), default="text")
    p.add_argument("--output", metavar="FILE", help="also write the report to FILE")
    p.add_argument("--callgraph", nargs="*", metavar="PATH",
                   help="the build's call graph (.ci files, folders, or object files with .ci beside them): "
                        "bound each entry point's stack against the profile's stack section")
    p.add_argument("--map", metavar="FILE", help="the link's map (-Wl,-Map=FILE): attribute every byte of each region by origin")
    p.add_argument("--stack-measured", action="append", default=[], metavar="STACK=BYTES",
                   help="a stack's measured high water (main, or a thread's entry function), shown beside its bound")
    p.add_argument("--picture", metavar="FILE.svg", help="also draw the regions, by origin, with the stacks")


def _args_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the product's folder (new, or empty)")
    p.add_argument("--core", required=True, metavar="CORE", help="cortex-m0, cortex-m3, cortex-m4f or cortex-m7 (their QEMU machines)")
    p.add_argument("--profile", metavar="PROFILE", help="the shipped profile to start from (default: the one made for the core)")
    p.add_argument("--name", metavar="NAME", help="the product's name (default: from the folder's)")
    p.add_argument("--memplan", metavar="DIR", help="the memplan checkout the product builds with (default: this one)")


def _args_fit(p: argparse.ArgumentParser) -> None:
    p.add_argument("dumps", nargs="+", metavar="DUMP", help="logs holding the statistics the firmware printed (runs and devices combine)")
    p.add_argument("--profile", required=True, metavar="PROFILE", help="the profile the runs were built with")
    p.add_argument("--margin", type=int, default=25, metavar="PERCENT", help="headroom above each recorded peak (default 25)")
    p.add_argument("--keep-block-size", action="append", default=[], metavar="POOL",
                   help="keep this pool's block size (code that uses whole blocks, Pool::allocate)")
    p.add_argument("--keep-block-sizes", action="store_true", help="keep every pool's block size; fit counts only")
    p.add_argument("--output", metavar="FILE", help="also write the proposed profile to FILE (nothing is written on an error)")


def _args_diff(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("--fail-over", type=int, metavar="BYTES", help="exit 1 when a region grows by more than BYTES")
    p.add_argument("--format", choices=("text", "md", "json"), default="text")


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return int(args.handler(args))
    except UsageError as exc:
        print(f"{exc.where}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout went away (`| head`): no traceback, and no more output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USAGE
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
