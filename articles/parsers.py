"""
The API's JSON parser: DRF's, made to refuse what a hostile body can do.

Python's json module meets a deeply nested body with a RecursionError, a
number of thousands of digits with a ValueError about Python's limits, NaN
and Infinity with values that are not JSON, a key given twice by keeping the
second value, and a lone surrogate escape ("\\ud800") with a string no
database stores and no response can carry. Here each is a 400 in the API's
error shape that says what is wrong with the body.
"""

import json
import math
from collections import Counter

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
MAX_DIGITS = 100
TOO_DEEP = f"The body nests objects and arrays more than {MAX_DEPTH} levels deep."


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"The body is not valid {encoding}: {error}.") from error
        try:
            data = json.loads(
                text,
                object_pairs_hook=unique_keys,
                parse_int=whole_number,
                parse_float=finite_number,
                parse_constant=no_constant,
            )
        except RecursionError as error:
            raise ParseError(TOO_DEEP) from error
        except json.JSONDecodeError as error:
            raise ParseError(f"The body is not valid JSON: {error}.") from error
        except ValueError as error:
            raise ParseError(str(error)) from error
        if deeper_than(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError as error:
            raise ParseError(
                "The body holds a lone surrogate (an escape from \\ud800 to "
                "\\udfff without its pair), which is not a character."
            ) from error
        return data


def unique_keys(pairs: list[tuple[str, object]]) -> dict:
    data = dict(pairs)
    if len(data) < len(pairs):
        counts = Counter(key for key, _ in pairs)
        repeated = next(key for key, count in counts.items() if count > 1)
        # Quoted as JSON, so that any character in it can be shown.
        raise ValueError(f"The key {json.dumps(repeated[:100])} appears twice.")
    return data


def whole_number(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"A number in the body has more than {MAX_DIGITS} digits.")
    return int(text)


def finite_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"The number {text[:100]} is too large.")
    return number


def no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value.")


def deeper_than(data, levels: int) -> bool:
    """Say whether ``data`` nests objects and arrays more than ``levels`` deep."""
    layer = [data]
    for _ in range(levels):
        layer = [
            child
            for item in layer
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return any(isinstance(item, dict | list) for item in layer)
