class UnicodeSlugConverter:
    """Like Django's ``slug`` converter, but letters of any script match."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
