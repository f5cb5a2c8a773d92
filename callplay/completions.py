"""Bash, zsh and fish completion scripts, generated from callplay's command tree.

Commands, options and fixed choices are written into the script, so that most Tabs never start Python; the
committed copies in completions/ are checked against this generator by a test, so they cannot go stale.
Values only the user's files know (profile names, recent call IDs, control IDs) come from
`callplay __complete KIND [--profile P] [--call C] -- PREFIX` (callplay.complete, answered before the CLI
is imported), given the profile and the call already on the line. Its output is data, never code: each value
is read as one line and quoted before the shell inserts it.

The caller passes the root click command (`callplay completions` builds it from the Typer app), so this
module never builds the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callplay._entry import COMPLETE
from callplay.cli.globalopts import VALUED
from callplay.output import OUTPUT_MODES, REPORT_FORMATS
from callplay.providers import names_text
from callplay.providers.facts import signalwire

SHELLS = ("bash", "zsh", "fish")
# Choices for option values, from their one home: the registry, the providers' facts and the renderer.
VALUE_CHOICES = {
    "--output": " ".join(OUTPUT_MODES),
    "-o": " ".join(OUTPUT_MODES),
    "--direction": " ".join(signalwire.DIRECTIONS),
    "--gender": " ".join(signalwire.GENDERS),
    "--face": names_text(sep=" "),
    "--allow-unsigned": names_text(sep=" "),
    "--target": names_text(("all",), sep=" "),
    "--format": " ".join(REPORT_FORMATS),
}
PROFILES, CALLS, CONTROLS = "profiles", "calls", "controls"  # the kinds callplay.complete answers


@dataclass
class Node:
    path: str  # "events list"
    subcommands: list[tuple[str, str]]
    options: list[tuple[str, str]]  # (flag, help)
    valued: list[str] = field(default_factory=list)  # every flag, short ones too, that takes a value
    dynamic: dict[str, str] = field(default_factory=dict)  # flag -> kind of its value (callplay.complete)
    args: list[str] = field(default_factory=list)  # kind of each positional argument's value, "-" for none
    shorts: dict[str, str] = field(default_factory=dict)  # long flag -> its short form


def script(shell: str, root: Any) -> str:
    """The completion script for `shell` (one of SHELLS) covering `root`, a click command or group."""
    nodes = walk(root)
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](nodes)


def walk(cmd: Any, path: str = "") -> list[Node]:
    """The command and every visible subcommand below it, depth first, subcommands in name order."""
    node = _node(cmd, path)
    nodes: list[Node] = []
    if isinstance(getattr(cmd, "commands", None), dict):
        for name in sorted(cmd.commands):
            sub = cmd.commands[name]
            if sub.hidden:
                continue
            node.subcommands.append((name, (sub.get_short_help_str(60) or "").rstrip(".")))
            nodes += walk(sub, f"{path} {name}".strip())
    return [node, *nodes]


def _node(cmd: Any, path: str) -> Node:
    node = Node(path, [], [])
    # Typer vendors its own click: recognise options and arguments by shape, not by class.
    for p in cmd.params:
        kind = getattr(p, "param_type_name", "")
        if kind == "argument":
            node.args.append(_argument_kind(path, p.name) or "-")
            continue
        if kind != "option":
            continue
        longs = [o for o in p.opts if o.startswith("--")]
        shorts = [o for o in p.opts if not o.startswith("--")]
        node.options += [(name, (p.help or "").split(".")[0]) for name in longs]
        if longs and shorts:
            node.shorts[longs[0]] = shorts[0]
        if not p.is_flag and not p.count:
            node.valued += p.opts
            value_kind = _option_kind(path, p.name)
            node.dynamic.update(dict.fromkeys(p.opts, value_kind) if value_kind else {})
    node.options.append(("--help", "Show help"))
    if not path:  # the options callplay.cli.globalopts takes before the command word: `callplay -p prod stop c1`
        node.valued += list(VALUED)
        node.dynamic.update({flag: PROFILES for flag, long in VALUED.items() if long == "--profile"})
        node.shorts.update({long: flag for flag, long in VALUED.items() if not flag.startswith("--")})
    return node


def _option_kind(path: str, name: str) -> str | None:
    if name == "profile":
        return PROFILES
    if name == "control_id":
        return CONTROLS
    if name == "call" and not path.startswith("emulator"):  # the emulator's --call makes up a new call
        return CALLS
    return None


def _argument_kind(path: str, name: str) -> str | None:
    if name == "call":
        return CALLS
    if name == "name" and path.startswith("profiles "):  # profiles show NAME, profiles check NAME
        return PROFILES
    return None


def _static_choices(nodes: list[Node]) -> dict[str, str]:
    """VALUE_CHOICES for every spelling of each option (`-t` as `--target`)."""
    choices = dict(VALUE_CHOICES)
    for node in nodes:
        for long, short in node.shorts.items():
            if long in VALUE_CHOICES:
                choices[short] = VALUE_CHOICES[long]
    return choices


def _q(text: str) -> str:
    return text.replace("'", "").replace('"', "").replace("`", "").replace("$", "")


# ------------------------------------------------------------------------------------------------ bash


def _cases(nodes: list[Node], value: Any) -> str:
    return "\n".join(f'        "{n.path}") __callplay_r="{value(n)}" ;;' for n in nodes)


def _dynamic_cases(nodes: list[Node]) -> str:
    """One case branch per kind: `"stop|-p"|"stop|--profile"|...) __callplay_r=profiles ;;`."""
    by_kind: dict[str, list[str]] = {}
    for node in nodes:
        for flag, kind in node.dynamic.items():
            by_kind.setdefault(kind, []).append(f'"{node.path}|{flag}"')
    return "\n".join(f"        {'|'.join(pats)}) __callplay_r={kind} ;;" for kind, pats in by_kind.items())


def bash(nodes: list[Node]) -> str:
    # The helpers answer in $__callplay_r, not on stdout: $(...) would fork a subshell for every word.
    static = "\n".join(f'        {flag}) __callplay_r="{vals}" ;;' for flag, vals in _static_choices(nodes).items())
    return f"""# bash completion for callplay (generated by `callplay completions bash`; do not edit)
