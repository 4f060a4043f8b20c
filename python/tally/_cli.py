"""Command-line conventions shared by scripts/reference and scripts/analyze: a usage
error is one line on stderr and exit 2, like tally's own (`--help` shows the usage)."""
import argparse
import sys


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)
