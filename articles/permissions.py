from rest_framework import permissions


def is_editor(user, model) -> bool:
    """Say whether ``user`` may edit ``model`` items: staff with the permission."""
    opts = model._meta
    return bool(
        user
        and user.is_authenticated
        and user.is_staff
        and user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
    )


class EditorsWrite(permissions.DjangoModelPermissions):
    """
    Anyone may read; writing takes a staff account with the model permission.

    The same rule as the admin: an anonymous write is 401 (with how to
    authenticate), a signed-in user without the permission gets 403.
    """

    authenticated_users_only = False

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if request.method not in view.allowed_methods:
            return True  # so that the answer is 405, whoever asks
        if not (request.user and request.user.is_authenticated):
            return False
        if not request.user.is_staff:
            return False
        return super().has_permission(request, view)
