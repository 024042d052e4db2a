"""The commands behind ``reconciler.cli``: each takes the parsed arguments and an output stream and returns
an exit status. The parser, the dispatch and the error handling stay in ``reconciler.cli``."""
