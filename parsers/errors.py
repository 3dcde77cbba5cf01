"""The one root exception and its three branches.

SenderError: the sender's fault (a workbook we cannot read, a form missing); its message is Chinese and
goes into the receipt. ServiceError: ours (a server down, a disk full); retried and logged.
ConfigError: the configuration is wrong; reported once, naming the key. InputError: what a person typed
names nothing (an unknown unit); a usage error on the command line. Anything else is a bug.
"""


class MailroomError(Exception):
    """Root of every error the product raises on purpose."""


class SenderError(MailroomError):
    """Something the sender must fix; the message is Chinese and says what."""


class ServiceError(MailroomError):
    """A server or the disk failed us; the operation can be retried."""


class ConfigError(MailroomError):
    """The configuration is wrong; the message names the key."""


class InputError(MailroomError):
    """What a person asked for names nothing known (a unit that is not configured); says what there is."""
