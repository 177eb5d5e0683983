"""How a successful sign-in clears the failures django-axes counted."""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt


class AccountResetHandler(AxesDatabaseHandler):
    """
    django-axes' database handler, except that signing in forgets only the
    failures of the account that signed in. The stock handler also forgets
    every failure from the address, whatever account they were aimed at, so
    signing in to one's own account between guesses would reset the count on
    another's.
    """

    def reset_user_attempts(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        if username is None:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
