"""Email backends for tests, importable by worker subprocesses through EMAIL_BACKEND."""

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

MARK_HEADER = "X-Sent-By"


class MarkingBackend(SmtpBackend):
    """A project's own SMTP backend (as a signing or archiving one would be): every message
    it sends carries a mark, and the messages it was given are recorded."""

    given: list = []

    def send_messages(self, email_messages):
        for message in email_messages:
            message.extra_headers[MARK_HEADER] = type(self).__name__
            self.given.append(message)
        return super().send_messages(email_messages)


class BrokenBackend(SmtpBackend):
    """An SMTP backend with a bug in it."""

    def send_messages(self, email_messages):
        return sum(1 for message in email_messages if message.recipient_list)  # AttributeError
