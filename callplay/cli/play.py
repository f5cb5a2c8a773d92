"""play and loop: parse the sources and options into a PlayRequest, hand it to the core once."""

from __future__ import annotations

from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, fail, run

SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="What to play, in order: URL, local file, s3://bucket/key, tts:TEXT, ssml:TEXT, ssml:@FILE, "
        "silence:SECONDS.",
        show_default=False,
        metavar="[SOURCE]...",
    ),
]
CallArg = Annotated[
    str,
    typer.Argument(
        help="The call: ACS call connection id, SignalWire call id, Vonage call uuid, or Chime transaction id.",
        metavar="CALL",
    ),
]
TtsOpt = Annotated[str | None, typer.Option("--tts", help="Append one text-to-speech item (quick form of tts:TEXT).")]
SsmlOpt = Annotated[str | None, typer.Option("--ssml", help="Append one SSML item (text, or @FILE).")]
VoiceOpt = Annotated[str | None, typer.Option("--voice", help="TTS voice, e.g. en-US-JennyNeural or Joanna.")]
LanguageOpt = Annotated[str | None, typer.Option("--language", help="TTS language/locale, e.g. en-US.")]
GenderOpt = Annotated[str | None, typer.Option("--gender", help="TTS voice gender: female or male.")]
ToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--to",
        help="Play only to this participant (raw id, e.g. 8:acs:..., 4:+1...; LEG-A/LEG-B on Chime). "
        "Repeatable. Default: everyone.",
    ),
]
VolumeOpt = Annotated[float | None, typer.Option("--volume", help="Playback volume in dB, -40..+40, where supported.")]
DirectionOpt = Annotated[str | None, typer.Option("--direction", help="SignalWire: listen, speak or both.")]
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


def _options(pairs: list[str] | None) -> dict[str, str]:
    from callplay.errors import UsageError

    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option {pair!r} is not KEY=VALUE", "e.g. --option style=2")
        out[key.strip()] = value
    return out


def _run_play(
    command: str,
    call: str,
    sources: list[str] | None,
    *,
    loop: int,
    tts: str | None,
    ssml: str | None,
    voice: str | None,
    language: str | None,
    gender: str | None,
    to: list[str] | None,
    volume: float | None,
    direction: str | None,
    cache_id: str | None,
    interrupt: bool,
    wait: bool,
    timeout: float | None,
    dry_run: bool,
    callback_url: str | None,
    listen: str | None,
    option: list[str] | None,
    profile: str | None,
    output: str,
) -> None:
    def build_and_play() -> object:
        from callplay import core
        from callplay.model import PlayRequest
        from callplay.sources import parse_source

        texts = list(sources or [])
        if tts is not None:
            texts.append(f"tts:{tts}")
        if ssml is not None:
            texts.append(f"ssml:{ssml}")
        items = [parse_source(t, voice=voice, language=language, gender=gender) for t in texts]
        options = _options(option)
        options.update({k: v for k, v in (("voice", voice), ("language", language), ("gender", gender)) if v})
        request = PlayRequest(
            items=items,
            loop=loop,
            targets=list(to or []),
            volume_db=volume,
            cache_id=cache_id,
            interrupt=interrupt,
            callback_url=callback_url,
            direction=direction,
            options=options,
        )
        wait_opts = core.WaitOptions(wait=wait, timeout=timeout, listen=listen)
        return core.play(call, request, profile=profile, dry_run=dry_run, wait=wait_opts)

    run(command, output, build_and_play)


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
    _run_play(
        "play",
        call,
        sources,
        loop=1,
        tts=tts,
        ssml=ssml,
        voice=voice,
        language=language,
        gender=gender,
        to=to,
        volume=volume,
        direction=direction,
        cache_id=cache_id,
        interrupt=interrupt,
        wait=wait,
        timeout=timeout,
        dry_run=dry_run,
        callback_url=callback_url,
        listen=listen,
        option=option,
        profile=profile,
        output=output,
    )


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
    if times < 0:
        from callplay.errors import UsageError

        fail("loop", output, UsageError("--times must be 0 or more", "--times 0 (the default) loops until stopped"))
    _run_play(
        "loop",
        call,
        sources,
        loop=times,
        tts=tts,
        ssml=ssml,
        voice=voice,
        language=language,
        gender=gender,
        to=to,
        volume=volume,
        direction=direction,
        cache_id=cache_id,
        interrupt=interrupt,
        wait=wait,
        timeout=timeout,
        dry_run=dry_run,
        callback_url=callback_url,
        listen=listen,
        option=option,
        profile=profile,
        output=output,
    )


def register(app: typer.Typer) -> None:
    app.command("play")(play)
    app.command("loop")(loop)
