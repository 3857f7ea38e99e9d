"""Items and their stock."""

import sys
import os
from typing import Optional, List
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 0


def find(items: List[Item], name: str) -> Optional[Item]:
    for item in items:
        if item.name == name:
            return item
    return None


def in_stock(item: Optional[Item]) -> bool:
    if item == None:
        return False
    return item.quantity > 0
