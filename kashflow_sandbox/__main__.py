"""Command line: ``python3 -m kashflow_sandbox [--host H] [--port P] [--data FILE] ...``."""

import argparse
import signal
import sys

from . import seed
from .server import SandboxServer


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python3 -m kashflow_sandbox",
                                     description="A local look-alike of KashFlow's SOAP API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8089, help="port to listen on, 0 for any free port "
                                                              "(default: %(default)s)")
    parser.add_argument("--data", default="kashflow_sandbox.sqlite3",
                        help="SQLite file holding the account (default: %(default)s)")
    parser.add_argument("--username", default=seed.DEFAULT_USERNAME,
                        help="API user name (default: %(default)s)")
    parser.add_argument("--password", default=seed.DEFAULT_PASSWORD, help="API password")
    parser.add_argument("--auto-auth-key", default=seed.DEFAULT_AUTO_AUTH_KEY,
                        help="the key AutoAuthIP accepts (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    return parser.parse_args(argv)


def _stop(_signum, _frame):
    sys.exit(0)


def main(argv=None):
    args = _arguments(argv)
    server = SandboxServer((args.host, args.port), args.data, username=args.username, password=args.password,
                           auto_auth_key=args.auto_auth_key, verbose=args.verbose)
    signal.signal(signal.SIGTERM, _stop)
    print(f"KashFlow sandbox listening on {server.base_url}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
