"""moto server with DynamoDB requests served one at a time.

`moto_server` serves with threads and its DynamoDB backend takes no locks, so two concurrent
conditional writes can both pass their checks: a race real DynamoDB never has (it serialises
conditional writes per item). DynamoDB requests therefore run under one lock, while clients
still send concurrently. S3 and SQS stay threaded: a streamed S3 copy (GetObject read while
UploadPart writes) needs two requests in flight at once, as real S3 allows.
It also answers GET /_bedrud/ses/sent: what moto's SES backend recorded as sent (read only;
moto's own /moto-api/data.json fails once S3 holds streamed objects).
Usage: python moto_serial.py HOST PORT
"""

import json
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

DYNAMODB = threading.Lock()


class SerialDynamoDB:
    """WSGI middleware: DynamoDB calls (X-Amz-Target: DynamoDB_…) hold one lock, response
    included (they are small)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_bedrud/ses/sent":
            return sent_mail(start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with DYNAMODB:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def sent_mail(start_response):
    """Every message SES (v1 or v2) recorded as sent, in every account and region."""
    from moto.ses.models import ses_backends

    sent = []
    for account in list(ses_backends.keys()):
        for region in list(ses_backends[account].keys()):
            for m in ses_backends[account][region].sent_messages:
                sent.append(
                    {
                        "source": getattr(m, "source", None),
                        "destinations": getattr(m, "destinations", None),
                        "subject": getattr(m, "subject", None),
                        "body": getattr(m, "body", None),
                    }
                )
    body = json.dumps(sent, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
