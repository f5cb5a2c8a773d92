"""play and loop: their options, parsed into one PlayOptions that callplay.play_items turns into a PlayRequest.

No `from __future__ import annotations` in the command modules: Typer reads each command's annotations every
time it builds the command (each in-process `main()` call), and string annotations cost a compile() apiece.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, output_mode, run
from callplay.providers import all_facts
from callplay.providers.facts import VOLUME_RANGE_TEXT, signalwire

if TYPE_CHECKING:
    from callplay.model import Playback

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
    str,
    typer.Argument(
        help="The call: " + ", ".join(f"{f.short_name} {f.call_id_name}" for f in all_facts()) + ".",
        metavar="CALL",
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
    """play and loop: their parameters as one PlayOptions, one call to the core."""
    from callplay.live import LiveWait
    from callplay.play_items import PlayOptions

    params = dict(params)
    output = params.pop("output")
    params.pop("times", None)  # loop's --times arrives as `loop`
    options = PlayOptions(loop=loop, **params)
    live = LiveWait(command, output_mode(output))

    def work() -> "Playback":
        from callplay.core.play import play as play_request
        from callplay.play_items import build_request

        request, wait = build_request(options)
        # --wait shows its progress as it happens (callplay.live); the live view is closed before the result.
        with live.watching(enabled=wait.wait and not options.dry_run) as watcher:
            return play_request(
                options.call, request, profile=options.profile, dry_run=options.dry_run, wait=wait, watcher=watcher
            )

    run(command, output, work, table_view=live.table_view)


def play(
    call: CallArg,
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
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Play audio, text-to-speech, SSML or silence into a call, to everyone or to chosen participants."""
    _play("play", locals(), loop=1)  # locals(), first thing: exactly the parsed parameters, by name


def loop(
    call: CallArg,
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
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Play the sources repeatedly: until stopped, or --times N where the provider counts."""
    _play("loop", locals(), loop=times)


def register(app: typer.Typer) -> None:
    app.command("play")(play)
    app.command("loop")(loop)