__callplay_subs() {{
    __callplay_r=""
    case "$1" in
{_cases(nodes, lambda n: " ".join(s for s, _ in n.subcommands))}
    esac
}}
__callplay_opts() {{
    __callplay_r=""
    case "$1" in
{_cases(nodes, lambda n: " ".join(o for o, _ in n.options))}
    esac
}}
# The options of a command that take a value (the word after one is its value, not an argument).
__callplay_valued() {{
    __callplay_r=""
    case "$1" in
{_cases(nodes, lambda n: " ".join(n.valued))}
    esac
}}
# What `callplay {COMPLETE}` lists for each argument of a command ("-": nothing).
__callplay_args() {{
    __callplay_r=""
    case "$1" in
{_cases(nodes, lambda n: " ".join(n.args))}
    esac
}}
# What `callplay {COMPLETE}` lists for the value of option $2 of command $1.
__callplay_dynamic() {{
    __callplay_r=""
    case "$1|$2" in
{_dynamic_cases(nodes)}
    esac
}}
__callplay_static() {{
    __callplay_r=""
    case "$1" in
{static}
    esac
}}
# A word as the shell will pass it: without the quotes and backslashes it was typed with.
__callplay_unquote() {{
    __callplay_r="${{1#[\\"\\']}}"
    __callplay_r="${{__callplay_r%[\\"\\']}}"
    __callplay_r="${{__callplay_r//\\\\/}}"
}}
# COMPREPLY from `callplay {COMPLETE} $1 ...`: one value a line, each quoted, never evaluated. After a
# quote the user opened ($cur), bash inserts a value inside it and closes it: quoted for inside that quote.
__callplay_values() {{
    local line quoted c k q="${{cur:0:1}}"
    [[ -n "${{ZSH_VERSION-}}" ]] && q=""  # zsh unquotes the values and quotes them for the line itself
    COMPREPLY=()
    while IFS= read -r line; do
        if [[ "$q" == "'" || "$q" == '"' ]]; then
            quoted=""
            for ((k = 0; k < ${{#line}}; k++)); do
                c="${{line:k:1}}"
                if [[ "$q" == "'" && "$c" == "'" ]]; then
                    c="'\\\\''"
                elif [[ "$q" == '"' && "$c" == [\\\\\\$\\`\\"] ]]; then
                    c="\\\\$c"
                fi
                quoted+="$c"
            done
        else
            printf -v quoted '%q' "$line"
        fi
        COMPREPLY+=("$quoted")
    done < <(command callplay {COMPLETE} "$@" 2>/dev/null)
    compopt -o nosort 2>/dev/null  # newest first, as callplay gives them (bash 4.4+)
    return 0
}}
_callplay() {{
    # zsh (bashcompinit): arrays from 0 and words split as in bash
    [[ -n "${{ZSH_VERSION-}}" ]] && setopt localoptions ksharrays shwordsplit
    # `cmd`, not `path`: zsh's $path is its PATH
    local cur prev cmd="" w i n=0 valued value kind profile="" call="" more=1 __callplay_r
    local cword=$COMP_CWORD
    local -a ws args  # not `words`: zsh's completion system has its own
    ws=("${{COMP_WORDS[@]}}")
    cur="${{ws[cword]}}"
    prev="${{ws[cword-1]}}"
    # bash splits --opt=VALUE at "=": complete VALUE as after `--opt VALUE`
    if [[ "$cur" == "=" ]]; then
        cur=""
    elif [[ "$prev" == "=" ]]; then
        prev="${{ws[cword-2]}}"
    fi
    for ((i = 1; i < cword; i++)); do
        w="${{ws[i]}}"
        if [[ "$more" == 1 && "$w" == "--" ]]; then
            more=0
        elif [[ "$more" == 1 && "$w" == -* ]]; then
            __callplay_valued "$cmd"
            valued=" $__callplay_r "
            value=""
            if [[ "$w" == --*=* ]]; then
                value="${{w#*=}}" && w="${{w%%=*}}"  # zsh keeps --opt=VALUE one word
            elif [[ "$valued" == *" $w "* ]]; then
                [[ "${{ws[i+1]}}" == "=" ]] && ((i++))
                ((i++))
                ((i < cword)) && value="${{ws[i]}}"
            elif [[ "$w" != --* && "$valued" == *" ${{w:0:2}} "* ]]; then
                value="${{w:2}}" && w="${{w:0:2}}"  # -pNAME
            fi
            __callplay_dynamic "$cmd" "$w"
            kind="$__callplay_r"
            __callplay_unquote "$value"
            [[ "$kind" == profiles && -n "$value" ]] && profile="$__callplay_r"
            [[ "$kind" == calls && -n "$value" ]] && call="$__callplay_r"
        else
            __callplay_subs "$cmd"
            if [[ "$n" == 0 && " $__callplay_r " == *" $w "* ]]; then
                cmd="${{cmd:+$cmd }}$w"
            else
                __callplay_args "$cmd"
                args=($__callplay_r)
                __callplay_unquote "$w"
                [[ "${{args[n]}}" == calls ]] && call="$__callplay_r"
                ((n++))
            fi
        fi
    done
    __callplay_unquote "$cur"
    local prefix="$__callplay_r"
    # The value of an option: choices written here, or from callplay, or (no choices) files
    __callplay_valued "$cmd"
    if [[ "$more" == 1 && " $__callplay_r " == *" $prev "* ]]; then
        __callplay_dynamic "$cmd" "$prev"
        if [[ -n "$__callplay_r" ]]; then
            __callplay_values "$__callplay_r" --profile "$profile" --call "$call" -- "$prefix"
        else
            __callplay_static "$prev"
            COMPREPLY=($(compgen -W "$__callplay_r" -- "$cur"))
        fi
        return 0
    fi
    if [[ "$more" == 1 && "$cur" == -* ]]; then
        __callplay_opts "$cmd"
        COMPREPLY=($(compgen -W "$__callplay_r" -- "$cur"))
        return 0
    fi
    __callplay_subs "$cmd"
    if [[ -n "$__callplay_r" ]]; then
        COMPREPLY=($(compgen -W "$__callplay_r" -- "$cur"))
        return 0
    fi
    __callplay_args "$cmd"
    args=($__callplay_r)
    kind="${{args[n]}}"
    if [[ -n "$kind" && "$kind" != - ]]; then
        __callplay_values "$kind" --profile "$profile" --call "$call" -- "$prefix"
    else
        COMPREPLY=()
    fi
    return 0
}}
complete -o default -F _callplay callplay
"""


def zsh(nodes: list[Node]) -> str:
    # zsh runs the bash script through bashcompinit: only the header and the end differ.
    return (
        "#compdef callplay\n# zsh completion for callplay (generated by `callplay completions zsh`; do not edit)\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(nodes).split("\n", 1)[1] + ZSH_AUTOLOADED
    )


ZSH_AUTOLOADED = """# Autoloaded from $fpath (#compdef), this file runs on the first Tab: complete that Tab too.
if [[ "${funcstack[1]-}" == _callplay ]]; then
    _bash_complete -o default -F _callplay
fi
"""


# ------------------------------------------------------------------------------------------------ fish


def fish(nodes: list[Node]) -> str:
    lines = [
        "# fish completion for callplay (generated by `callplay completions fish`; do not edit)",
        "complete -c callplay -f",
        *_fish_functions(nodes),
    ]
    groups = {n.path for n in nodes if n.subcommands}
    choices = _static_choices(nodes)
    for node in nodes:
        words = node.path.split()
        seen = "; and ".join(f"__fish_seen_subcommand_from {w}" for w in words) or "__callplay_at_root"
        if node.subcommands:
            names = " ".join(s for s, _ in node.subcommands)
            cond = seen if not words else f"{seen}; and not __fish_seen_subcommand_from {names}"
            lines += [f"complete -c callplay -n '{cond}' -a {s} -d '{_q(h)}'" for s, h in node.subcommands]
        if words and node.path in groups:
            continue
        for flag, help_text in node.options if words else _global_options(node):
            short = node.shorts.get(flag)
            spelled = f"-l {flag[2:]}" + (f" -s {short[1:]}" if short else "")
            lines.append(
                f"complete -c callplay -n '{seen}' {spelled} -d '{_q(help_text)}'{_fish_value(node, flag, choices)}"
            )
        for kind in dict.fromkeys(a for a in node.args if a != "-"):
            lines.append(
                f"complete -c callplay -n '{seen}; and __callplay_wants_arg {kind}' -k -a '(__callplay_values {kind})'"
            )
    return "\n".join(lines) + "\n"


def _global_options(root: Node) -> list[tuple[str, str]]:
    """The root's options for fish, with the global ones (fish's __fish_seen_subcommand_from conditions of the
    commands do not see them)."""
    return [*root.options, *((long, f"Global option: as {long} after the command") for long in root.shorts)]


def _fish_value(node: Node, flag: str, choices: dict[str, str]) -> str:
    if flag in node.dynamic:
        return f" -x -k -a '(__callplay_values {node.dynamic[flag]})'"
    if flag in choices:
        return f" -x -a '{choices[flag]}'"
    return " -r" if flag in node.valued else ""


def _fish_functions(nodes: list[Node]) -> list[str]:
    """__callplay_scan reads the line as the bash script does: the command path, the profile and call given,
    and how many arguments; __callplay_values asks callplay for values given those."""

    def switch(name: str, value: Any) -> list[str]:
        cases = [f"        case '{n.path}'\n            echo {value(n)}" for n in nodes if value(n)]
        return [f"function {name}", '    switch "$argv[1]"', *cases, "    end", "end"]

    kinds: dict[str, list[str]] = {}
    for node in nodes:
        for flag, kind in node.dynamic.items():
            kinds.setdefault(kind, []).append(f"'{node.path}|{flag}'")
    dynamic = [f"        case {' '.join(pats)}\n            echo {kind}" for kind, pats in kinds.items()]
    return [
        *switch("__callplay_subs", lambda n: " ".join(s for s, _ in n.subcommands)),
        *switch("__callplay_valued", lambda n: " ".join(n.valued)),
        *switch("__callplay_args", lambda n: " ".join(n.args)),
        "function __callplay_dynamic",
        '    switch "$argv[1]|$argv[2]"',
        *dynamic,
        "    end",
        "end",
        FISH_SCAN,
    ]


FISH_SCAN = f"""# Sets __callplay_path, _profile, _call, and _n (how many arguments are before the cursor).
function __callplay_scan
    set -g __callplay_path ''
    set -g __callplay_profile ''
    set -g __callplay_call ''
    set -g __callplay_n 0
    set -l words (commandline -opc)
    set -l more 1
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        if test $more = 1; and test "$w" = --
            set more 0
        else if test $more = 1; and string match -q -- '-*' $w
            set -l value ''
            set -l flag (string split -m 1 = -- $w)[1]
            set -l valued (string split ' ' -- (__callplay_valued $__callplay_path))
            if string match -q -- '--*=*' $w
                set value (string split -m 1 = -- $w)[2]
            else if contains -- $w $valued
                set i (math $i + 1)
                test $i -le (count $words); and set value $words[$i]
            else if not string match -q -- '--*' $w; and contains -- (string sub -l 2 -- $w) $valued
                set flag (string sub -l 2 -- $w)
                set value (string sub -s 3 -- $w)
            end
            switch (__callplay_dynamic $__callplay_path $flag)
                case profiles
                    set __callplay_profile $value
                case calls
                    set __callplay_call $value
            end
        else if test $__callplay_n = 0; and contains -- $w (string split ' ' -- (__callplay_subs $__callplay_path))
            set __callplay_path (string trim -- "$__callplay_path $w")
        else
            set -l args (string split ' ' -- (__callplay_args $__callplay_path))
            set -l at (math $__callplay_n + 1)
            test "$args[$at]" = calls; and set __callplay_call $w
            set __callplay_n $at
        end
        set i (math $i + 1)
    end
end
# Whether no command word is on the line yet (__fish_use_subcommand takes the NAME of `-p NAME` for one).
function __callplay_at_root
    __callplay_scan
    test -z "$__callplay_path" -a "$__callplay_n" = 0
end
# Whether the word at the cursor is an argument whose values are of kind $argv[1].
function __callplay_wants_arg
    string match -q -- '-*' (commandline -ct); and return 1
    __callplay_scan
    set -l args (string split ' ' -- (__callplay_args $__callplay_path))
    set -l at (math $__callplay_n + 1)
    test "$args[$at]" = "$argv[1]"
end
function __callplay_values
    __callplay_scan
    set -l prefix (commandline -ct | string replace -r -- '^--?[^=]*=' '' | string trim -c '\\'"')
    callplay {COMPLETE} $argv[1] --profile "$__callplay_profile" --call "$__callplay_call" -- "$prefix" 2>/dev/null
end"""
