"""moto server, one request at a time.

`moto_server` serves with threads and its DynamoDB backend takes no locks, so two concurrent
conditional writes can both pass their checks: a race real DynamoDB never has (it serialises
conditional writes per item). Serving requests one at a time restores that guarantee, while
clients still send concurrently. Usage: python moto_serial.py HOST PORT
"""

import os
import signal
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
