"""The required fields of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), checked by hand:
a small schema of names and JSON types, and a checker that names the first field that is wrong."""

from __future__ import annotations

from typing import Any

PAIR = {"name": str, "value": str}
SCHEMA: dict[str, Any] = {
    "log": {
        "version": str,
        "creator": {"name": str, "version": str},
        "entries": [{
            "startedDateTime": str,
            "time": (int, float),
            "request": {
                "method": str, "url": str, "httpVersion": str, "cookies": [PAIR], "headers": [PAIR],
                "queryString": [PAIR], "headersSize": int, "bodySize": int,
            },
            "response": {
                "status": int, "statusText": str, "httpVersion": str, "cookies": [PAIR], "headers": [PAIR],
                "content": {"size": int, "mimeType": str}, "redirectURL": str, "headersSize": int, "bodySize": int,
            },
            "cache": {},
            "timings": {"send": (int, float), "wait": (int, float), "receive": (int, float)},
        }],
    },
}


def problems(value: Any, schema: Any = SCHEMA, where: str = "") -> list[str]:
    """Every place where ``value`` lacks a required field or has another JSON type."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where or '(root)'}: expected an object"]
        out = []
        for name, sub in schema.items():
            if name not in value:
                out.append(f"{where}.{name}: missing")
            else:
                out += problems(value[name], sub, f"{where}.{name}")
        return out
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [p for i, item in enumerate(value) for p in problems(item, schema[0], f"{where}[{i}]")]
    if isinstance(value, bool) or not isinstance(value, schema):
        return [f"{where}: expected {schema}, got {type(value).__name__}"]
    return []


def check_post_data(entry: dict[str, Any]) -> list[str]:
    post = entry["request"].get("postData")
    if post is None:
        return []
    return [] if isinstance(post.get("mimeType"), str) and isinstance(post.get("text"), str) else \
        [f"postData {post!r}: needs mimeType and text"]
