"""Sending a page's e-mail after its answer has gone out: delivery never delays or
shapes what the visitor sees (and so never tells whether an address is registered)."""

from __future__ import annotations

from email.message import EmailMessage

from starlette.background import BackgroundTask, BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response

from authserver.mail import send_quietly


def deliver_after(request: Request, response: Response, *messages: EmailMessage | None) -> Response:
    """Attach the messages (None ones skipped) to ``response`` as background sends."""
    mailer = request.state.services.mailer
    tasks = [BackgroundTask(send_quietly, mailer, m) for m in messages if m is not None]
    if len(tasks) == 1:
        response.background = tasks[0]
    elif tasks:
        response.background = BackgroundTasks(tasks)
    return response
