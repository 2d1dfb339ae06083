"""CLI commands that live in modules of their own, listed in `pagelens.cli.COMMAND_MODULES`.

Each module imports only the standard library at its top (so `pagelens --help` stays instant) and defines
`register(commands)`, which adds its subparser(s) to the `pagelens` subparsers and sets `handler=` on each.
Shared option helpers (`_add_index_options`, `_add_model_options`, `_open`) live in `pagelens.cli`.
"""
