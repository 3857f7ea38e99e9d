"""Prices and discounts."""

from inventory.items import Item


def discounted(item: Item, percent: float) -> float:
    l = item.price * percent / 100
    return item.price - l


def cheapest(items: list[Item]) -> Item | None:
    if not items:
        return None
    return min(items, key=lambda item: item.price)
