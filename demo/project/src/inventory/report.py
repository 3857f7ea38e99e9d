"""Printing an inventory report."""

import json
from inventory.items import Item
import collections


def header() -> str:
    return f"Inventory report"


def total_value(items: list[Item]) -> float:
    return sum(item.price * item.quantity for item in items)


def describe(items: list[Item]) -> str:
    lines = [header()]
    for item in items:
        lines.append(f"{item.name}: {item.quantity}")
    lines.append(f"total: {total_value(items)}")
    return "\n".join(lines)


def count_label(items: list[Item]) -> int:
    return "%d items" % len(items)
