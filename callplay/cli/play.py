"""play and loop: their options, parsed into one PlayOptions that callplay.play_items turns into a PlayRequest.

No `from __future__ import annotations` in the command modules: Typer reads each command's annotations every
time it builds the command (each in-process `main()` call), and string annotations cost a compile() apiece.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from callplay.cli.options import (
    CallsFromOpt,
    CallsOpt,
    ConcurrencyOpt,
    OutputOpt,
    ProfileOpt,
    RateOpt,
    output_mode,
    run,
)
from callplay.core.fanout_limits import DEFAULT_CONCURRENCY
from callplay.providers import all_facts
from callplay.providers.facts import VOLUME_RANGE_TEXT, signalwire

if TYPE_CHECKING:
    from callplay.live import LiveWait
    from callplay.model import FanoutResult, Playback
    from callplay.play_items import PlayOptions
    from callplay.values import CallList

SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="What to play, in order: URL, local file, s3://bucket/key, tts:TEXT, tts:@FILE, ssml:TEXT, "
        "ssml:@FILE, silence:SECONDS.",
        show_default=False,
        metavar="[SOURCE]...",
    ),
]
CallArg = Annotated[
    str | None,
    typer.Argument(
        help="The call: " + ", ".join(f"{f.short_name} {f.call_id_name}" for f in all_facts()) + ". "
        "More calls: --call, --calls-from. With either of them, a first word that names a source (tts:, ssml:, "
        "silence:, a URL, an existing file, an audio file name) is the first SOURCE, not a call.",
        metavar="[CALL]",
        show_default=False,
    ),
]
TtsOpt = Annotated[
    str | None,
    typer.Option("--tts", help="Append one text-to-speech item: TEXT, @FILE, or - for stdin (@@TEXT for a leading @)."),
]
SsmlOpt = Annotated[
    str | None,
    typer.Option("--ssml", help="Append one SSML item: TEXT, @FILE, or - for stdin (@@TEXT for a leading @)."),
]
VoiceOpt = Annotated[str | None, typer.Option("--voice", help="TTS voice, e.g. en-US-JennyNeural or Joanna.")]
LanguageOpt = Annotated[str | None, typer.Option("--language", help="TTS language/locale, e.g. en-US.")]
GenderOpt = Annotated[
    str | None, typer.Option("--gender", help=f"TTS voice gender: {' or '.join(signalwire.GENDERS)}.")
]
ToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--to",
        help="Play only to this participant (raw id, e.g. 8:acs:..., 4:+1...; LEG-A/LEG-B on Chime). "
        "Repeatable. Default: everyone.",
    ),
]
VolumeOpt = Annotated[
    float | None, typer.Option("--volume", help=f"Playback volume in dB, {VOLUME_RANGE_TEXT}, where supported.")
]
DirectionOpt = Annotated[
    str | None,
    typer.Option(
        "--direction", help=f"SignalWire: {', '.join(signalwire.DIRECTIONS[:-1])} or {signalwire.DIRECTIONS[-1]}."
    ),
]
CacheOpt = Annotated[str | None, typer.Option("--cache-id", help="ACS playSourceCacheId for the sources.")]
InterruptOpt = Annotated[
    bool, typer.Option("--interrupt", "--barge-in", help="Interrupt (barge in on) media already playing.")
]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Block until the playback ends; exit non-zero if it fails.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the exact provider request; send nothing.")]
CallbackOpt = Annotated[
    str | None,
    typer.Option(
        "--callback-url", help="URL the provider posts this playback's events to (public HTTPS for real ACS)."
    ),
]
ListenOpt = Annotated[
    str | None, typer.Option("--listen", help="HOST:PORT for the --wait receiver (behind a tunnel). Default: local.")
]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option("--option", help="Provider extra KEY=VALUE (e.g. style=2, premium=true, engine=neural). Repeatable."),
]


def _play(command: str, params: dict[str, Any], *, loop: int) -> None:
    """play and loop: their parameters as one PlayOptions, one call to the core: the single-call path for one
    call (however given), the fan-out (callplay.core.fanout) for more."""
    from callplay.live import LiveWait

    params = dict(params)
    output = params.pop("output")
    params.pop("times", None)  # loop's --times arrives as `loop`
    calls, calls_from = params.pop("calls") or [], params.pop("calls_from")
    concurrency, rate = params.pop("concurrency"), params.pop("rate")
    live = LiveWait(command, output_mode(output))

    def work() -> "Playback | FanoutResult":
        from callplay.core.fanout_limits import check_knobs
        from callplay.play_items import PlayOptions
        from callplay.values import call_list

        check_knobs(concurrency, rate)
        call, sources = _positionals(params.pop("call"), params.pop("sources"), bool(calls) or calls_from is not None)
        _check_stdin(params, sources, calls_from)
        listed = call_list(call, calls, calls_from)
        options = PlayOptions(call=listed.ids[0], sources=sources, loop=loop, **params)
        if len(listed.ids) == 1:
            pb = _play_one(options, live)
            pb.warnings = [*listed.warnings, *pb.warnings]
            return pb
        return _play_many(command, options, listed, concurrency, rate, live)

    run(command, output, work, table_view=live.table_view)


def _play_one(options: "PlayOptions", live: "LiveWait") -> "Playback":
    from callplay.core.play import play as play_request
    from callplay.play_items import build_request

    request, wait = build_request(options)
    # --wait shows its progress as it happens (callplay.live); the live view is closed before the result.
    with live.watching(enabled=wait.wait and not options.dry_run) as watcher:
        return play_request(
            options.call, request, profile=options.profile, dry_run=options.dry_run, wait=wait, watcher=watcher
        )


def _play_many(
    command: str, options: "PlayOptions", listed: "CallList", concurrency: int, rate: float | None, live: "LiveWait"
) -> "FanoutResult":
    from callplay.core.fanout import play_many
    from callplay.live import FanoutView
    from callplay.play_items import build_request

    request, wait = build_request(options)
    with FanoutView(command, live.mode, len(listed.ids)).watching() as watcher:
        result = play_many(
            listed.ids,
            request,
            profile=options.profile,
            concurrency=concurrency,
            rate=rate,
            on_result=watcher.result if watcher is not None else None,
            dry_run=options.dry_run,
            wait=wait,
            watcher=watcher,
        )
    result.warnings[:0] = listed.warnings
    return result


def _positionals(call: str | None, sources: list[str] | None, other_calls: bool) -> tuple[str | None, list[str]]:
    """(CALL, SOURCEs): with --call or --calls-from, a first word that names a source is the first SOURCE."""
    from callplay.play_items import names_source

    if other_calls and call is not None and names_source(call):
        return None, [call, *(sources or [])]
    return call, list(sources or [])


def _check_stdin(params: dict[str, Any], sources: list[str], calls_from: str | None) -> None:
    """--calls-from - and a text from standard input (--tts -, --ssml -, tts:-, ssml:-) cannot share it."""
    from callplay.errors import UsageError
    from callplay.values import STDIN

    if calls_from != STDIN:
        return
    texts = [params.get("tts"), params.get("ssml"), *(s.partition(":")[2] for s in sources if ":" in s)]
    if STDIN in texts:
        raise UsageError(
            "standard input can be read only once: --calls-from - and a text from - both read it",
            "give the calls in a file (--calls-from FILE), or the text with --tts @FILE",
        )


def play(
    call: CallArg = None,
    sources: SourcesArg = None,
    tts: TtsOpt = None,
    ssml: SsmlOpt = None,
    voice: VoiceOpt = None,
    language: LanguageOpt = None,
    gender: GenderOpt = None,
    to: ToOpt = None,
    volume: VolumeOpt = None,
    direction: DirectionOpt = None,
    cache_id: CacheOpt = None,
    interrupt: InterruptOpt = False,
    wait: WaitOpt = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits for the end.")] = 300.0,
    dry_run: DryRunOpt = False,
    callback_url: CallbackOpt = None,
    listen: ListenOpt = None,
    option: OptionOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Play audio, text-to-speech, SSML or silence into a call, to everyone or to chosen participants."""
    _play("play", locals(), loop=1)  # locals(), first thing: exactly the parsed parameters, by name


def loop(
    call: CallArg = None,
    sources: SourcesArg = None,
    times: Annotated[
        int, typer.Option("--times", help="Plays in total, where the provider counts; 0 = until stopped.")
    ] = 0,
    tts: TtsOpt = None,
    ssml: SsmlOpt = None,
    voice: VoiceOpt = None,
    language: LanguageOpt = None,
    gender: GenderOpt = None,
    to: ToOpt = None,
    volume: VolumeOpt = None,
    direction: DirectionOpt = None,
    cache_id: CacheOpt = None,
    interrupt: InterruptOpt = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Block until it ends; Ctrl-C or SIGTERM stops it on the call first.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds --wait waits (default: no limit).")
    ] = None,
    dry_run: DryRunOpt = False,
    callback_url: CallbackOpt = None,
    listen: ListenOpt = None,
    option: OptionOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Play the sources repeatedly: until stopped, or --times N where the provider counts."""
    _play("loop", locals(), loop=times)


def register(app: typer.Typer) -> None:
    app.command("play")(play)
    app.command("loop")(loop)
