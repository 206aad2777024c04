"""English messages written outside the web layer (services, schemas, core handlers) that pages
show to people. Listed here with the ``N_`` marker so Babel extracts them into the catalog; the
web layer translates them with ``gettext(message)`` at render time."""

from __future__ import annotations


def N_(message: str) -> str:  # the conventional name of gettext's no-op marker
    return message


SERVICE_MESSAGES = (
    # accounts.schemas.password_problem and validators
    N_("Use at least 8 characters."),
    N_("Use at most 256 characters."),
    N_("Add a lower-case letter."),
    N_("Add an upper-case letter."),
    N_("Add a digit."),
    N_("Choose a timezone from the list (for example Europe/Lisbon)."),
    # accounts.service
    N_("The e-mail or password is wrong."),
    N_("An account with this e-mail already exists."),
    N_("The current password is wrong."),
    N_("The password is wrong."),
    N_("This session does not exist or has already ended."),
    N_("This workspace does not exist."),
    # core.errors defaults and core.handlers
    N_("The request could not be handled."),
    N_("Some fields are not valid."),
    N_("Sign in to continue."),
    N_("You are not allowed to do that."),
    N_("The form has expired; reload the page and try again."),
    N_("Not found."),
    N_("Nothing lives at this address."),
    N_("This method is not allowed here."),
    N_("This conflicts with the current state."),
    N_("Too many attempts; wait a moment and try again."),
    N_("The service is not available right now."),
    N_("Something went wrong on our side; it has been logged."),
)
