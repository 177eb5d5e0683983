from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Newsroom"

    def ready(self):
        from django.db.models.signals import post_migrate

        from articles import revisions, signals  # noqa: F401 (connects the receivers)
        from articles.roles import ensure_roles
        from articles.search import ensure_sqlite_index

        post_migrate.connect(ensure_roles, sender=self)
        post_migrate.connect(ensure_sqlite_index, sender=self)
        revisions.register()
